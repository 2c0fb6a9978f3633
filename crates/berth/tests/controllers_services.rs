//! ServiceAccounts, kube-root-ca.crt, Endpoints and EndpointSlices against
//! a real `berth server` with the fake kubelet.

mod controllers_support;

use berth_testkit::{OUTCOME_ANNOTATION, eventually};
use controllers_support::{Cluster, TIMEOUT, from_json};
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Pod, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

fn pod(name: &str, ready: bool, port_name: &str, port: i32) -> Pod {
    let outcome = if ready { "ready" } else { "not-ready" };
    from_json(json!({"metadata": {"name": name, "labels": {"app": "svc"},
            "annotations": {OUTCOME_ANNOTATION: outcome}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
            "ports": [{"name": port_name, "containerPort": port}]}]}}))
}

fn service(name: &str, extra: serde_json::Value) -> Service {
    let mut s = json!({"metadata": {"name": name},
        "spec": {"selector": {"app": "svc"}, "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}});
    if let (Some(spec), Some(extra)) = (s["spec"].as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    from_json(s)
}

#[tokio::test]
async fn every_namespace_gets_a_default_service_account_and_the_root_ca() {
    let c = Cluster::start(0, &[]).await;
    c.namespace("fresh").await;
    let sa: Api<ServiceAccount> = Api::namespaced(c.client.clone(), "fresh");
    eventually("default ServiceAccount", TIMEOUT, || async {
        sa.get_opt("default").await.ok()?
    })
    .await;
    let cm: Api<ConfigMap> = Api::namespaced(c.client.clone(), "fresh");
    let ca = eventually("kube-root-ca.crt", TIMEOUT, || async {
        cm.get_opt("kube-root-ca.crt").await.ok()?
    })
    .await;
    let pem = ca
        .data
        .unwrap_or_default()
        .remove("ca.crt")
        .unwrap_or_default();
    assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");
    sa.delete("default", &DeleteParams::default())
        .await
        .expect("delete");
    eventually("default ServiceAccount recreated", TIMEOUT, || async {
        sa.get_opt("default").await.ok()?
    })
    .await;
    let system: Api<ServiceAccount> = Api::namespaced(c.client.clone(), "kube-system");
    eventually("kube-system has one too", TIMEOUT, || async {
        system.get_opt("default").await.ok()?
    })
    .await;
}

#[tokio::test]
async fn endpoints_and_slices_follow_pod_readiness_and_named_ports() {
    let c = Cluster::start(1, &[]).await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    pods.create(&PostParams::default(), &pod("a", true, "web", 8080))
        .await
        .expect("a");
    pods.create(&PostParams::default(), &pod("b", false, "web", 9090))
        .await
        .expect("b");
    let services: Api<Service> = Api::namespaced(c.client.clone(), "default");
    services
        .create(&PostParams::default(), &service("web", json!({})))
        .await
        .expect("svc");
    let eps: Api<Endpoints> = Api::namespaced(c.client.clone(), "default");
    let e = eventually(
        "endpoints with a ready and a not-ready pod",
        TIMEOUT,
        || async {
            let e = eps.get_opt("web").await.ok()??;
            let subsets = e.subsets.clone()?;
            let ready: usize = subsets
                .iter()
                .map(|s| s.addresses.as_ref().map_or(0, Vec::len))
                .sum();
            let not_ready: usize = subsets
                .iter()
                .map(|s| s.not_ready_addresses.as_ref().map_or(0, Vec::len))
                .sum();
            (ready == 1 && not_ready == 1).then_some(subsets)
        },
    )
    .await;
    let ports: Vec<i32> = e
        .iter()
        .flat_map(|s| s.ports.clone().unwrap_or_default())
        .map(|p| p.port)
        .collect();
    assert!(
        ports.contains(&8080) && ports.contains(&9090),
        "named targetPort resolved per pod: {ports:?}"
    );
    let slices: Api<EndpointSlice> = Api::namespaced(c.client.clone(), "default");
    let lp = ListParams::default().labels("kubernetes.io/service-name=web");
    let s = eventually("endpoint slices", TIMEOUT, || async {
        let items = slices.list(&lp).await.ok()?.items;
        let n: usize = items.iter().map(|s| s.endpoints.len()).sum();
        (n == 2).then_some(items)
    })
    .await;
    assert!(s.iter().all(|s| {
        s.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("endpointslice.kubernetes.io/managed-by"))
            == Some(&"endpointslice-controller.k8s.io".to_string())
    }));
    let ready: Vec<bool> = s
        .iter()
        .flat_map(|s| &s.endpoints)
        .filter_map(|e| e.conditions.as_ref()?.ready)
        .collect();
    assert_eq!(ready.iter().filter(|r| **r).count(), 1, "{ready:?}");
    pods.delete("a", &DeleteParams::default())
        .await
        .expect("delete a");
    eventually("endpoints drop the deleted pod", TIMEOUT, || async {
        let subsets = eps.get("web").await.ok()?.subsets.unwrap_or_default();
        let ready: usize = subsets
            .iter()
            .map(|s| s.addresses.as_ref().map_or(0, Vec::len))
            .sum();
        (ready == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn publish_not_ready_addresses_lists_unready_pods_as_ready_and_slices_hold_at_most_100() {
    let c = Cluster::start(2, &[]).await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    for i in 0..130 {
        pods.create(
            &PostParams::default(),
            &pod(&format!("p{i}"), false, "web", 8080),
        )
        .await
        .expect("pod");
    }
    let services: Api<Service> = Api::namespaced(c.client.clone(), "default");
    let headless = json!({"clusterIP": "None", "publishNotReadyAddresses": true});
    services
        .create(&PostParams::default(), &service("all", headless))
        .await
        .expect("svc");
    let slices: Api<EndpointSlice> = Api::namespaced(c.client.clone(), "default");
    let lp = ListParams::default().labels("kubernetes.io/service-name=all");
    let items = eventually("130 endpoints in slices", TIMEOUT, || async {
        let items = slices.list(&lp).await.ok()?.items;
        let n: usize = items.iter().map(|s| s.endpoints.len()).sum();
        (n == 130).then_some(items)
    })
    .await;
    assert!(
        items.len() >= 2 && items.iter().all(|s| s.endpoints.len() <= 100),
        "{}",
        items.len()
    );
    let eps: Api<Endpoints> = Api::namespaced(c.client.clone(), "default");
    let e = eps.get("all").await.expect("endpoints");
    let ready: usize = e
        .subsets
        .unwrap_or_default()
        .iter()
        .map(|s| s.addresses.as_ref().map_or(0, Vec::len))
        .sum();
    assert_eq!(ready, 130);
    assert!(
        e.metadata
            .labels
            .unwrap_or_default()
            .contains_key("service.kubernetes.io/headless")
    );
}
