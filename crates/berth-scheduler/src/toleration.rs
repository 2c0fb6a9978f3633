//! Taint and toleration matching (`v1helper.ToleratesTaint` semantics).

use k8s_openapi::api::core::v1::{Taint, Toleration};

/// Taint effect that forbids scheduling.
pub const NO_SCHEDULE: &str = "NoSchedule";
/// Taint effect that forbids scheduling and evicts running pods.
pub const NO_EXECUTE: &str = "NoExecute";
/// Taint effect that only discourages scheduling.
pub const PREFER_NO_SCHEDULE: &str = "PreferNoSchedule";

/// True when the toleration tolerates the taint: effects match (or the
/// toleration has none), keys match (or the toleration has none), and with
/// `Equal` (the default) values match, with `Exists` any value does.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or_default();
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or_default();
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or_default() {
        "" | "Equal" => {
            toleration.value.as_deref().unwrap_or_default()
                == taint.value.as_deref().unwrap_or_default()
        }
        "Exists" => true,
        _ => false,
    }
}

/// True when any toleration tolerates the taint.
pub fn any_tolerates(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// The first taint with a NoSchedule or NoExecute effect that no toleration tolerates.
pub fn find_untolerated_hard_taint<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
) -> Option<&'a Taint> {
    taints.iter().find(|taint| {
        (taint.effect == NO_SCHEDULE || taint.effect == NO_EXECUTE)
            && !any_tolerates(tolerations, taint)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{taint, toleration};

    #[test]
    fn tolerations_should_match_as_upstream() {
        let t = taint("dedicated", "gpu", NO_SCHEDULE);
        let cases = [
            (toleration("dedicated", "Equal", "gpu", NO_SCHEDULE), true),
            (toleration("dedicated", "", "gpu", ""), true),
            (toleration("dedicated", "Equal", "cpu", NO_SCHEDULE), false),
            (toleration("dedicated", "Exists", "", ""), true),
            (toleration("", "Exists", "", ""), true),
            (toleration("other", "Exists", "", ""), false),
            (toleration("dedicated", "Exists", "", NO_EXECUTE), false),
            (toleration("dedicated", "Lt", "gpu", ""), false),
        ];
        for (tol, want) in cases {
            let desc = format!("{tol:?}");
            assert_eq!(tolerates(&tol, &t), want, "{desc}");
        }
    }

    #[test]
    fn prefer_no_schedule_taints_should_not_block() {
        let taints = [
            taint("a", "", PREFER_NO_SCHEDULE),
            taint("b", "x", NO_EXECUTE),
        ];
        let found = find_untolerated_hard_taint(&taints, &[]);
        assert_eq!(found.map(|t| t.key.as_str()), Some("b"));
        let tols = [toleration("b", "Exists", "", "")];
        assert!(find_untolerated_hard_taint(&taints, &tols).is_none());
    }
}
