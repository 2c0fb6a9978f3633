//! The API server in-process: the real handler (no socket) over a real
//! SQLite store in a temporary directory.

use std::sync::Arc;

use berth_apiserver::authn::UserInfo;
use berth_apiserver::{ApiState, ServerConfig, handle};
use berth_store::sqlite::{SqliteConfig, SqliteStore};
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use serde_json::Value;

pub const JSON: &str = "application/json";

pub struct Fixture {
    pub state: Arc<ApiState>,
    _dir: tempfile::TempDir,
}

pub fn admin() -> Option<UserInfo> {
    Some(UserInfo {
        name: "admin".into(),
        uid: String::new(),
        groups: vec!["system:masters".into()],
    })
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            SqliteStore::open(&dir.path().join("s.db"), SqliteConfig::default()).expect("store");
        let mut config = ServerConfig::new(dir.path().to_path_buf());
        tweak(&mut config);
        let state = Arc::new(ApiState::new(config, Arc::new(store), None));
        state.bootstrap().await.expect("bootstrap");
        Self { state, _dir: dir }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> (u16, Value) {
        self.call_as(admin(), method, path, content_type, body)
            .await
    }

    pub async fn call_as(
        &self,
        user: Option<UserInfo>,
        method: Method,
        path: &str,
        ct: &str,
        body: impl Into<Bytes>,
    ) -> (u16, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", ct)
            .body(Full::new(body.into()))
            .expect("request");
        let resp = handle(self.state.clone(), user, req).await;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn revision(&self) -> i64 {
        self.state.store.current_revision().await.expect("revision")
    }
}
