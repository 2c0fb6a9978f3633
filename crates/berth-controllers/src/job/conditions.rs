//! Job conditions with upstream's types, reasons and messages, and the
//! rule for setting one (a transition time only when the status changes).

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub const COMPLETE: &str = "Complete";
pub const FAILED: &str = "Failed";
pub const FAILURE_TARGET: &str = "FailureTarget";
pub const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
pub const SUSPENDED: &str = "Suspended";

/// Why a Job is finishing, as its interim and terminal conditions say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finish {
    /// Complete (after SuccessCriteriaMet) or Failed (after FailureTarget).
    pub success: bool,
    pub reason: String,
    pub message: String,
}

impl Finish {
    pub fn failure(reason: &str, message: impl Into<String>) -> Self {
        Self {
            success: false,
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// Reached `completions` (or, without completions, a pod succeeded).
    pub fn completions_reached() -> Self {
        Self {
            success: true,
            reason: "CompletionsReached".into(),
            message: "Reached expected number of succeeded pods".into(),
        }
    }

    /// The interim condition type, set while pods are still terminating.
    pub fn interim_type(&self) -> &'static str {
        if self.success {
            SUCCESS_CRITERIA_MET
        } else {
            FAILURE_TARGET
        }
    }

    /// The terminal condition type.
    pub fn terminal_type(&self) -> &'static str {
        if self.success { COMPLETE } else { FAILED }
    }
}

/// The condition of this type whose status is True.
pub fn true_condition<'a>(job: &'a Job, type_: &str) -> Option<&'a JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_ && c.status == "True")
}

/// Complete or Failed: nothing left to do but clean up.
pub fn is_finished(job: &Job) -> bool {
    true_condition(job, COMPLETE).is_some() || true_condition(job, FAILED).is_some()
}

/// The Finish an interim condition already in the status records.
pub fn recorded_finish(job: &Job) -> Option<Finish> {
    [(SUCCESS_CRITERIA_MET, true), (FAILURE_TARGET, false)]
        .into_iter()
        .find_map(|(type_, success)| {
            let c = true_condition(job, type_)?;
            Some(Finish {
                success,
                reason: c.reason.clone().unwrap_or_default(),
                message: c.message.clone().unwrap_or_default(),
            })
        })
}

/// When the Job finished (its terminal condition's transition time).
pub fn finished_at(job: &Job) -> Option<Timestamp> {
    [COMPLETE, FAILED].into_iter().find_map(|t| {
        let c = true_condition(job, t)?;
        Some(
            c.last_transition_time
                .as_ref()
                .map_or(Timestamp::UNIX_EPOCH, |t| t.0),
        )
    })
}

/// Upstream's ensureJobConditionStatus: sets the condition (adding it only
/// if `status` is True); true when anything changed.
pub fn ensure(
    conditions: &mut Vec<JobCondition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> bool {
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        if c.status == status
            && c.reason.as_deref() == Some(reason)
            && c.message.as_deref() == Some(message)
        {
            return false;
        }
        if c.status != status {
            c.last_transition_time = Some(Time(now));
        }
        c.status = status.into();
        c.reason = Some(reason.into());
        c.message = Some(message.into());
        c.last_probe_time = Some(Time(now));
        return true;
    }
    if status != "True" {
        return false;
    }
    conditions.push(JobCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_adds_only_true_conditions_and_keeps_transition_time_on_same_status() {
        let t0 = Timestamp::UNIX_EPOCH;
        let t1 = Timestamp::from_second(60).expect("t1");
        let mut c = Vec::new();
        assert!(!ensure(
            &mut c,
            SUSPENDED,
            "False",
            "JobResumed",
            "Job resumed",
            t0
        ));
        assert!(ensure(
            &mut c,
            SUSPENDED,
            "True",
            "JobSuspended",
            "Job suspended",
            t0
        ));
        assert!(!ensure(
            &mut c,
            SUSPENDED,
            "True",
            "JobSuspended",
            "Job suspended",
            t1
        ));
        assert!(ensure(
            &mut c,
            SUSPENDED,
            "False",
            "JobResumed",
            "Job resumed",
            t1
        ));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].last_transition_time, Some(Time(t1)));
    }
}
