//! `Profile`: a scheduler name with its enabled plugins and score weights.

use std::sync::Arc;

use super::events::ClusterEvent;
use super::plugin::Plugin;
use crate::error::SchedulerError;

/// The enabled plugins of one scheduler profile (`schedulerName`).
/// Invariant: plugin names are unique and every Score plugin has a weight ≥ 1;
/// the per-extension-point lists hold indexes into `plugins`, in the order the
/// plugins were added (which is the order they run).
pub struct Profile {
    scheduler_name: String,
    plugins: Vec<Arc<dyn Plugin>>,
    weights: Vec<i64>,
    pub(super) pre_filter: Vec<usize>,
    pub(super) filter: Vec<usize>,
    pub(super) post_filter: Vec<usize>,
    pub(super) pre_score: Vec<usize>,
    pub(super) score: Vec<usize>,
    pub(super) reserve: Vec<usize>,
    pub(super) permit: Vec<usize>,
    pub(super) bind: Vec<usize>,
    percentage_of_nodes_to_score: Option<u32>,
}

impl Profile {
    /// Score plugins in order, with their weights.
    pub fn score_plugins(&self) -> impl Iterator<Item = (&dyn Plugin, i64)> + '_ {
        self.score.iter().map(|&i| (self.plugin(i), self.weight(i)))
    }

    /// Starts a profile for `scheduler_name`.
    pub fn builder(scheduler_name: &str) -> ProfileBuilder {
        ProfileBuilder {
            scheduler_name: scheduler_name.to_owned(),
            entries: Vec::new(),
            percentage_of_nodes_to_score: None,
        }
    }

    /// The `schedulerName` pods select this profile with.
    pub fn scheduler_name(&self) -> &str {
        &self.scheduler_name
    }

    /// The plugin at `index`.
    pub fn plugin(&self, index: usize) -> &dyn Plugin {
        self.plugins[index].as_ref()
    }

    /// The score weight of the plugin at `index`.
    pub fn weight(&self, index: usize) -> i64 {
        self.weights[index]
    }

    /// Names of all enabled plugins.
    pub fn plugin_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.plugins.iter().map(|p| p.name())
    }

    /// `percentageOfNodesToScore` for this profile (None: adaptive).
    pub fn percentage_of_nodes_to_score(&self) -> Option<u32> {
        self.percentage_of_nodes_to_score
    }

    /// Cluster events each plugin registered, by plugin name.
    pub fn events_to_register(&self) -> Vec<(&'static str, Vec<ClusterEvent>)> {
        self.plugins
            .iter()
            .map(|p| (p.name(), p.events_to_register()))
            .collect()
    }
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("scheduler_name", &self.scheduler_name)
            .field("plugins", &self.plugin_names().collect::<Vec<_>>())
            .field("weights", &self.weights)
            .finish()
    }
}

/// Builds a [`Profile`]; each added plugin is enabled at every extension
/// point it implements.
pub struct ProfileBuilder {
    scheduler_name: String,
    entries: Vec<(Arc<dyn Plugin>, i64)>,
    percentage_of_nodes_to_score: Option<u32>,
}

impl ProfileBuilder {
    /// Enables a plugin with a score weight (ignored when it does not score).
    pub fn plugin(mut self, plugin: impl Plugin + 'static, weight: i64) -> Self {
        self.entries.push((Arc::new(plugin), weight));
        self
    }

    /// Enables a shared plugin instance.
    pub fn shared_plugin(mut self, plugin: Arc<dyn Plugin>, weight: i64) -> Self {
        self.entries.push((plugin, weight));
        self
    }

    /// Removes a plugin by name (to customise a default profile).
    pub fn without(mut self, name: &str) -> Self {
        self.entries.retain(|(p, _)| p.name() != name);
        self
    }

    /// Sets `percentageOfNodesToScore` (0 or unset: adaptive).
    pub fn percentage_of_nodes_to_score(mut self, percentage: u32) -> Self {
        self.percentage_of_nodes_to_score = (percentage > 0).then_some(percentage);
        self
    }

    /// Validates and builds the profile.
    pub fn build(self) -> Result<Profile, SchedulerError> {
        let invalid = |reason: String| SchedulerError::InvalidProfile {
            profile: self.scheduler_name.clone(),
            reason,
        };
        if self.percentage_of_nodes_to_score.is_some_and(|p| p > 100) {
            return Err(invalid(
                "percentageOfNodesToScore must be at most 100".into(),
            ));
        }
        let mut profile = Profile {
            scheduler_name: self.scheduler_name.clone(),
            plugins: Vec::new(),
            weights: Vec::new(),
            pre_filter: Vec::new(),
            filter: Vec::new(),
            post_filter: Vec::new(),
            pre_score: Vec::new(),
            score: Vec::new(),
            reserve: Vec::new(),
            permit: Vec::new(),
            bind: Vec::new(),
            percentage_of_nodes_to_score: self.percentage_of_nodes_to_score,
        };
        for (i, (plugin, weight)) in self.entries.iter().enumerate() {
            let name = plugin.name();
            if profile.plugins.iter().any(|p| p.name() == name) {
                return Err(invalid(format!("plugin {name} is enabled twice")));
            }
            if plugin.as_score().is_some() && *weight < 1 {
                return Err(invalid(format!("score plugin {name} needs a weight >= 1")));
            }
            let points: [(&mut Vec<usize>, bool); 8] = [
                (&mut profile.pre_filter, plugin.as_pre_filter().is_some()),
                (&mut profile.filter, plugin.as_filter().is_some()),
                (&mut profile.post_filter, plugin.as_post_filter().is_some()),
                (&mut profile.pre_score, plugin.as_pre_score().is_some()),
                (&mut profile.score, plugin.as_score().is_some()),
                (&mut profile.reserve, plugin.as_reserve().is_some()),
                (&mut profile.permit, plugin.as_permit().is_some()),
                (&mut profile.bind, plugin.as_bind().is_some()),
            ];
            for (list, implemented) in points {
                if implemented {
                    list.push(i);
                }
            }
            profile.plugins.push(Arc::clone(plugin));
            profile.weights.push(*weight);
        }
        Ok(profile)
    }
}
