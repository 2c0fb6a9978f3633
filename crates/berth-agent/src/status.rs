//! Pod status from what the worker observed, computed as upstream's kubelet
//! does (`getPhase`, `generateAPIPodStatus`): phase, the five conditions,
//! container statuses with state/lastState, ready/started, restart counts.
//! Pure: no I/O, the clock is passed in.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::clock::from_unix_nanos;
use crate::cri::api;
use crate::pod_worker::record::{ContainerRecord, Observed};
use crate::probe::{ContainerProbes, ProbeResult};

/// One container as the status sees it.
pub struct ContainerView<'a> {
    pub spec: &'a Container,
    pub record: &'a ContainerRecord,
    pub probes: ContainerProbes,
}

/// Everything the status of one pod is computed from.
pub struct PodView<'a> {
    pub pod: &'a Pod,
    pub init: Vec<ContainerView<'a>>,
    pub app: Vec<ContainerView<'a>>,
    pub sandbox_ready: bool,
    pub pod_ip: Option<&'a str>,
    pub host_ip: &'a str,
    pub start_time: Option<jiff::Timestamp>,
    pub runtime_name: &'a str,
    /// Set once the pod is terminated for good: its final phase.
    pub terminal_phase: Option<&'static str>,
    pub now: jiff::Timestamp,
}

impl ContainerView<'_> {
    pub fn started(&self) -> bool {
        self.record.observed() == Observed::Running
            && (self.spec.startup_probe.is_none() || self.probes.startup == ProbeResult::Success)
    }

    pub fn ready(&self) -> bool {
        self.started()
            && (self.spec.readiness_probe.is_none()
                || self.probes.readiness == ProbeResult::Success)
    }
}

fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

/// Upstream's `getPhase`.
pub fn phase(v: &PodView<'_>) -> &'static str {
    if let Some(p) = v.terminal_phase {
        return p;
    }
    let policy = restart_policy(v.pod);
    for c in &v.init {
        match c.record.observed() {
            Observed::Exited(0) => {}
            Observed::Exited(_) if policy == "Never" => return "Failed",
            _ => return "Pending",
        }
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in &v.app {
        match c.record.observed() {
            Observed::Running => running += 1,
            Observed::Exited(code) => {
                stopped += 1;
                if code == 0 {
                    succeeded += 1;
                }
            }
            Observed::None | Observed::Created if c.record.last.is_some() => stopped += 1,
            _ => waiting += 1,
        }
    }
    if waiting > 0 {
        "Pending"
    } else if running > 0 {
        "Running"
    } else if stopped > 0 {
        match policy {
            "Always" => "Running",
            _ if stopped == succeeded => "Succeeded",
            "Never" => "Failed",
            _ => "Running",
        }
    } else {
        "Pending"
    }
}

pub fn pod_status(v: &PodView<'_>, previous: Option<&PodStatus>) -> PodStatus {
    let phase = phase(v);
    let runtime = v.runtime_name;
    let pod_ip = v.pod_ip.filter(|ip| !ip.is_empty()).map(String::from);
    PodStatus {
        phase: Some(phase.into()),
        conditions: Some(conditions(v, phase, previous)),
        host_ip: Some(v.host_ip.into()),
        host_ips: Some(vec![HostIP {
            ip: v.host_ip.into(),
        }]),
        pod_ip: pod_ip.clone(),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip }]),
        start_time: v.start_time.map(Time),
        qos_class: v.pod.status.as_ref().and_then(|s| s.qos_class.clone()),
        init_container_statuses: (!v.init.is_empty()).then(|| {
            v.init
                .iter()
                .map(|c| container_status(c, runtime))
                .collect()
        }),
        container_statuses: Some(v.app.iter().map(|c| container_status(c, runtime)).collect()),
        ..PodStatus::default()
    }
}

fn conditions(v: &PodView<'_>, phase: &str, previous: Option<&PodStatus>) -> Vec<PodCondition> {
    let done = phase == "Succeeded";
    let pending_init: Vec<&str> = v
        .init
        .iter()
        .filter(|c| !c.record.succeeded())
        .map(|c| c.spec.name.as_str())
        .collect();
    let unready: Vec<&str> = v
        .app
        .iter()
        .filter(|c| !c.ready())
        .map(|c| c.spec.name.as_str())
        .collect();
    let initialized = if done || pending_init.is_empty() {
        (true, if done { "PodCompleted" } else { "" }, String::new())
    } else {
        (
            false,
            "ContainersNotInitialized",
            format!(
                "containers with incomplete status: [{}]",
                pending_init.join(" ")
            ),
        )
    };
    let ready = if unready.is_empty() && !done && v.terminal_phase.is_none() {
        (true, "", String::new())
    } else if done {
        (false, "PodCompleted", String::new())
    } else {
        (
            false,
            "ContainersNotReady",
            format!("containers with unready status: [{}]", unready.join(" ")),
        )
    };
    let sandbox = v.sandbox_ready && v.terminal_phase.is_none();
    let before: BTreeMap<String, &PodCondition> = previous
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .map(|c| (c.type_.clone(), c))
        .collect();
    let make = |type_: &str, (ok, reason, message): (bool, &str, String)| {
        let status = if ok { "True" } else { "False" };
        let since = before
            .get(type_)
            .filter(|c| c.status == status)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or(Time(v.now));
        PodCondition {
            type_: type_.into(),
            status: status.into(),
            reason: (!reason.is_empty()).then(|| reason.into()),
            message: (!message.is_empty()).then_some(message),
            last_transition_time: Some(since),
            ..PodCondition::default()
        }
    };
    vec![
        make("PodReadyToStartContainers", (sandbox, "", String::new())),
        make("Initialized", initialized.clone()),
        make("Ready", ready.clone()),
        make("ContainersReady", ready),
        make("PodScheduled", (true, "", String::new())),
    ]
}

fn container_id(runtime: &str, id: &str) -> String {
    format!("{runtime}://{id}")
}

fn terminated(c: &api::ContainerStatus, runtime: &str) -> ContainerStateTerminated {
    let reason = if c.reason.is_empty() {
        if c.exit_code == 0 {
            "Completed"
        } else {
            "Error"
        }
        .to_string()
    } else {
        c.reason.clone()
    };
    ContainerStateTerminated {
        exit_code: c.exit_code,
        reason: Some(reason),
        message: (!c.message.is_empty()).then(|| c.message.clone()),
        started_at: from_unix_nanos(c.started_at).map(Time),
        finished_at: from_unix_nanos(c.finished_at).map(Time),
        container_id: Some(container_id(runtime, &c.id)),
        ..ContainerStateTerminated::default()
    }
}

fn state_of(c: &ContainerView<'_>, runtime: &str) -> ContainerState {
    let r = c.record;
    if let Some(w) = &r.waiting {
        let waiting = ContainerStateWaiting {
            reason: Some(w.reason.clone()),
            message: (!w.message.is_empty()).then(|| w.message.clone()),
        };
        return ContainerState {
            waiting: Some(waiting),
            ..ContainerState::default()
        };
    }
    match (r.observed(), &r.current) {
        (Observed::Running, Some(cur)) => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: from_unix_nanos(cur.started_at).map(Time),
            }),
            ..ContainerState::default()
        },
        (Observed::Exited(_), Some(cur)) => ContainerState {
            terminated: Some(terminated(cur, runtime)),
            ..ContainerState::default()
        },
        _ => ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some("ContainerCreating".into()),
                message: None,
            }),
            ..ContainerState::default()
        },
    }
}

fn container_status(c: &ContainerView<'_>, runtime: &str) -> ContainerStatus {
    let r = c.record;
    let state = state_of(c, runtime);
    // A container waiting to restart shows its last exit in lastState.
    let last = if state.waiting.is_some() && matches!(r.observed(), Observed::Exited(_)) {
        r.current.as_ref()
    } else {
        r.last.as_ref()
    };
    let image_id = r
        .current
        .as_ref()
        .or(r.last.as_ref())
        .map(|s| s.image_ref.clone());
    ContainerStatus {
        name: c.spec.name.clone(),
        image: c.spec.image.clone().unwrap_or_default(),
        image_id: image_id.unwrap_or_default(),
        container_id: r
            .current
            .as_ref()
            .filter(|_| state.waiting.is_none())
            .map(|s| container_id(runtime, &s.id)),
        ready: c.ready(),
        started: Some(c.started()),
        restart_count: i32::try_from(r.restart_count).unwrap_or(i32::MAX),
        last_state: last.map(|l| ContainerState {
            terminated: Some(terminated(l, runtime)),
            ..ContainerState::default()
        }),
        state: Some(state),
        ..ContainerStatus::default()
    }
}
