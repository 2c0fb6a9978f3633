//! Pod priority from PriorityClasses, as upstream's Priority admission
//! plugin computes it.
//!
//! Berth's API server defaults `spec.priority` to 0 without resolving
//! `priorityClassName`, so the scheduler resolves it: a pod naming a known
//! class gets that class's value; a pod naming none, with priority unset or
//! 0, gets the `globalDefault` class's value (upstream admission rejects an
//! explicit priority that disagrees with the class, so the class is
//! authoritative).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::scheduling::v1::PriorityClass;

/// Known PriorityClasses. Invariant: `global_default` names a class in `values`.
#[derive(Debug, Default)]
pub(crate) struct PriorityClasses {
    values: HashMap<String, i32>,
    global_default: Option<String>,
}

impl PriorityClasses {
    /// Adds or updates a class.
    pub fn upsert(&mut self, class: &PriorityClass) {
        let name = class.metadata.name.clone().unwrap_or_default();
        if class.global_default == Some(true) {
            self.global_default = Some(name.clone());
        } else if self.global_default.as_ref() == Some(&name) {
            self.global_default = None;
        }
        self.values.insert(name, class.value);
    }

    /// Removes a class by name.
    pub fn remove(&mut self, name: &str) {
        self.values.remove(name);
        if self.global_default.as_deref() == Some(name) {
            self.global_default = None;
        }
    }

    /// Names of all known classes.
    pub fn names(&self) -> Vec<String> {
        self.values.keys().cloned().collect()
    }

    /// Sets `spec.priority` from the pod's class (or the global default).
    pub fn resolve(&self, pod: &mut Pod) {
        let Some(spec) = pod.spec.as_mut() else {
            return;
        };
        let class = spec
            .priority_class_name
            .as_deref()
            .filter(|n| !n.is_empty());
        let value = match class {
            Some(name) => self.values.get(name).copied(),
            None if spec.priority.unwrap_or(0) == 0 => self
                .global_default
                .as_ref()
                .and_then(|name| self.values.get(name).copied()),
            None => None,
        };
        if let Some(value) = value {
            spec.priority = Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodSpec;
    use kube::api::ObjectMeta;

    fn class(name: &str, value: i32, global_default: bool) -> PriorityClass {
        PriorityClass {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            value,
            global_default: Some(global_default),
            ..Default::default()
        }
    }

    fn pod(class: Option<&str>, priority: Option<i32>) -> Pod {
        Pod {
            spec: Some(PodSpec {
                priority_class_name: class.map(str::to_owned),
                priority,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn resolved(classes: &PriorityClasses, mut p: Pod) -> Option<i32> {
        classes.resolve(&mut p);
        p.spec.and_then(|s| s.priority)
    }

    #[test]
    fn a_named_class_should_set_the_priority() {
        let mut classes = PriorityClasses::default();
        classes.upsert(&class("high", 1000, false));
        assert_eq!(resolved(&classes, pod(Some("high"), Some(0))), Some(1000));
        assert_eq!(resolved(&classes, pod(Some("unknown"), Some(0))), Some(0));
    }

    #[test]
    fn the_global_default_should_apply_only_to_pods_without_a_class() {
        let mut classes = PriorityClasses::default();
        classes.upsert(&class("high", 1000, false));
        classes.upsert(&class("normal", 100, true));
        assert_eq!(resolved(&classes, pod(None, Some(0))), Some(100));
        assert_eq!(resolved(&classes, pod(None, None)), Some(100));
        assert_eq!(resolved(&classes, pod(Some("high"), None)), Some(1000));
        classes.remove("normal");
        assert_eq!(resolved(&classes, pod(None, Some(0))), Some(0));
    }
}
