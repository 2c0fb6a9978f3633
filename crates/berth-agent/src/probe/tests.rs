//! Probe counting, handlers and gating against fakes and local sockets.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use super::*;
use crate::cri::{FakeRuntime, RuntimeService};

fn probe(json: serde_json::Value) -> Probe {
    serde_json::from_value(json).expect("valid probe")
}

#[test]
fn upstream_defaults_apply_to_unset_fields() {
    let s = ProbeSettings::of(&probe(serde_json::json!({"exec": {"command": ["true"]}})));
    assert_eq!(s.period, Duration::from_secs(10));
    assert_eq!(s.timeout, Duration::from_secs(1));
    assert_eq!((s.success_threshold, s.failure_threshold), (1, 3));
    assert_eq!(s.initial_delay, Duration::ZERO);
}

#[test]
fn a_result_flips_only_after_its_threshold_of_consecutive_outcomes() {
    let s = ProbeSettings::of(&probe(
        serde_json::json!({"successThreshold": 2, "failureThreshold": 3}),
    ));
    let mut c = ProbeCounter::new(s, ProbeResult::Success);
    assert!(!c.record(false) && !c.record(false));
    assert!(!c.record(true), "a success resets the failure run");
    assert!(!c.record(false) && !c.record(false));
    assert!(c.record(false));
    assert_eq!(c.result(), ProbeResult::Failure);
    assert!(!c.record(true));
    assert!(c.record(true));
    assert_eq!(c.result(), ProbeResult::Success);
}

async fn http_server(status: &'static str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                .await;
        }
    });
    port
}

fn prober() -> Prober {
    Prober {
        runtime: Arc::new(FakeRuntime::new()),
    }
}

#[tokio::test]
async fn http_get_succeeds_on_2xx_3xx_and_fails_on_4xx_or_no_listener() {
    let c = Container::default();
    for (status, ok) in [
        ("200 OK", true),
        ("302 Found", true),
        ("404 Not Found", false),
    ] {
        let port = http_server(status).await;
        let p = probe(serde_json::json!({"httpGet": {"path": "/healthz", "port": port}}));
        assert_eq!(
            prober().run(&p, &c, "id", "127.0.0.1").await,
            ok,
            "{status}"
        );
    }
    let closed = probe(serde_json::json!({"httpGet": {"port": 1}}));
    assert!(!prober().run(&closed, &c, "id", "127.0.0.1").await);
}

#[tokio::test]
async fn tcp_socket_succeeds_when_the_port_accepts_and_resolves_named_ports() {
    let port = http_server("200 OK").await;
    let c: Container = serde_json::from_value(
        serde_json::json!({"name": "c", "ports": [{"name": "web", "containerPort": port}]}),
    )
    .expect("c");
    let p = probe(serde_json::json!({"tcpSocket": {"port": "web"}}));
    assert!(prober().run(&p, &c, "id", "127.0.0.1").await);
}

#[tokio::test]
async fn exec_probes_run_through_cri_exec_sync() {
    let rt = FakeRuntime::new();
    let sb = rt
        .run_pod_sandbox(&Default::default())
        .await
        .expect("sandbox");
    let config = crate::cri::api::ContainerConfig {
        metadata: Some(crate::cri::api::ContainerMetadata {
            name: "c".into(),
            attempt: 0,
        }),
        ..Default::default()
    };
    let id = rt
        .create_container(&sb, &config, &Default::default())
        .await
        .expect("create");
    let p = probe(serde_json::json!({"exec": {"command": ["cat", "/ready"]}}));
    let prober = Prober {
        runtime: Arc::new(rt.clone()),
    };
    assert!(prober.run(&p, &Container::default(), &id, "").await);
    rt.set_exec_exit("c", 1);
    assert!(!prober.run(&p, &Container::default(), &id, "").await);
}

#[tokio::test(start_paused = true)]
async fn liveness_waits_for_the_startup_probe_to_succeed() {
    let rt = FakeRuntime::new();
    let c: Container = serde_json::from_value(serde_json::json!({"name": "c",
        "startupProbe": {"exec": {"command": ["start"]}, "periodSeconds": 1, "failureThreshold": 30},
        "livenessProbe": {"exec": {"command": ["live"]}, "periodSeconds": 1}})).expect("c");
    let results = Arc::new(Mutex::new(ContainerProbes::default()));
    let target = ProbeTarget {
        prober: Prober {
            runtime: Arc::new(rt.clone()),
        },
        container: c,
        container_id: "missing".into(),
        pod_ip: String::new(),
        results: results.clone(),
        wake: Arc::new(Notify::new()),
    };
    let _tasks = start(target);
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Exec against a missing container fails: startup never succeeds, so
    // liveness never ran and still reads its initial Success.
    assert_eq!(results.lock().startup, ProbeResult::Unknown);
    assert_eq!(results.lock().liveness, ProbeResult::Success);
    let live_calls = rt
        .calls()
        .iter()
        .filter(
            |c| matches!(c, crate::cri::FakeCall::ExecSync(_, cmd) if cmd == &["live".to_string()]),
        )
        .count();
    assert_eq!(live_calls, 0);
}
