//! Pod and pod template defaulting, as upstream's `core/v1` defaults.

use serde_json::{Value, json};

use crate::wire::{as_object, default_at, default_key, list_at_mut, object_at, str_at};

/// A Pod: the spec's defaults plus what only Pods get (service links,
/// requests from limits, the deprecated serviceAccount mirror).
pub(crate) fn default_pod(obj: &mut Value) {
    object_at(obj, &["spec"]);
    let Some(spec) = obj.get_mut("spec") else {
        return;
    };
    default_pod_spec(spec);
    default_key(as_object(spec), "enableServiceLinks", Value::Bool(true));
    for list in ["containers", "initContainers"] {
        for container in list_at_mut(spec, &[list]).into_iter().flatten() {
            default_requests_to_limits(container);
        }
    }
    let account = str_at(spec, &["serviceAccountName"]).to_string();
    let deprecated = str_at(spec, &["serviceAccount"]).to_string();
    if account.is_empty() && !deprecated.is_empty() {
        as_object(spec).insert("serviceAccountName".into(), Value::String(deprecated));
    } else if !account.is_empty() {
        as_object(spec).insert("serviceAccount".into(), Value::String(account));
    }
}

/// A pod template (`spec.template` of a workload).
pub(crate) fn default_pod_template(template: &mut Value) {
    object_at(template, &["spec"]);
    if let Some(spec) = template.get_mut("spec") {
        default_pod_spec(spec);
    }
}

/// What every pod spec gets, in a Pod or a template.
pub(crate) fn default_pod_spec(spec: &mut Value) {
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    let map = as_object(spec);
    default_key(map, "dnsPolicy", json!("ClusterFirst"));
    default_key(map, "restartPolicy", json!("Always"));
    default_key(map, "securityContext", json!({}));
    default_key(map, "terminationGracePeriodSeconds", json!(30));
    default_key(map, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        for container in list_at_mut(spec, &[list]).into_iter().flatten() {
            default_container(container, host_network);
        }
    }
    for volume in list_at_mut(spec, &["volumes"]).into_iter().flatten() {
        default_volume(volume);
    }
}

fn default_container(container: &mut Value, host_network: bool) {
    let image = str_at(container, &["image"]).to_string();
    let map = as_object(container);
    let policy = if pulls_always(&image) {
        "Always"
    } else {
        "IfNotPresent"
    };
    default_key(map, "imagePullPolicy", json!(policy));
    default_key(map, "terminationMessagePath", json!("/dev/termination-log"));
    default_key(map, "terminationMessagePolicy", json!("File"));
    default_key(map, "resources", json!({}));
    for port in list_at_mut(container, &["ports"]).into_iter().flatten() {
        default_at(port, &["protocol"], json!("TCP"));
        if host_network {
            let container_port = port.get("containerPort").cloned().unwrap_or(Value::Null);
            default_at(port, &["hostPort"], container_port);
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = container.get_mut(probe).filter(|p| p.is_object()) {
            default_probe(probe);
        }
    }
    for env in list_at_mut(container, &["env"]).into_iter().flatten() {
        if let Some(field_ref) = env
            .pointer_mut("/valueFrom/fieldRef")
            .filter(|f| f.is_object())
        {
            default_at(field_ref, &["apiVersion"], json!("v1"));
        }
    }
}

/// `Always` for `:latest` or an untagged image, `IfNotPresent` otherwise
/// (including digests and images that do not parse).
fn pulls_always(image: &str) -> bool {
    if image.is_empty() || image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

fn default_probe(probe: &mut Value) {
    let map = as_object(probe);
    default_key(map, "timeoutSeconds", json!(1));
    default_key(map, "periodSeconds", json!(10));
    default_key(map, "successThreshold", json!(1));
    default_key(map, "failureThreshold", json!(3));
    if let Some(http) = probe.get_mut("httpGet").filter(|h| h.is_object()) {
        default_at(http, &["path"], json!("/"));
        default_at(http, &["scheme"], json!("HTTP"));
    }
}

const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

fn default_volume(volume: &mut Value) {
    let has_source = VOLUME_SOURCES
        .iter()
        .any(|s| volume.get(*s).is_some_and(|v| !v.is_null()));
    if !has_source {
        as_object(volume).insert("emptyDir".into(), json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(source) = volume.get_mut(source).filter(|s| s.is_object()) {
            default_at(source, &["defaultMode"], json!(420));
        }
    }
    if let Some(host_path) = volume.get_mut("hostPath").filter(|s| s.is_object()) {
        default_at(host_path, &["type"], json!(""));
    }
}

/// Requests default to limits, resource by resource.
fn default_requests_to_limits(container: &mut Value) {
    let Some(limits) = container
        .pointer("/resources/limits")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let requests = object_at(container, &["resources", "requests"]);
    for (name, quantity) in limits {
        requests.entry(name).or_insert(quantity);
    }
}
