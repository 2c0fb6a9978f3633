//! The scheduling framework: extension points, cycle state, statuses,
//! profiles and the scheduling cycle, after upstream's `pkg/scheduler/framework`.

mod cycle_state;
mod events;
mod fit_error;
mod plugin;
mod profile;
mod runtime;
mod schedule;
mod status;

pub use cycle_state::CycleState;
pub use events::{ActionType, ClusterEvent, EventResource, node_update_actions};
pub use fit_error::{Diagnosis, FitError, NodeToStatus};
pub use plugin::{
    BindPlugin, FilterPlugin, MAX_NODE_SCORE, MIN_NODE_SCORE, NodeScore, PermitPlugin, Plugin,
    PostFilterPlugin, PostFilterResult, PreFilterExtensions, PreFilterPlugin, PreFilterResult,
    PreScorePlugin, ReservePlugin, ScorePlugin,
};
pub use profile::{Profile, ProfileBuilder};
pub use runtime::{ActiveFilters, PreFilterOutcome};
pub use schedule::{ScheduleError, ScheduleResult, Scheduler, num_feasible_nodes_to_find};
pub use status::{Code, Status};

/// Rescales scores to `[0, max]` relative to the highest one, optionally
/// reversed (upstream's `helper.DefaultNormalizeScore`).
pub fn default_normalize_score(max: i64, reverse: bool, scores: &mut [NodeScore]) {
    let highest = scores.iter().map(|s| s.score).max().unwrap_or(0);
    if highest == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| s.score = max);
        }
        return;
    }
    for s in scores.iter_mut() {
        let scaled = max * s.score / highest;
        s.score = if reverse { max - scaled } else { scaled };
    }
}

#[cfg(test)]
mod tests;
