//! The scheduler configuration file: a subset of upstream's
//! `kubescheduler.config.k8s.io/v1` `KubeSchedulerConfiguration`, in YAML or
//! JSON.
//!
//! Supported: `percentageOfNodesToScore` (top level and per profile);
//! `profiles[].schedulerName`; `profiles[].plugins.<point>.enabled` /
//! `.disabled` (any extension point, `multiPoint` included; a plugin is
//! enabled or disabled as a whole, `disabled: [{name: "*"}]` clears the
//! defaults, `enabled[].weight` sets a score weight); `pluginConfig` args of
//! `NodeResourcesFit` (`scoringStrategy`: `LeastAllocated`, `MostAllocated`,
//! `RequestedToCapacityRatio` with `resources` and `shape`),
//! `NodeResourcesBalancedAllocation` (`resources`) and `InterPodAffinity`
//! (`hardPodAffinityWeight`). Other fields are ignored.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::error::SchedulerError;
use crate::framework::{Plugin, Profile};
use crate::plugins::node_resources_fit::ScoringStrategy;
use crate::plugins::resource_allocation::{ResourceSpec, UtilizationShapePoint};
use crate::plugins::{self, DEFAULT_SCHEDULER_NAME, names};

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid configuration document.
    #[error("parsing the scheduler configuration: {0}")]
    Parse(String),
    /// A profile names an unknown plugin or scoring strategy.
    #[error("profile {profile}: {reason}")]
    Invalid {
        /// The profile's scheduler name.
        profile: String,
        /// What is wrong.
        reason: String,
    },
    /// A profile failed validation.
    #[error(transparent)]
    Profile(#[from] SchedulerError),
}

/// The configuration document.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerConfiguration {
    /// Default `percentageOfNodesToScore` for every profile.
    #[serde(default)]
    pub percentage_of_nodes_to_score: Option<u32>,
    /// The profiles; none means one default profile.
    #[serde(default)]
    pub profiles: Vec<ProfileConfig>,
}

/// One profile.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileConfig {
    /// The `schedulerName` pods select it with.
    #[serde(default)]
    pub scheduler_name: Option<String>,
    /// Overrides the top-level percentage.
    #[serde(default)]
    pub percentage_of_nodes_to_score: Option<u32>,
    /// Plugin sets by extension point.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginSet>,
    /// Plugin arguments.
    #[serde(default)]
    pub plugin_config: Vec<PluginConfig>,
}

/// Enabled and disabled plugins of one extension point.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PluginSet {
    /// Plugins to enable (or re-weight).
    #[serde(default)]
    pub enabled: Vec<PluginRef>,
    /// Plugins to disable (`*`: all defaults).
    #[serde(default)]
    pub disabled: Vec<PluginRef>,
}

/// A plugin by name, with an optional score weight.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PluginRef {
    /// The plugin name.
    pub name: String,
    /// Its score weight.
    #[serde(default)]
    pub weight: Option<i64>,
}

/// Arguments of one plugin.
#[derive(Debug, Clone, Deserialize)]
pub struct PluginConfig {
    /// The plugin name.
    pub name: String,
    /// Its arguments, as in upstream's `*Args` types.
    #[serde(default)]
    pub args: serde_json::Value,
}

impl SchedulerConfiguration {
    /// Reads a YAML or JSON file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses a YAML or JSON document.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))
    }

    /// Builds the profiles (the default profile when none is configured).
    pub fn build_profiles(&self) -> Result<Vec<Profile>, ConfigError> {
        if self.profiles.is_empty() {
            let default = ProfileConfig::default();
            return Ok(vec![default.build(self.percentage_of_nodes_to_score)?]);
        }
        self.profiles
            .iter()
            .map(|p| p.build(self.percentage_of_nodes_to_score))
            .collect()
    }
}

/// The default plugins in upstream's order with upstream's weights.
const DEFAULT_PLUGINS: [(&str, i64); 11] = [
    (names::NODE_UNSCHEDULABLE, 0),
    (names::NODE_NAME, 0),
    (names::TAINT_TOLERATION, 3),
    (names::NODE_AFFINITY, 2),
    (names::NODE_PORTS, 0),
    (names::NODE_RESOURCES_FIT, 1),
    (names::POD_TOPOLOGY_SPREAD, 2),
    (names::INTER_POD_AFFINITY, 2),
    (names::NODE_RESOURCES_BALANCED_ALLOCATION, 1),
    (names::IMAGE_LOCALITY, 1),
    (names::DEFAULT_PREEMPTION, 0),
];

impl ProfileConfig {
    fn name(&self) -> &str {
        self.scheduler_name
            .as_deref()
            .unwrap_or(DEFAULT_SCHEDULER_NAME)
    }

    fn invalid(&self, reason: String) -> ConfigError {
        ConfigError::Invalid {
            profile: self.name().to_owned(),
            reason,
        }
    }

    fn build(&self, default_percentage: Option<u32>) -> Result<Profile, ConfigError> {
        let mut enabled: Vec<(String, i64)> = DEFAULT_PLUGINS
            .iter()
            .map(|(n, w)| ((*n).to_owned(), *w))
            .collect();
        for set in self.plugins.values() {
            for plugin in &set.disabled {
                if plugin.name == "*" {
                    enabled.clear();
                } else {
                    enabled.retain(|(n, _)| *n != plugin.name);
                }
            }
        }
        for set in self.plugins.values() {
            for plugin in &set.enabled {
                let default_weight = DEFAULT_PLUGINS
                    .iter()
                    .find(|(n, _)| *n == plugin.name)
                    .map_or(1, |(_, w)| (*w).max(1));
                let weight = plugin.weight.unwrap_or(default_weight);
                match enabled.iter_mut().find(|(n, _)| *n == plugin.name) {
                    Some(entry) => entry.1 = weight,
                    None => enabled.push((plugin.name.clone(), weight)),
                }
            }
        }
        let mut builder = Profile::builder(self.name());
        if let Some(p) = self.percentage_of_nodes_to_score.or(default_percentage) {
            builder = builder.percentage_of_nodes_to_score(p);
        }
        for (name, weight) in enabled {
            builder = builder.shared_plugin(self.plugin(&name)?, weight);
        }
        Ok(builder.build()?)
    }

    fn args(&self, name: &str) -> Option<&serde_json::Value> {
        self.plugin_config
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.args)
    }

    fn plugin(&self, name: &str) -> Result<Arc<dyn Plugin>, ConfigError> {
        use plugins::*;
        let args = self.args(name);
        Ok(match name {
            names::NODE_UNSCHEDULABLE => Arc::new(node_unschedulable::NodeUnschedulable),
            names::NODE_NAME => Arc::new(node_name::NodeName),
            names::TAINT_TOLERATION => Arc::new(taint_toleration::TaintToleration),
            names::NODE_AFFINITY => Arc::new(node_affinity::NodeAffinity),
            names::NODE_PORTS => Arc::new(node_ports::NodePorts),
            names::NODE_RESOURCES_FIT => Arc::new(node_resources_fit::NodeResourcesFit::new(
                self.scoring_strategy(args)?,
            )),
            names::POD_TOPOLOGY_SPREAD => Arc::new(pod_topology_spread::PodTopologySpread),
            names::INTER_POD_AFFINITY => {
                let weight = args
                    .and_then(|a| a.get("hardPodAffinityWeight"))
                    .and_then(|w| w.as_i64());
                Arc::new(weight.map_or_else(
                    inter_pod_affinity::InterPodAffinity::default,
                    inter_pod_affinity::InterPodAffinity::new,
                ))
            }
            names::NODE_RESOURCES_BALANCED_ALLOCATION => {
                let resources = args
                    .and_then(|a| a.get("resources"))
                    .map(resources)
                    .transpose();
                let resources = resources.map_err(|e| self.invalid(e))?;
                Arc::new(balanced_allocation::BalancedAllocation::new(
                    resources.unwrap_or_else(ResourceSpec::defaults),
                ))
            }
            names::IMAGE_LOCALITY => Arc::new(image_locality::ImageLocality),
            names::DEFAULT_PREEMPTION => Arc::new(default_preemption::DefaultPreemption),
            other => return Err(self.invalid(format!("unknown plugin {other:?}"))),
        })
    }

    fn scoring_strategy(
        &self,
        args: Option<&serde_json::Value>,
    ) -> Result<ScoringStrategy, ConfigError> {
        let Some(strategy) = args.and_then(|a| a.get("scoringStrategy")) else {
            return Ok(ScoringStrategy::default());
        };
        let specs = match strategy.get("resources") {
            Some(r) => resources(r).map_err(|e| self.invalid(e))?,
            None => ResourceSpec::defaults(),
        };
        match strategy
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("LeastAllocated")
        {
            "LeastAllocated" => Ok(ScoringStrategy::LeastAllocated(specs)),
            "MostAllocated" => Ok(ScoringStrategy::MostAllocated(specs)),
            "RequestedToCapacityRatio" => {
                let shape = strategy
                    .pointer("/requestedToCapacityRatio/shape")
                    .and_then(|s| s.as_array())
                    .map(|points| points.iter().map(shape_point).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| {
                        self.invalid("requestedToCapacityRatio.shape is required".into())
                    })?
                    .ok_or_else(|| self.invalid("invalid shape point".into()))?;
                Ok(ScoringStrategy::RequestedToCapacityRatio {
                    resources: specs,
                    shape,
                })
            }
            other => Err(self.invalid(format!("unknown scoring strategy {other:?}"))),
        }
    }
}

fn resources(value: &serde_json::Value) -> Result<Vec<ResourceSpec>, String> {
    let list = value.as_array().ok_or("resources must be a list")?;
    list.iter()
        .map(|r| {
            let name = r
                .get("name")
                .and_then(|n| n.as_str())
                .ok_or("resource name is required")?;
            let weight = r.get("weight").and_then(|w| w.as_i64()).unwrap_or(1);
            Ok(ResourceSpec::new(name, weight))
        })
        .collect()
}

fn shape_point(point: &serde_json::Value) -> Option<UtilizationShapePoint> {
    Some(UtilizationShapePoint {
        utilization: point.get("utilization")?.as_i64()?,
        score: point.get("score")?.as_i64()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_profiles_should_mean_the_default_profile() {
        let profiles = SchedulerConfiguration::default().build_profiles();
        let names: Vec<_> = profiles
            .iter()
            .flatten()
            .map(|p| p.scheduler_name().to_owned())
            .collect();
        assert_eq!(names, vec![DEFAULT_SCHEDULER_NAME.to_owned()]);
    }

    #[test]
    fn yaml_profiles_should_disable_reweight_and_configure_plugins() {
        let yaml = r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
  - schedulerName: bin-packing
    plugins:
      score:
        disabled: [{name: ImageLocality}, {name: NodeResourcesBalancedAllocation}]
        enabled: [{name: NodeResourcesFit, weight: 5}]
    pluginConfig:
      - name: NodeResourcesFit
        args:
          scoringStrategy:
            type: MostAllocated
            resources: [{name: cpu, weight: 1}]
"#;
        let config = SchedulerConfiguration::parse(yaml);
        let profiles = config.as_ref().map(|c| c.build_profiles());
        let Ok(Ok(profiles)) = profiles else {
            panic!("{profiles:?}");
        };
        let profile = &profiles[0];
        assert_eq!(profile.scheduler_name(), "bin-packing");
        assert_eq!(profile.percentage_of_nodes_to_score(), Some(30));
        let names: Vec<_> = profile.plugin_names().collect();
        assert!(!names.contains(&names::IMAGE_LOCALITY));
        let fit = names.iter().position(|n| *n == names::NODE_RESOURCES_FIT);
        assert_eq!(fit.map(|i| profile.weight(i)), Some(5));
    }

    #[test]
    fn unknown_plugins_and_strategies_should_be_rejected() {
        let json = r#"{"profiles":[{"plugins":{"filter":{"enabled":[{"name":"Nope"}]}}}]}"#;
        let err = SchedulerConfiguration::parse(json).and_then(|c| c.build_profiles());
        assert!(matches!(err, Err(ConfigError::Invalid { .. })), "{err:?}");
        let json = r#"{"profiles":[{"pluginConfig":[{"name":"NodeResourcesFit","args":{"scoringStrategy":{"type":"Random"}}}]}]}"#;
        let err = SchedulerConfiguration::parse(json).and_then(|c| c.build_profiles());
        assert!(matches!(err, Err(ConfigError::Invalid { .. })), "{err:?}");
    }
}
