use super::*;
use crate::testing::{PodBuilder, node, pod};

fn filter(p: PodBuilder, n: &NodeInfo) -> Status {
    NodeResourcesFit::default().filter(&CycleState::new(), &p.info(), n)
}

fn node_with(cpu: &str, mem: &str, pods: Vec<PodBuilder>) -> NodeInfo {
    let mut n = node("n1")
        .cap(cpu, mem)
        .alloc("example.com/gpu", "1")
        .info();
    for p in pods {
        n.add_pod(p.info());
    }
    n
}

#[test]
fn filter_should_report_every_insufficient_resource() {
    let n = node_with("2", "2Gi", vec![pod("used").req("1500m", "1Gi")]);
    let cases: Vec<(&str, PodBuilder, Code, Vec<&str>)> = vec![
        ("fits", pod("p").req("500m", "1Gi"), Code::Success, vec![]),
        ("no requests", pod("p").container(), Code::Success, vec![]),
        (
            "too much cpu",
            pod("p").req("501m", "1Gi"),
            Code::Unschedulable,
            vec!["Insufficient cpu"],
        ),
        (
            "cpu and memory",
            pod("p").req("1", "2Gi"),
            Code::Unschedulable,
            vec!["Insufficient cpu", "Insufficient memory"],
        ),
        (
            "more than the node has",
            pod("p").req("3", ""),
            Code::UnschedulableAndUnresolvable,
            vec!["Insufficient cpu"],
        ),
        (
            "extended resource",
            pod("p").ext_req("example.com/gpu", "2"),
            Code::UnschedulableAndUnresolvable,
            vec!["Insufficient example.com/gpu"],
        ),
        (
            "unknown extended resource",
            pod("p").ext_req("example.com/fpga", "1"),
            Code::UnschedulableAndUnresolvable,
            vec!["Insufficient example.com/fpga"],
        ),
    ];
    for (name, p, code, reasons) in cases {
        let status = filter(p, &n);
        assert_eq!(status.code(), code, "{name}");
        assert_eq!(status.reasons(), reasons.as_slice(), "{name}");
    }
}

#[test]
fn init_container_larger_than_free_space_should_not_fit() {
    let n = node_with("2", "2Gi", vec![pod("used").req("1", "")]);
    let status = filter(pod("p").req("100m", "").init("1500m", ""), &n);
    assert_eq!(status.reasons(), ["Insufficient cpu"]);
}

#[test]
fn sidecar_requests_should_count_alongside_app_containers() {
    let n = node_with("2", "2Gi", vec![pod("used").req("1", "")]);
    assert!(filter(pod("p").req("600m", ""), &n).is_success());
    let status = filter(pod("p").req("600m", "").sidecar("500m", ""), &n);
    assert_eq!(status.reasons(), ["Insufficient cpu"]);
}

#[test]
fn pod_overhead_should_count_against_the_node() {
    let n = node_with("2", "2Gi", vec![]);
    assert!(filter(pod("p").req("1900m", ""), &n).is_success());
    let status = filter(pod("p").req("1900m", "").overhead("200m", ""), &n);
    assert_eq!(status.reasons(), ["Insufficient cpu"]);
}

#[test]
fn a_full_node_should_report_too_many_pods() {
    let mut n = node("n1").cap("4", "8Gi").alloc("pods", "1").info();
    n.add_pod(pod("used").info());
    let status = filter(pod("p").req("5", ""), &n);
    assert_eq!(status.reasons(), ["Too many pods", "Insufficient cpu"]);
    let status = filter(pod("p"), &n);
    assert_eq!(status.reasons(), ["Too many pods"]);
}

fn score(strategy: ScoringStrategy, p: PodBuilder, n: &NodeInfo) -> i64 {
    NodeResourcesFit::new(strategy)
        .score(&CycleState::new(), &p.info(), n)
        .unwrap_or(-1)
}

#[test]
fn scoring_strategies_should_match_hand_computed_scores() {
    // Node 4 CPU / 10000 bytes, 1 CPU / 5000 bytes in use; pod asks 2 CPU / 0 bytes.
    let mut n = node("n1").cap("4", "10000").info();
    n.add_pod(pod("used").req("1", "5000").info());
    let p = || pod("p").req("2", "0");
    // cpu 3000/4000 used → 25, memory 5000/10000 → 50 ⇒ 37
    assert_eq!(score(ScoringStrategy::default(), p(), &n), 37);
    // 75 and 50 ⇒ 62
    assert_eq!(
        score(
            ScoringStrategy::MostAllocated(ResourceSpec::defaults()),
            p(),
            &n
        ),
        62
    );
    let shape = vec![
        UtilizationShapePoint {
            utilization: 0,
            score: 0,
        },
        UtilizationShapePoint {
            utilization: 100,
            score: 10,
        },
    ];
    let ratio = ScoringStrategy::RequestedToCapacityRatio {
        resources: ResourceSpec::defaults(),
        shape,
    };
    assert_eq!(score(ratio, p(), &n), 63);
}

#[test]
fn scoring_should_assume_defaults_for_missing_requests() {
    // No requests: 100m and 200Mi are assumed. 1000m cpu → 90; 2000Mi memory → 90.
    let n = node("n1").cap("1", "2000Mi").info();
    assert_eq!(
        score(ScoringStrategy::default(), pod("p").container(), &n),
        90
    );
}
