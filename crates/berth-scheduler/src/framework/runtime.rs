//! Running a profile's plugins at each extension point.

use std::time::Duration;

use super::cycle_state::CycleState;
use super::fit_error::NodeToStatus;
use super::plugin::{
    FilterPlugin, MAX_NODE_SCORE, MIN_NODE_SCORE, NodeScore, PostFilterResult, PreFilterResult,
};
use super::profile::Profile;
use super::status::{Code, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

/// The outcome of PreFilter: which nodes remain candidates and which
/// plugins narrowed them.
#[derive(Debug, Clone, Default)]
pub struct PreFilterOutcome {
    /// The merged result.
    pub result: PreFilterResult,
    /// Plugins whose result restricted the nodes.
    pub narrowed_by: Vec<&'static str>,
}

/// Filter plugins to run in one cycle, in order.
pub struct ActiveFilters<'a> {
    plugins: Vec<(&'static str, &'a dyn FilterPlugin)>,
}

impl ActiveFilters<'_> {
    /// Runs them on one node, stopping at the first non-success.
    pub fn run(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        for (name, filter) in &self.plugins {
            let status = filter.filter(state, pod, node);
            if !status.is_success() {
                return status.with_plugin(name);
            }
        }
        Status::success()
    }
}

impl Profile {
    /// Runs PreFilter plugins. A rejection or error comes back as `Err` with
    /// the plugin recorded; Skip marks the plugin's Filter as skipped.
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Result<PreFilterOutcome, Status> {
        let mut outcome = PreFilterOutcome::default();
        for &i in &self.pre_filter {
            let plugin = self.plugin(i);
            let Some(pre_filter) = plugin.as_pre_filter() else {
                continue;
            };
            let (result, status) = pre_filter.pre_filter(state, pod, snapshot);
            if status.is_skip() {
                state.skip_filter(plugin.name());
                continue;
            }
            if !status.is_success() {
                return Err(status.with_plugin(plugin.name()));
            }
            if result.node_names.is_some() {
                outcome.narrowed_by.push(plugin.name());
            }
            outcome.result = std::mem::take(&mut outcome.result).merge(result);
            if outcome
                .result
                .node_names
                .as_ref()
                .is_some_and(|n| n.is_empty())
            {
                return Err(no_common_nodes(&outcome.narrowed_by));
            }
        }
        Ok(outcome)
    }

    /// Runs Filter plugins on one node, stopping at the first non-success.
    pub fn run_filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        self.active_filters(state).run(state, pod, node)
    }

    /// The Filter plugins not skipped by PreFilter, resolved once per cycle
    /// so that filtering many nodes does not re-check skips per node.
    pub fn active_filters(&self, state: &CycleState) -> ActiveFilters<'_> {
        let plugins = self
            .filter
            .iter()
            .map(|&i| self.plugin(i))
            .filter(|p| !state.is_filter_skipped(p.name()))
            .filter_map(|p| Some((p.name(), p.as_filter()?)))
            .collect();
        ActiveFilters { plugins }
    }

    /// Runs PostFilter plugins until one succeeds; otherwise returns the
    /// rejection with every plugin's reasons.
    pub fn run_post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        filtered: &NodeToStatus,
    ) -> (PostFilterResult, Status) {
        let mut reasons = Vec::new();
        for &i in &self.post_filter {
            let plugin = self.plugin(i);
            let Some(post_filter) = plugin.as_post_filter() else {
                continue;
            };
            let (result, status) = post_filter.post_filter(self, state, pod, snapshot, filtered);
            if status.is_success() {
                return (result, status.with_plugin(plugin.name()));
            }
            if !status.is_rejected() {
                return (
                    PostFilterResult::default(),
                    status.with_plugin(plugin.name()),
                );
            }
            reasons.extend(status.reasons().iter().cloned());
        }
        (
            PostFilterResult::default(),
            Status::with_reasons(Code::Unschedulable, reasons),
        )
    }

    /// Tells PreFilter extensions that `other` was added to (`delta` 1) or
    /// removed from (-1) `node`.
    pub fn run_update_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &PodInfo,
        node: &NodeInfo,
        snapshot: &Snapshot,
        delta: i64,
    ) -> Status {
        for &i in &self.pre_filter {
            let plugin = self.plugin(i);
            if state.is_filter_skipped(plugin.name()) {
                continue;
            }
            let Some(ext) = plugin.as_pre_filter_extensions() else {
                continue;
            };
            let status = ext.update_pod(state, pod, other, node, snapshot, delta);
            if !status.is_success() {
                return status.with_plugin(plugin.name());
            }
        }
        Status::success()
    }

    /// True when the profile has PostFilter plugins.
    pub fn has_post_filter(&self) -> bool {
        !self.post_filter.is_empty()
    }

    /// Runs PreScore plugins; Skip marks the plugin's Score as skipped.
    pub fn run_pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        feasible: &[usize],
    ) -> Result<(), Status> {
        for &i in &self.pre_score {
            let plugin = self.plugin(i);
            let Some(pre_score) = plugin.as_pre_score() else {
                continue;
            };
            let status = pre_score.pre_score(state, pod, snapshot, feasible);
            if status.is_skip() {
                state.skip_score(plugin.name());
            } else if !status.is_success() {
                return Err(status.with_plugin(plugin.name()));
            }
        }
        Ok(())
    }

    /// Scores the feasible nodes: raw score, normalization, range check, then
    /// the weighted sum per node (same order as `feasible`).
    pub fn run_score(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        feasible: &[usize],
    ) -> Result<Vec<i64>, Status> {
        let mut totals = vec![0i64; feasible.len()];
        let mut scores: Vec<NodeScore> = Vec::with_capacity(feasible.len());
        for &i in &self.score {
            let plugin = self.plugin(i);
            if state.is_score_skipped(plugin.name()) {
                continue;
            }
            let Some(scorer) = plugin.as_score() else {
                continue;
            };
            scores.clear();
            for &node in feasible {
                let score = scorer
                    .score(state, pod, snapshot.node(node))
                    .map_err(|s| s.with_plugin(plugin.name()))?;
                scores.push(NodeScore { node, score });
            }
            let status = scorer.normalize_score(state, pod, &mut scores);
            if !status.is_success() {
                return Err(status.with_plugin(plugin.name()));
            }
            let weight = self.weight(i);
            for (total, s) in totals.iter_mut().zip(&scores) {
                if !(MIN_NODE_SCORE..=MAX_NODE_SCORE).contains(&s.score) {
                    return Err(Status::error(format!(
                        "plugin {} returns an invalid score {}, it should be in the range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing",
                        plugin.name(),
                        s.score
                    ))
                    .with_plugin(plugin.name()));
                }
                *total += s.score * weight;
            }
        }
        Ok(totals)
    }

    /// Runs Reserve plugins; on failure the caller must run [`Profile::run_unreserve`].
    pub fn run_reserve(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str) -> Status {
        for &i in &self.reserve {
            let plugin = self.plugin(i);
            if let Some(reserve) = plugin.as_reserve() {
                let status = reserve.reserve(state, pod, node_name);
                if !status.is_success() {
                    return status.with_plugin(plugin.name());
                }
            }
        }
        Status::success()
    }

    /// Runs every Reserve plugin's Unreserve, in reverse order.
    pub fn run_unreserve(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str) {
        for &i in self.reserve.iter().rev() {
            if let Some(reserve) = self.plugin(i).as_reserve() {
                reserve.unreserve(state, pod, node_name);
            }
        }
    }

    /// Runs Permit plugins: the first rejection wins; otherwise `Wait` with
    /// the shortest requested timeout if any plugin waits, else success.
    pub fn run_permit(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node_name: &str,
    ) -> (Status, Duration) {
        let mut wait: Option<Duration> = None;
        for &i in &self.permit {
            let plugin = self.plugin(i);
            let Some(permit) = plugin.as_permit() else {
                continue;
            };
            let (status, timeout) = permit.permit(state, pod, node_name);
            match status.code() {
                Code::Success => {}
                Code::Wait => wait = Some(wait.map_or(timeout, |w| w.min(timeout))),
                _ => return (status.with_plugin(plugin.name()), Duration::ZERO),
            }
        }
        match wait {
            Some(timeout) => (Status::of(Code::Wait), timeout),
            None => (Status::success(), Duration::ZERO),
        }
    }

    /// Runs Bind plugins until one does not Skip.
    pub fn run_bind(&self, state: &CycleState, pod: &PodInfo, node_name: &str) -> Status {
        for &i in &self.bind {
            let plugin = self.plugin(i);
            if let Some(bind) = plugin.as_bind() {
                let status = bind.bind(state, pod, node_name);
                if !status.is_skip() {
                    return status.with_plugin(plugin.name());
                }
            }
        }
        Status::skip()
    }
}

fn no_common_nodes(plugins: &[&'static str]) -> Status {
    let message = match plugins {
        [one] => format!("node(s) didn't satisfy plugin {one}"),
        many => {
            let mut sorted = many.to_vec();
            sorted.sort_unstable();
            format!(
                "node(s) didn't satisfy plugin(s) [{}] simultaneously",
                sorted.join(" ")
            )
        }
    };
    Status::new(Code::Unschedulable, message)
}
