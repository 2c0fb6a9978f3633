use super::*;
use crate::framework::NodeScore;
use crate::testing::{HOSTNAME, PodBuilder, ZONE, label_selector, node, pod, snapshot, term};

/// n1, n2 in zone z1; n3 in zone z2; n4 without a zone label.
fn cluster(pods: Vec<(PodBuilder, &str)>) -> Snapshot {
    snapshot(
        vec![
            node("n1").zone("z1"),
            node("n2").zone("z1"),
            node("n3").zone("z2"),
            node("n4"),
        ],
        pods,
    )
}

/// The Filter reason per node (empty for success), or None when PreFilter skips.
fn filter_all(s: &Snapshot, p: PodBuilder) -> Option<Vec<String>> {
    let p = p.info();
    let mut state = CycleState::new();
    let (_, status) = InterPodAffinity::default().pre_filter(&mut state, &p, s);
    if status.is_skip() {
        return None;
    }
    let reasons = s
        .nodes()
        .iter()
        .map(|n| InterPodAffinity::default().filter(&state, &p, n).message())
        .collect();
    Some(reasons)
}

const AFF: &str = ERR_REASON_AFFINITY_RULES_NOT_MATCH;
const ANTI: &str = ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH;
const EXISTING: &str = ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH;

#[test]
fn pods_without_affinity_in_a_cluster_without_anti_affinity_should_skip() {
    let s = cluster(vec![(pod("db").label("app", "db"), "n1")]);
    assert_eq!(filter_all(&s, pod("p")), None);
}

#[test]
fn required_affinity_should_admit_only_domains_with_matching_pods() {
    let s = cluster(vec![(pod("db").label("app", "db"), "n1")]);
    let p = pod("p").required_affinity(term(ZONE, &[("app", "db")]));
    assert_eq!(
        filter_all(&s, p),
        Some(vec!["".into(), "".into(), AFF.into(), AFF.into()])
    );
}

#[test]
fn first_pod_of_a_self_affine_group_should_be_admitted_where_topology_exists() {
    let s = cluster(vec![]);
    let p = pod("p")
        .label("app", "web")
        .required_affinity(term(ZONE, &[("app", "web")]));
    assert_eq!(
        filter_all(&s, p),
        Some(vec!["".into(), "".into(), "".into(), AFF.into()])
    );
    let not_self = pod("p").required_affinity(term(ZONE, &[("app", "web")]));
    assert_eq!(filter_all(&s, not_self), Some(vec![AFF.to_owned(); 4]));
}

#[test]
fn required_anti_affinity_should_reject_domains_with_matching_pods() {
    let s = cluster(vec![(pod("web").label("app", "web"), "n1")]);
    let p = pod("p").required_anti_affinity(term(HOSTNAME, &[("app", "web")]));
    assert_eq!(
        filter_all(&s, p),
        Some(vec![ANTI.into(), "".into(), "".into(), "".into()])
    );
    let zonal = pod("p").required_anti_affinity(term(ZONE, &[("app", "web")]));
    assert_eq!(
        filter_all(&s, zonal),
        Some(vec![ANTI.into(), ANTI.into(), "".into(), "".into()])
    );
}

#[test]
fn existing_pods_anti_affinity_should_reject_the_incoming_pod_symmetrically() {
    let guard = pod("guard").required_anti_affinity(term(ZONE, &[("app", "web")]));
    let s = cluster(vec![(guard, "n1")]);
    let web = pod("p").label("app", "web");
    assert_eq!(
        filter_all(&s, web),
        Some(vec![EXISTING.into(), EXISTING.into(), "".into(), "".into()])
    );
    // Nothing to enforce for a pod the guard does not select: Filter is skipped.
    assert_eq!(filter_all(&s, pod("p").label("app", "api")), None);
}

#[test]
fn affinity_terms_should_respect_namespaces() {
    let s = cluster(vec![(pod("db").ns("data").label("app", "db"), "n3")]);
    let same_ns = pod("p").required_affinity(term(ZONE, &[("app", "db")]));
    assert_eq!(filter_all(&s, same_ns), Some(vec![AFF.to_owned(); 4]));
    let mut listed = term(ZONE, &[("app", "db")]);
    listed.namespaces = Some(vec!["data".into()]);
    let p = pod("p").required_affinity(listed);
    assert_eq!(
        filter_all(&s, p),
        Some(vec![AFF.into(), AFF.into(), "".into(), AFF.into()])
    );
    let mut all_namespaces = term(ZONE, &[("app", "db")]);
    all_namespaces.namespace_selector = Some(label_selector(&[]));
    let p = pod("p").required_affinity(all_namespaces);
    assert_eq!(
        filter_all(&s, p),
        Some(vec![AFF.into(), AFF.into(), "".into(), AFF.into()])
    );
}

#[test]
fn namespace_selector_should_use_namespace_labels() {
    let mut s = cluster(vec![(pod("db").ns("data").label("app", "db"), "n3")]);
    s.set_namespace_labels("data", [("team".to_owned(), "a".to_owned())].into());
    let mut by_team = term(ZONE, &[("app", "db")]);
    by_team.namespace_selector = Some(label_selector(&[("team", "a")]));
    let p = pod("p").required_affinity(by_team);
    assert_eq!(
        filter_all(&s, p),
        Some(vec![AFF.into(), AFF.into(), "".into(), AFF.into()])
    );
}

fn scores(s: &Snapshot, p: PodBuilder) -> Option<Vec<i64>> {
    let p = p.info();
    let plugin = InterPodAffinity::default();
    let mut state = CycleState::new();
    if plugin.pre_score(&mut state, &p, s, &[]).is_skip() {
        return None;
    }
    let mut scores: Vec<NodeScore> = (0..s.len())
        .map(|i| NodeScore {
            node: i,
            score: plugin.score(&state, &p, s.node(i)).unwrap_or(-999),
        })
        .collect();
    plugin.normalize_score(&state, &p, &mut scores);
    Some(scores.iter().map(|s| s.score).collect())
}

#[test]
fn preferred_terms_of_the_incoming_pod_should_score_domains() {
    let s = cluster(vec![
        (pod("db").label("app", "db"), "n1"),
        (pod("c").label("app", "cache"), "n2"),
    ]);
    let p = pod("p")
        .preferred_affinity(10, term(ZONE, &[("app", "db")]))
        .preferred_anti_affinity(5, term(HOSTNAME, &[("app", "cache")]));
    // raw: n1 10, n2 10-5, n3 0, n4 0 → min-max scaled
    assert_eq!(scores(&s, p), Some(vec![100, 50, 0, 0]));
}

#[test]
fn existing_pods_terms_should_score_the_incoming_pod() {
    let fan = pod("fan").preferred_affinity(20, term(ZONE, &[("app", "web")]));
    let hater = pod("hater").preferred_anti_affinity(10, term(HOSTNAME, &[("app", "web")]));
    let needs = pod("needs").required_affinity(term(HOSTNAME, &[("app", "web")]));
    let s = cluster(vec![(fan, "n3"), (hater, "n2"), (needs, "n1")]);
    // raw: n1 +1 (hard weight), n2 -10, n3 +20, n4 0 → (x+10)*100/30
    assert_eq!(
        scores(&s, pod("p").label("app", "web")),
        Some(vec![36, 0, 100, 33])
    );
    assert_eq!(scores(&s, pod("p").label("app", "api")), None);
}

#[test]
fn clusters_without_affinity_should_skip_scoring() {
    let s = cluster(vec![(pod("a").label("app", "db"), "n1")]);
    assert_eq!(scores(&s, pod("p")), None);
}
