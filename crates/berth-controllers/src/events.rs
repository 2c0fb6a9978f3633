//! Events (`core/v1`), as upstream's event recorder writes them, with its
//! spam filter: each involved object may emit a burst of 25 events, then
//! one more per 5 minutes, so scaling to 10,000 pods does not write 10,000
//! events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, PostParams};
use kube::{Client, Resource};

const BURST: f64 = 25.0;
const REFILL: Duration = Duration::from_secs(300);

/// Normal or Warning, as upstream's event types.
#[derive(Clone, Copy, Debug)]
pub enum EventType {
    Normal,
    Warning,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Writes events for one component (e.g. `replicaset-controller`).
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    component: &'static str,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

impl Recorder {
    pub fn new(client: Client, component: &'static str) -> Self {
        Self {
            client,
            component,
            buckets: Arc::default(),
        }
    }

    /// Records an event about `obj` in the background (never blocks, never fails the caller).
    pub fn record<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        kind: EventType,
        reason: &str,
        message: String,
    ) {
        let involved = object_reference(obj);
        if !self.allow(involved.uid.as_deref().unwrap_or_default()) {
            return;
        }
        let event = self.event(involved, kind, reason, message);
        let ns = event
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        tokio::spawn(async move {
            if let Err(e) = api.create(&PostParams::default(), &event).await {
                tracing::debug!(error = %e, "recording an event");
            }
        });
    }

    fn allow(&self, uid: &str) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| b.at.elapsed() < REFILL);
        }
        let b = buckets.entry(uid.to_string()).or_insert(Bucket {
            tokens: BURST,
            at: Instant::now(),
        });
        let refilled = b.at.elapsed().as_secs_f64() / REFILL.as_secs_f64();
        b.tokens = (b.tokens + refilled).min(BURST);
        b.at = Instant::now();
        if b.tokens < 1.0 {
            return false;
        }
        b.tokens -= 1.0;
        true
    }

    fn event(
        &self,
        involved: ObjectReference,
        kind: EventType,
        reason: &str,
        message: String,
    ) -> Event {
        let now = Timestamp::now();
        let name = format!(
            "{}.{:x}",
            involved.name.as_deref().unwrap_or("object"),
            now.as_nanosecond()
        );
        Event {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: involved
                    .namespace
                    .clone()
                    .or_else(|| Some("default".into())),
                ..Default::default()
            },
            involved_object: involved,
            reason: Some(reason.to_string()),
            message: Some(message),
            type_: Some(format!("{kind:?}")),
            source: Some(EventSource {
                component: Some(self.component.to_string()),
                host: None,
            }),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: None::<MicroTime>,
            count: Some(1),
            reporting_component: Some(self.component.to_string()),
            reporting_instance: Some(self.component.to_string()),
            ..Default::default()
        }
    }
}

/// A reference to `obj` for `involvedObject`.
pub fn object_reference<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
    let meta = obj.meta();
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        field_path: None,
    }
}
