//! Authentication over real HTTPS: the admin client certificate, static
//! bearer tokens from --token-auth-file, and 401 for everything else except
//! health and version.

use std::path::Path;

use berth_testkit::{Kubectl, TestServer};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};

fn kubeconfig_with_token(admin_kubeconfig: &Path, token: &str) -> String {
    let admin = std::fs::read_to_string(admin_kubeconfig).expect("admin kubeconfig");
    let ca = admin
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
        .expect("CA in kubeconfig");
    let server = admin
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("server");
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: c\ncontexts:\n- context:\n    cluster: c\n    user: u\n  name: c\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: {token}\n"
    )
}

#[test]
fn bearer_tokens_from_the_token_file_authenticate_and_others_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "s3cr3t,alice,1001,\"dev,ops\"\n").expect("token file");
    let server = TestServer::start_with(
        Path::new(env!("CARGO_BIN_EXE_berth")),
        &["--token-auth-file", tokens.to_str().expect("utf8")],
    )
    .expect("server starts");

    let good = dir.path().join("good.kubeconfig");
    std::fs::write(&good, kubeconfig_with_token(&server.kubeconfig(), "s3cr3t")).expect("write");
    let out = Kubectl::new(&good)
        .run(&["get", "namespaces", "-o", "name"])
        .ok();
    assert!(out.lines().any(|l| l == "namespace/default"), "{out}");

    let bad = dir.path().join("bad.kubeconfig");
    std::fs::write(&bad, kubeconfig_with_token(&server.kubeconfig(), "wrong")).expect("write");
    let err = Kubectl::new(&bad).run(&["get", "namespaces"]).err();
    assert!(
        err.contains("Unauthorized") || err.contains("provide credentials"),
        "{err}"
    );
}

#[tokio::test]
async fn the_admin_certificate_authenticates_and_anonymous_requests_get_401() {
    let server = TestServer::start(Path::new(env!("CARGO_BIN_EXE_berth"))).expect("server starts");
    let client = server.client().await.expect("client");
    let list = Api::<Namespace>::all(client)
        .list(&ListParams::default())
        .await
        .expect("admin lists");
    assert!(list.items.len() >= 4);

    let kc = kube::config::Kubeconfig::read_from(server.kubeconfig()).expect("kubeconfig");
    let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    config.auth_info = Default::default();
    let anonymous = kube::Client::try_from(config).expect("client");
    match Api::<Namespace>::all(anonymous.clone())
        .list(&ListParams::default())
        .await
    {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (401, "Unauthorized")),
        other => panic!("anonymous list was not refused: {other:?}"),
    }
    assert!(
        anonymous.apiserver_version().await.is_ok(),
        "/version is public"
    );
}
