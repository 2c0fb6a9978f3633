//! Explainability off the hot path: `Scheduled` / `FailedScheduling` /
//! `Preempted` Events, the pod's `PodScheduled` condition and
//! `nominatedNodeName`, and the deletion of preemption victims, written by a
//! background task.
//!
//! The scheduling loop hands reports to a bounded channel and never waits:
//! when the channel is full the report is dropped and counted (upstream's
//! event broadcaster drops under pressure too). Repeated identical events
//! for one pod are aggregated as upstream's EventCorrelator does: the first
//! is created, later ones bump `count` and `lastTimestamp` on it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::Client;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams, Preconditions};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Writes in flight at once.
const CONCURRENT_WRITES: usize = 8;
/// Aggregation entries kept before the cache is cleared.
const AGGREGATION_CACHE: usize = 4096;

/// The pod a report is about.
#[derive(Debug, Clone)]
pub(crate) struct PodRef {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
}

impl PodRef {
    pub fn of(pod: &Pod) -> Self {
        Self {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone(),
        }
    }
}

/// Something to tell the API about a scheduling attempt.
#[derive(Debug, Clone)]
pub(crate) enum Report {
    /// The pod was bound.
    Scheduled {
        pod: PodRef,
        node: String,
        component: String,
    },
    /// The attempt failed. `condition` is false when the pod already
    /// carries this PodScheduled=False condition.
    Failed {
        pod: PodRef,
        reason: &'static str,
        message: String,
        component: String,
        condition: bool,
        nominated_node_name: Option<String>,
    },
    /// Preemption chose this pod as a victim: delete it (with its grace
    /// period) and say why.
    Preempted {
        victim: PodRef,
        preemptor_uid: String,
        node: String,
        component: String,
    },
}

/// The sending side, used by the scheduling loop.
#[derive(Clone)]
pub(crate) struct Recorder {
    tx: mpsc::Sender<Report>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Queues a report; drops it when the writer is behind.
    pub fn record(&self, report: Report) {
        if self.tx.try_send(report).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::debug!(dropped, "event recorder is behind; reports dropped");
            }
        }
    }
}

/// Starts the writer task with a channel of `capacity` reports.
pub(crate) fn start(
    client: Client,
    identity: String,
    capacity: usize,
) -> (Recorder, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let recorder = Recorder {
        tx,
        dropped: Arc::new(AtomicU64::new(0)),
    };
    let writer = Writer {
        client,
        identity,
        seen: HashMap::new(),
    };
    (recorder, tokio::spawn(writer.run(rx)))
}

/// One API write derived from a report.
enum Write {
    CreateEvent(Box<Event>),
    BumpEvent {
        namespace: String,
        name: String,
        count: i32,
    },
    PatchStatus {
        pod: PodRef,
        patch: serde_json::Value,
    },
    DeletePod(PodRef),
}

/// Aggregation key: (namespace, pod, reason, message).
type EventKey = (String, String, &'static str, String);

struct Writer {
    client: Client,
    identity: String,
    seen: HashMap<EventKey, (String, i32)>,
}

impl Writer {
    async fn run(mut self, rx: mpsc::Receiver<Report>) {
        let client = self.client.clone();
        let reports =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) });
        reports
            .flat_map(|report| futures::stream::iter(self.writes(report)))
            .for_each_concurrent(CONCURRENT_WRITES, |write| perform(client.clone(), write))
            .await;
    }

    fn writes(&mut self, report: Report) -> Vec<Write> {
        match report {
            Report::Scheduled {
                pod,
                node,
                component,
            } => {
                let message = format!(
                    "Successfully assigned {}/{} to {node}",
                    pod.namespace, pod.name
                );
                vec![self.event(&pod, "Normal", "Scheduled", message, component)]
            }
            Report::Failed {
                pod,
                reason,
                message,
                component,
                condition,
                nominated_node_name,
            } => {
                let mut writes = vec![self.event(
                    &pod,
                    "Warning",
                    "FailedScheduling",
                    message.clone(),
                    component,
                )];
                if condition || nominated_node_name.is_some() {
                    writes.push(Write::PatchStatus {
                        patch: status_patch(reason, &message, condition, nominated_node_name),
                        pod,
                    });
                }
                writes
            }
            Report::Preempted {
                victim,
                preemptor_uid,
                node,
                component,
            } => {
                let message = format!("Preempted by pod {preemptor_uid} on node {node}");
                let event = self.event(&victim, "Normal", "Preempted", message, component);
                vec![Write::DeletePod(victim), event]
            }
        }
    }

    fn event(
        &mut self,
        pod: &PodRef,
        kind: &str,
        reason: &'static str,
        message: String,
        component: String,
    ) -> Write {
        let key = (
            pod.namespace.clone(),
            pod.name.clone(),
            reason,
            message.clone(),
        );
        if let Some((name, count)) = self.seen.get_mut(&key) {
            *count += 1;
            return Write::BumpEvent {
                namespace: pod.namespace.clone(),
                name: name.clone(),
                count: *count,
            };
        }
        if self.seen.len() >= AGGREGATION_CACHE {
            self.seen.clear();
        }
        let now = jiff::Timestamp::now();
        let name = format!("{}.{:x}", pod.name, now.as_nanosecond());
        self.seen.insert(key, (name.clone(), 1));
        Write::CreateEvent(Box::new(Event {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(pod.namespace.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                namespace: Some(pod.namespace.clone()),
                name: Some(pod.name.clone()),
                uid: pod.uid.clone(),
                ..Default::default()
            },
            reason: Some(reason.into()),
            message: Some(message),
            type_: Some(kind.into()),
            action: Some(
                match reason {
                    "Scheduled" => "Binding",
                    "Preempted" => "Preempting",
                    _ => "Scheduling",
                }
                .into(),
            ),
            source: Some(EventSource {
                component: Some(component.clone()),
                host: None,
            }),
            reporting_component: Some(component),
            reporting_instance: Some(self.identity.clone()),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            count: Some(1),
            ..Default::default()
        }))
    }
}

fn status_patch(
    reason: &str,
    message: &str,
    condition: bool,
    nominated: Option<String>,
) -> serde_json::Value {
    let mut status = serde_json::Map::new();
    if condition {
        status.insert(
            "conditions".into(),
            json!([{
                "type": "PodScheduled", "status": "False", "reason": reason, "message": message,
                "lastProbeTime": null, "lastTransitionTime": jiff::Timestamp::now().to_string(),
            }]),
        );
    }
    if let Some(node) = nominated {
        status.insert("nominatedNodeName".into(), json!(node));
    }
    json!({ "status": status })
}

async fn perform(client: Client, write: Write) {
    let result = match write {
        Write::CreateEvent(event) => {
            let namespace = event.metadata.namespace.clone().unwrap_or_default();
            let api: Api<Event> = Api::namespaced(client, &namespace);
            api.create(&PostParams::default(), &event).await.map(drop)
        }
        Write::BumpEvent {
            namespace,
            name,
            count,
        } => {
            let api: Api<Event> = Api::namespaced(client, &namespace);
            let now = jiff::Timestamp::now().to_string();
            let patch = json!({"count": count, "lastTimestamp": now});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map(drop)
        }
        Write::PatchStatus { pod, patch } => {
            let api: Api<Pod> = Api::namespaced(client, &pod.namespace);
            api.patch_status(&pod.name, &PatchParams::default(), &Patch::Strategic(patch))
                .await
                .map(drop)
        }
        Write::DeletePod(pod) => {
            let api: Api<Pod> = Api::namespaced(client, &pod.namespace);
            let params = DeleteParams {
                preconditions: pod.uid.map(|uid| Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..Default::default()
            };
            api.delete(&pod.name, &params).await.map(drop)
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "recording a scheduling result failed");
    }
}
