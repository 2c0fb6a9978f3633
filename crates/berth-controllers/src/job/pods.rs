//! A Job's pods: building them from the template (labels, tracking
//! finalizer, completion index, `JOB_COMPLETION_INDEX`, hostname) and
//! reading what the controller needs back from them.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use super::{COMPLETION_INDEX, INDEX_FAILURE_COUNT, TRACKING_FINALIZER};
use crate::controller_ref::new_controller_ref;

/// Upstream's MaxGeneratedNameLength: a name prefix leaves room for 5
/// random characters.
const MAX_GENERATE_NAME: usize = 58;

/// The environment variable carrying the completion index.
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// True while the pod still carries `batch.kubernetes.io/job-tracking`.
pub fn has_tracking_finalizer(pod: &Pod) -> bool {
    pod.finalizers().iter().any(|f| f == TRACKING_FINALIZER)
}

/// The completion index from the annotation (or the label), if valid.
pub fn completion_index(pod: &Pod) -> Option<i32> {
    pod.annotations()
        .get(COMPLETION_INDEX)
        .or_else(|| pod.labels().get(COMPLETION_INDEX))
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|i| *i >= 0)
}

/// How many times the pod's index had failed when the pod was created.
pub fn index_failure_count(pod: &Pod) -> i32 {
    pod.annotations()
        .get(INDEX_FAILURE_COUNT)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `<job>-` or, for an index, `<job>-<index>-`, shortened as upstream does.
fn generate_name(job: &str, index: Option<i32>) -> String {
    let Some(i) = index else {
        let mut prefix = format!("{job}-");
        if prefix.len() > MAX_GENERATE_NAME {
            prefix.truncate(MAX_GENERATE_NAME);
        }
        return prefix;
    };
    let suffix = format!("-{i}-");
    let mut prefix = job.to_string();
    prefix.truncate(MAX_GENERATE_NAME.saturating_sub(suffix.len()));
    prefix + &suffix
}

/// A new pod for `job` (for completion `index` in an Indexed Job, whose
/// index has failed `failures` times before).
pub fn new_pod(job: &Job, index: Option<i32>, failures: Option<i32>) -> Pod {
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    let mut labels = tmeta.labels.unwrap_or_default();
    let mut annotations = tmeta.annotations.unwrap_or_default();
    let mut finalizers = tmeta.finalizers.unwrap_or_default();
    if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
        finalizers.push(TRACKING_FINALIZER.to_string());
    }
    if let Some(i) = index {
        labels.insert(COMPLETION_INDEX.into(), i.to_string());
        annotations.insert(COMPLETION_INDEX.into(), i.to_string());
        if let Some(f) = failures {
            annotations.insert(INDEX_FAILURE_COUNT.into(), f.to_string());
        }
        let containers = spec.containers.iter_mut();
        for c in containers.chain(spec.init_containers.iter_mut().flatten()) {
            add_index_env(c);
        }
        if spec.hostname.as_deref().is_none_or(str::is_empty) {
            spec.hostname = Some(format!("{}-{i}", job.name_any()));
        }
    }
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name(&job.name_any(), index)),
            namespace: job.namespace(),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            finalizers: Some(finalizers),
            owner_references: Some(vec![new_controller_ref(job)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// `JOB_COMPLETION_INDEX` from the index annotation (downward API).
fn add_index_env(c: &mut Container) {
    let env = c.env.get_or_insert_with(Vec::new);
    if env.iter().any(|e| e.name == INDEX_ENV) {
        return;
    }
    env.push(EnvVar {
        name: INDEX_ENV.into(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
            }),
            ..Default::default()
        }),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(mode: &str) -> Job {
        serde_json::from_value(json!({
            "metadata": {"name": "work", "namespace": "ns", "uid": "u1"},
            "spec": {"completionMode": mode, "template": {
                "metadata": {"labels": {"app": "work"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
        }))
        .expect("job")
    }

    #[test]
    fn indexed_pods_carry_index_env_hostname_and_tracking_finalizer() {
        let pod = new_pod(&job("Indexed"), Some(3), None);
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("work-3-"));
        assert_eq!(completion_index(&pod), Some(3));
        assert_eq!(
            pod.labels().get(COMPLETION_INDEX).map(String::as_str),
            Some("3")
        );
        assert!(has_tracking_finalizer(&pod));
        let spec = pod.spec.expect("spec");
        assert_eq!(spec.hostname.as_deref(), Some("work-3"));
        let env = spec.containers[0].env.as_ref().expect("env");
        assert_eq!(env[0].name, INDEX_ENV);
        let owner = &pod.metadata.owner_references.expect("owner")[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("Job", Some(true)));
    }

    #[test]
    fn non_indexed_pods_have_no_index_and_long_names_are_shortened() {
        let pod = new_pod(&job("NonIndexed"), None, None);
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("work-"));
        assert_eq!(completion_index(&pod), None);
        let long = "x".repeat(70);
        assert_eq!(generate_name(&long, Some(12)).len(), MAX_GENERATE_NAME);
        assert!(generate_name(&long, Some(12)).ends_with("-12-"));
    }
}
