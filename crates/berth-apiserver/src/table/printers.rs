//! Upstream's columns for each built-in kind (`kubectl get` and `-o wide`:
//! priority 0 columns always, priority 1 with `-o wide`).

use serde_json::{Value, json};

use super::cells::{
    age_of, arr, containers_and_images, count_keys, i, map_selector, or_none, s, selector,
};
use super::pod;

mod networking;
mod policy;
mod storage;

/// One column: header, OpenAPI type, priority, and how to compute a cell.
pub struct Col {
    pub name: &'static str,
    pub ty: &'static str,
    pub priority: i64,
    pub cell: fn(&Value) -> Value,
}

const fn col(
    name: &'static str,
    ty: &'static str,
    priority: i64,
    cell: fn(&Value) -> Value,
) -> Col {
    Col {
        name,
        ty,
        priority,
        cell,
    }
}

fn name(o: &Value) -> Value {
    json!(s(o, &["metadata", "name"]))
}
fn age(o: &Value) -> Value {
    json!(age_of(s(o, &["metadata", "creationTimestamp"])))
}
fn created_at(o: &Value) -> Value {
    json!(s(o, &["metadata", "creationTimestamp"]))
}
fn template_containers(o: &Value) -> Value {
    json!(containers_and_images(o.pointer("/spec/template/spec").unwrap_or(&Value::Null)).0)
}
fn template_images(o: &Value) -> Value {
    json!(containers_and_images(o.pointer("/spec/template/spec").unwrap_or(&Value::Null)).1)
}
fn spec_selector(o: &Value) -> Value {
    json!(or_none(
        o.pointer("/spec/selector")
            .map(selector)
            .unwrap_or_default()
    ))
}

/// `-o wide` columns of a workload with a pod template.
fn template_columns() -> [Col; 3] {
    [
        col("Containers", "string", 1, template_containers),
        col("Images", "string", 1, template_images),
        col("Selector", "string", 1, spec_selector),
    ]
}

const NAME: Col = col("Name", "string", 0, name);
const AGE: Col = col("Age", "string", 0, age);

fn pods() -> Vec<Col> {
    vec![
        NAME,
        col("Ready", "string", 0, |o| json!(pod::ready(o))),
        col("Status", "string", 0, |o| json!(pod::status(o))),
        col("Restarts", "string", 0, |o| json!(pod::restarts(o))),
        AGE,
        col("IP", "string", 1, |o| {
            json!(or_none(s(o, &["status", "podIP"]).into()))
        }),
        col("Node", "string", 1, |o| {
            json!(or_none(s(o, &["spec", "nodeName"]).into()))
        }),
        col("Nominated Node", "string", 1, |o| {
            json!(or_none(s(o, &["status", "nominatedNodeName"]).into()))
        }),
        col("Readiness Gates", "string", 1, |o| {
            json!(pod::readiness_gates(o))
        }),
    ]
}

fn deployments() -> Vec<Col> {
    vec![
        NAME,
        col("Ready", "string", 0, |o| {
            json!(format!(
                "{}/{}",
                i(o, &["status", "readyReplicas"]),
                i(o, &["spec", "replicas"])
            ))
        }),
        col("Up-to-date", "integer", 0, |o| {
            json!(i(o, &["status", "updatedReplicas"]))
        }),
        col("Available", "integer", 0, |o| {
            json!(i(o, &["status", "availableReplicas"]))
        }),
        AGE,
    ]
    .into_iter()
    .chain(template_columns())
    .collect()
}

fn replica_sets() -> Vec<Col> {
    vec![
        NAME,
        col("Desired", "integer", 0, |o| {
            json!(i(o, &["spec", "replicas"]))
        }),
        col("Current", "integer", 0, |o| {
            json!(i(o, &["status", "replicas"]))
        }),
        col("Ready", "integer", 0, |o| {
            json!(i(o, &["status", "readyReplicas"]))
        }),
        AGE,
        col("Containers", "string", 1, template_containers),
        col("Images", "string", 1, template_images),
        col("Selector", "string", 1, |o| {
            let sel = o.pointer("/spec/selector");
            let text = match sel {
                Some(v)
                    if v.get("matchLabels").is_some() || v.get("matchExpressions").is_some() =>
                {
                    selector(v)
                }
                other => map_selector(other),
            };
            json!(or_none(text))
        }),
    ]
}

fn stateful_sets() -> Vec<Col> {
    vec![
        NAME,
        col("Ready", "string", 0, |o| {
            json!(format!(
                "{}/{}",
                i(o, &["status", "readyReplicas"]),
                i(o, &["spec", "replicas"])
            ))
        }),
        AGE,
        col("Containers", "string", 1, template_containers),
        col("Images", "string", 1, template_images),
    ]
}

fn daemon_sets() -> Vec<Col> {
    vec![
        NAME,
        col("Desired", "integer", 0, |o| {
            json!(i(o, &["status", "desiredNumberScheduled"]))
        }),
        col("Current", "integer", 0, |o| {
            json!(i(o, &["status", "currentNumberScheduled"]))
        }),
        col("Ready", "integer", 0, |o| {
            json!(i(o, &["status", "numberReady"]))
        }),
        col("Up-to-date", "integer", 0, |o| {
            json!(i(o, &["status", "updatedNumberScheduled"]))
        }),
        col("Available", "integer", 0, |o| {
            json!(i(o, &["status", "numberAvailable"]))
        }),
        col("Node Selector", "string", 0, |o| {
            json!(or_none(map_selector(
                o.pointer("/spec/template/spec/nodeSelector")
            )))
        }),
        AGE,
    ]
    .into_iter()
    .chain(template_columns())
    .collect()
}

fn job_status(o: &Value) -> &'static str {
    let cond = |t: &str| {
        arr(o, &["status", "conditions"])
            .iter()
            .any(|c| s(c, &["type"]) == t && s(c, &["status"]) == "True")
    };
    if cond("Failed") {
        "Failed"
    } else if cond("Complete") {
        "Complete"
    } else if cond("Suspended") {
        "Suspended"
    } else if cond("FailureTarget") {
        "FailureTarget"
    } else if cond("SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else if o.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else {
        "Running"
    }
}

fn jobs() -> Vec<Col> {
    vec![
        NAME,
        col("Status", "string", 0, |o| json!(job_status(o))),
        col("Completions", "string", 0, |o| {
            let done = i(o, &["status", "succeeded"]);
            match o.pointer("/spec/completions").and_then(Value::as_i64) {
                Some(c) => json!(format!("{done}/{c}")),
                None => json!(format!(
                    "{done}/1 of {}",
                    i(o, &["spec", "parallelism"]).max(1)
                )),
            }
        }),
        col("Duration", "string", 0, |o| {
            let start = s(o, &["status", "startTime"]);
            let end = s(o, &["status", "completionTime"]);
            let secs = match (
                start.parse::<jiff::Timestamp>(),
                end.parse::<jiff::Timestamp>(),
            ) {
                (Ok(a), Ok(b)) => Some(b.as_second() - a.as_second()),
                (Ok(a), Err(_)) => Some(jiff::Timestamp::now().as_second() - a.as_second()),
                _ => None,
            };
            json!(secs.map(super::human_duration).unwrap_or_default())
        }),
        AGE,
    ]
    .into_iter()
    .chain(template_columns())
    .collect()
}

fn cron_jobs() -> Vec<Col> {
    vec![
        NAME,
        col("Schedule", "string", 0, |o| {
            json!(s(o, &["spec", "schedule"]))
        }),
        col("Timezone", "string", 0, |o| {
            json!(or_none(s(o, &["spec", "timeZone"]).into()))
        }),
        col("Suspend", "boolean", 0, |o| {
            match o.pointer("/spec/suspend").and_then(Value::as_bool) {
                Some(true) => json!("True"),
                Some(false) => json!("False"),
                None => json!("<unset>"),
            }
        }),
        col("Active", "integer", 0, |o| {
            json!(arr(o, &["status", "active"]).len())
        }),
        col("Last Schedule", "string", 0, |o| {
            let t = s(o, &["status", "lastScheduleTime"]);
            json!(if t.is_empty() {
                "<none>".to_string()
            } else {
                age_of(t)
            })
        }),
        AGE,
        col("Containers", "string", 1, |o| {
            json!(
                containers_and_images(
                    o.pointer("/spec/jobTemplate/spec/template/spec")
                        .unwrap_or(&Value::Null)
                )
                .0
            )
        }),
        col("Images", "string", 1, |o| {
            json!(
                containers_and_images(
                    o.pointer("/spec/jobTemplate/spec/template/spec")
                        .unwrap_or(&Value::Null)
                )
                .1
            )
        }),
        col("Selector", "string", 1, |o| {
            json!(or_none(
                o.pointer("/spec/jobTemplate/spec/selector")
                    .map(selector)
                    .unwrap_or_default()
            ))
        }),
    ]
}

fn service_ports(o: &Value) -> String {
    let ports: Vec<String> = arr(o, &["spec", "ports"])
        .iter()
        .map(|p| {
            let proto = s(p, &["protocol"]);
            let proto = if proto.is_empty() { "TCP" } else { proto };
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) if np != 0 => format!("{}:{np}/{proto}", i(p, &["port"])),
                _ => format!("{}/{proto}", i(p, &["port"])),
            }
        })
        .collect();
    or_none(ports.join(","))
}

fn external_ip(o: &Value) -> String {
    let mut ips: Vec<String> = arr(o, &["status", "loadBalancer", "ingress"])
        .iter()
        .map(|i| {
            let ip = s(i, &["ip"]);
            if ip.is_empty() {
                s(i, &["hostname"]).to_string()
            } else {
                ip.to_string()
            }
        })
        .collect();
    ips.extend(
        arr(o, &["spec", "externalIPs"])
            .iter()
            .filter_map(|v| v.as_str().map(String::from)),
    );
    match s(o, &["spec", "type"]) {
        "ExternalName" => s(o, &["spec", "externalName"]).to_string(),
        "LoadBalancer" if ips.is_empty() => "<pending>".into(),
        _ => or_none(ips.join(",")),
    }
}

fn services() -> Vec<Col> {
    vec![
        NAME,
        col("Type", "string", 0, |o| json!(s(o, &["spec", "type"]))),
        col("Cluster-IP", "string", 0, |o| {
            json!(or_none(s(o, &["spec", "clusterIP"]).into()))
        }),
        col("External-IP", "string", 0, |o| json!(external_ip(o))),
        col("Port(s)", "string", 0, |o| json!(service_ports(o))),
        AGE,
        col("Selector", "string", 1, |o| {
            json!(or_none(map_selector(o.pointer("/spec/selector"))))
        }),
    ]
}

fn node_status(o: &Value) -> String {
    let ready = arr(o, &["status", "conditions"])
        .iter()
        .find(|c| s(c, &["type"]) == "Ready");
    let mut parts = vec![
        match ready.map(|c| s(c, &["status"])) {
            Some("True") => "Ready",
            _ => "NotReady",
        }
        .to_string(),
    ];
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        parts.push("SchedulingDisabled".into());
    }
    parts.join(",")
}

fn node_roles(o: &Value) -> String {
    let roles: Vec<String> = o
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/").map(String::from))
                .collect()
        })
        .unwrap_or_default();
    or_none(roles.join(","))
}

fn node_address(o: &Value, kind: &str) -> String {
    or_none(
        arr(o, &["status", "addresses"])
            .iter()
            .find(|a| s(a, &["type"]) == kind)
            .map(|a| s(a, &["address"]).to_string())
            .unwrap_or_default(),
    )
}

fn nodes() -> Vec<Col> {
    vec![
        NAME,
        col("Status", "string", 0, |o| json!(node_status(o))),
        col("Roles", "string", 0, |o| json!(node_roles(o))),
        AGE,
        col("Version", "string", 0, |o| {
            json!(s(o, &["status", "nodeInfo", "kubeletVersion"]))
        }),
        col("Internal-IP", "string", 1, |o| {
            json!(node_address(o, "InternalIP"))
        }),
        col("External-IP", "string", 1, |o| {
            json!(node_address(o, "ExternalIP"))
        }),
        col("OS-Image", "string", 1, |o| {
            json!(s(o, &["status", "nodeInfo", "osImage"]))
        }),
        col("Kernel-Version", "string", 1, |o| {
            json!(s(o, &["status", "nodeInfo", "kernelVersion"]))
        }),
        col("Container-Runtime", "string", 1, |o| {
            json!(s(o, &["status", "nodeInfo", "containerRuntimeVersion"]))
        }),
    ]
}

fn event_object(o: &Value) -> String {
    let kind = s(o, &["involvedObject", "kind"]).to_ascii_lowercase();
    format!("{kind}/{}", s(o, &["involvedObject", "name"]))
}

fn event_last_seen(o: &Value) -> String {
    let t = [
        s(o, &["lastTimestamp"]),
        s(o, &["eventTime"]),
        s(o, &["metadata", "creationTimestamp"]),
    ]
    .into_iter()
    .find(|t| !t.is_empty())
    .unwrap_or("");
    age_of(t)
}

fn events() -> Vec<Col> {
    vec![
        col("Last Seen", "string", 0, |o| json!(event_last_seen(o))),
        col("Type", "string", 0, |o| json!(s(o, &["type"]))),
        col("Reason", "string", 0, |o| json!(s(o, &["reason"]))),
        col("Object", "string", 0, |o| json!(event_object(o))),
        col("Subobject", "string", 1, |o| {
            json!(s(o, &["involvedObject", "fieldPath"]))
        }),
        col("Source", "string", 1, |o| {
            json!(s(o, &["source", "component"]))
        }),
        col("Message", "string", 0, |o| json!(s(o, &["message"]))),
        col("First Seen", "string", 1, |o| {
            json!(age_of(s(o, &["firstTimestamp"])))
        }),
        col("Count", "integer", 1, |o| json!(i(o, &["count"]).max(1))),
        col("Name", "string", 1, name),
    ]
}

fn endpoints_cell(o: &Value) -> String {
    let mut out = Vec::new();
    for subset in arr(o, &["subsets"]) {
        for addr in arr(subset, &["addresses"]) {
            for port in arr(subset, &["ports"]) {
                out.push(format!("{}:{}", s(addr, &["ip"]), i(port, &["port"])));
            }
        }
    }
    let shown: Vec<String> = out.iter().take(3).cloned().collect();
    let more = out.len().saturating_sub(3);
    let text = shown.join(",");
    or_none(if more > 0 {
        format!("{text} + {more} more...")
    } else {
        text
    })
}

/// The columns of a built-in kind, or `None` to use the default (Name, Age).
pub fn for_kind(group: &str, kind: &str) -> Option<Vec<Col>> {
    Some(match (group, kind) {
        ("", "Pod") => pods(),
        ("apps", "Deployment") => deployments(),
        ("apps", "ReplicaSet") | ("", "ReplicationController") => replica_sets(),
        ("apps", "StatefulSet") => stateful_sets(),
        ("apps", "DaemonSet") => daemon_sets(),
        ("batch", "Job") => jobs(),
        ("batch", "CronJob") => cron_jobs(),
        ("", "Service") => services(),
        ("", "Node") => nodes(),
        ("", "Event") => events(),
        ("", "Namespace") => vec![
            NAME,
            col("Status", "string", 0, |o| json!(s(o, &["status", "phase"]))),
            AGE,
        ],
        ("", "ConfigMap") => vec![
            NAME,
            col("Data", "integer", 0, |o| {
                json!(count_keys(o, &["data", "binaryData"]))
            }),
            AGE,
        ],
        ("", "Secret") => vec![
            NAME,
            col("Type", "string", 0, |o| json!(s(o, &["type"]))),
            col("Data", "integer", 0, |o| json!(count_keys(o, &["data"]))),
            AGE,
        ],
        ("", "ServiceAccount") => vec![
            NAME,
            col("Secrets", "integer", 0, |o| {
                json!(arr(o, &["secrets"]).len())
            }),
            AGE,
        ],
        ("", "Endpoints") => vec![
            NAME,
            col("Endpoints", "string", 0, |o| json!(endpoints_cell(o))),
            AGE,
        ],
        ("coordination.k8s.io", "Lease") => vec![
            NAME,
            col("Holder", "string", 0, |o| {
                json!(s(o, &["spec", "holderIdentity"]))
            }),
            AGE,
        ],
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole")
        | ("", "LimitRange")
        | ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            vec![NAME, col("Created At", "date", 0, created_at)]
        }
        ("scheduling.k8s.io", "PriorityClass") => vec![
            NAME,
            col("Value", "integer", 0, |o| json!(i(o, &["value"]))),
            col("Global-Default", "boolean", 0, |o| {
                json!(
                    o.get("globalDefault")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                )
            }),
            AGE,
            col("PreemptionPolicy", "string", 0, |o| {
                json!(s(o, &["preemptionPolicy"]))
            }),
        ],
        ("storage.k8s.io", "StorageClass") => vec![
            NAME,
            col("Provisioner", "string", 0, |o| {
                json!(s(o, &["provisioner"]))
            }),
            col("ReclaimPolicy", "string", 0, |o| {
                json!(s(o, &["reclaimPolicy"]))
            }),
            col("VolumeBindingMode", "string", 0, |o| {
                json!(s(o, &["volumeBindingMode"]))
            }),
            col("AllowVolumeExpansion", "string", 0, |o| {
                json!(
                    o.get("allowVolumeExpansion")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                )
            }),
            AGE,
        ],
        ("", "PersistentVolume") => storage::persistent_volumes(),
        ("", "PersistentVolumeClaim") => storage::persistent_volume_claims(),
        ("networking.k8s.io", "Ingress") => networking::ingresses(),
        ("networking.k8s.io", "NetworkPolicy") => networking::network_policies(),
        ("discovery.k8s.io", "EndpointSlice") => networking::endpoint_slices(),
        ("autoscaling", "HorizontalPodAutoscaler") => policy::horizontal_pod_autoscalers(),
        ("policy", "PodDisruptionBudget") => policy::pod_disruption_budgets(),
        ("apps", "ControllerRevision") => policy::controller_revisions(),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            policy::role_bindings()
        }
        _ => return None,
    })
}
