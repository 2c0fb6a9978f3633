//! Columns of PersistentVolumes and PersistentVolumeClaims.

use serde_json::{Value, json};

use super::super::cells::{arr, s};
use super::{AGE, Col, NAME, col};

/// Access modes in upstream's short form and order (RWO,ROX,RWX,RWOP).
pub fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(long, _)| has(long))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

fn or_unset(v: &str) -> Value {
    json!(if v.is_empty() { "<unset>" } else { v })
}

fn storage_class(o: &Value) -> Value {
    let class = s(o, &["spec", "storageClassName"]);
    let beta = o
        .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .and_then(Value::as_str);
    json!(beta.unwrap_or(class))
}

fn attributes_class(o: &Value) -> Value {
    or_unset(s(o, &["spec", "volumeAttributesClassName"]))
}

fn bound(o: &Value) -> bool {
    !s(o, &["spec", "volumeName"]).is_empty()
}

fn volume_mode(o: &Value) -> Value {
    or_unset(s(o, &["spec", "volumeMode"]))
}

pub fn persistent_volumes() -> Vec<Col> {
    vec![
        NAME,
        col("Capacity", "string", 0, |o| {
            json!(s(o, &["spec", "capacity", "storage"]))
        }),
        col("Access Modes", "string", 0, |o| {
            json!(access_modes(arr(o, &["spec", "accessModes"])))
        }),
        col("Reclaim Policy", "string", 0, |o| {
            json!(s(o, &["spec", "persistentVolumeReclaimPolicy"]))
        }),
        col("Status", "string", 0, |o| json!(s(o, &["status", "phase"]))),
        col("Claim", "string", 0, |o| {
            let name = s(o, &["spec", "claimRef", "name"]);
            if name.is_empty() {
                return json!("");
            }
            json!(format!(
                "{}/{name}",
                s(o, &["spec", "claimRef", "namespace"])
            ))
        }),
        col("StorageClass", "string", 0, storage_class),
        col("VolumeAttributesClass", "string", 0, attributes_class),
        col("Reason", "string", 0, |o| {
            json!(s(o, &["status", "reason"]))
        }),
        AGE,
        col("VolumeMode", "string", 1, volume_mode),
    ]
}

pub fn persistent_volume_claims() -> Vec<Col> {
    vec![
        NAME,
        col("Status", "string", 0, |o| {
            if o.pointer("/metadata/deletionTimestamp").is_some() {
                return json!("Terminating");
            }
            json!(s(o, &["status", "phase"]))
        }),
        col("Volume", "string", 0, |o| {
            json!(s(o, &["spec", "volumeName"]))
        }),
        col("Capacity", "string", 0, |o| {
            let cap = s(o, &["status", "capacity", "storage"]);
            json!(if bound(o) { cap } else { "" })
        }),
        col("Access Modes", "string", 0, |o| {
            let modes = access_modes(arr(o, &["status", "accessModes"]));
            json!(if bound(o) { modes } else { String::new() })
        }),
        col("StorageClass", "string", 0, storage_class),
        col("VolumeAttributesClass", "string", 0, attributes_class),
        AGE,
        col("VolumeMode", "string", 1, volume_mode),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_modes_print_short_and_in_upstream_order() {
        let modes = [json!("ReadWriteMany"), json!("ReadWriteOnce")];
        assert_eq!(access_modes(&modes), "RWO,RWX");
        assert_eq!(access_modes(&[]), "");
    }
}
