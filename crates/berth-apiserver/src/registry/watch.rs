//! Watch: a stream of ADDED/MODIFIED/DELETED/BOOKMARK/ERROR events as
//! upstream sends them (one JSON object per line).
//!
//! States of one watch: optional initial events (a list at the latest
//! revision, for `resourceVersion` "" or "0" or `sendInitialEvents=true`),
//! then live events from the store after the start revision, until the
//! client goes away, `timeoutSeconds` passes or the store ends the stream.

use std::sync::Arc;
use std::time::Duration;

use berth_store::{Event, EventKind, ListOptions, StoreError};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Ctx;
use super::list::Selectors;
use crate::error::{ApiError, ApiResult};
use crate::object;
use crate::resources::Resource;
use crate::state::ApiState;
use crate::table::{self, TableRequest};

/// How a watch was asked for.
struct WatchParams {
    resource_version: String,
    bookmarks: bool,
    send_initial_events: Option<bool>,
    timeout: Duration,
}

impl WatchParams {
    fn parse(ctx: &Ctx<'_>) -> ApiResult<Self> {
        let q = ctx.query;
        let send_initial_events = match q.get("sendInitialEvents") {
            None | Some("") => None,
            Some(_) => Some(q.flag("sendInitialEvents")?),
        };
        if send_initial_events.is_some() && q.get("resourceVersionMatch") != Some("NotOlderThan") {
            return Err(ApiError::Invalid {
                kind: "ListOptions".into(),
                target: ctx.target(""),
                errors: vec![berth_api::FieldError {
                    kind: berth_api::FieldErrorType::Forbidden,
                    field: "sendInitialEvents".into(),
                    value: None,
                    detail: "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan".into(),
                }],
            });
        }
        let default_timeout = ctx.state.config.min_request_timeout;
        let timeout = match q.int("timeoutSeconds")? {
            Some(t) if t > 0 => Duration::from_secs(t as u64),
            _ => default_timeout,
        };
        Ok(Self {
            resource_version: q.str_or_empty("resourceVersion").to_string(),
            bookmarks: q.flag("allowWatchBookmarks")?,
            send_initial_events,
            timeout,
        })
    }

    fn initial_events(&self) -> bool {
        self.send_initial_events
            .unwrap_or(self.resource_version.is_empty() || self.resource_version == "0")
    }
}

/// Everything the streaming task owns.
struct Watcher {
    state: Arc<ApiState>,
    res: Arc<Resource>,
    selectors: Selectors,
    table: Option<TableRequest>,
    sent_columns: bool,
    last_revision: i64,
    tx: mpsc::Sender<Bytes>,
}

pub type WatchReceiver = mpsc::Receiver<Bytes>;

/// Starts a watch; the receiver yields the response body's chunks.
pub async fn watch(ctx: &Ctx<'_>, table: Option<TableRequest>) -> ApiResult<WatchReceiver> {
    let params = WatchParams::parse(ctx)?;
    let selectors = Selectors::parse(ctx)?;
    let start = match params.resource_version.as_str() {
        "" | "0" => None,
        rv => Some(rv.parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!(
                "resourceVersion: Invalid value: \"{rv}\": must be a number"
            ))
        })?),
    };
    let (tx, rx) = mpsc::channel(256);
    let watcher = Watcher {
        state: ctx.state.clone(),
        res: ctx.res.clone(),
        selectors,
        table,
        sent_columns: false,
        last_revision: start.unwrap_or(0),
        tx,
    };
    let prefix = ctx.res.prefix(ctx.namespace());
    tokio::spawn(async move {
        let state = watcher.state.clone();
        state.metrics.watch_started();
        let _ = tokio::time::timeout(params.timeout, watcher.run(prefix, params, start)).await;
        state.metrics.watch_ended();
    });
    Ok(rx)
}

impl Watcher {
    async fn run(mut self, prefix: String, params: WatchParams, start: Option<i64>) {
        let mut from = start.unwrap_or(0);
        if params.initial_events() {
            match self.send_initial(&prefix).await {
                Ok(rev) => from = rev,
                Err(()) => return,
            }
            if params.send_initial_events == Some(true) {
                let end = self.bookmark(true);
                if self.tx.send(end).await.is_err() {
                    return;
                }
            }
        }
        let mut events = match self.state.store.watch(&prefix, from).await {
            Ok(s) => s,
            Err(e) => return self.send_error(e).await,
        };
        let interval = self.state.config.bookmark_interval;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            tokio::select! {
                next = events.next() => match next {
                    Some(Ok(ev)) => {
                        if !self.send_event(&ev).await {
                            return;
                        }
                    }
                    Some(Err(e)) => return self.send_error(e).await,
                    None => return,
                },
                _ = ticker.tick(), if params.bookmarks => {
                    let b = self.bookmark(false);
                    if self.tx.send(b).await.is_err() {
                        return;
                    }
                }
                _ = self.tx.closed() => return,
            }
        }
    }

    /// Sends ADDED for every current object; returns the list revision.
    async fn send_initial(&mut self, prefix: &str) -> Result<i64, ()> {
        let page = match self.state.store.list(prefix, ListOptions::default()).await {
            Ok(p) => p,
            Err(e) => {
                self.send_error(e).await;
                return Err(());
            }
        };
        for kv in &page.items {
            if self.selectors.matches_in(&self.res, &kv.value) {
                let frame = self.frame("ADDED", &kv.value, kv.mod_revision);
                if self.tx.send(frame).await.is_err() {
                    return Err(());
                }
            }
        }
        self.last_revision = page.revision;
        Ok(page.revision)
    }

    /// Sends one store event as the watcher sees it through its selectors;
    /// false when the client has gone.
    async fn send_event(&mut self, ev: &Event) -> bool {
        let now = self.selectors.matches_in(&self.res, &ev.kv.value);
        let before = ev
            .prev
            .as_ref()
            .is_some_and(|p| self.selectors.matches_in(&self.res, &p.value));
        let kind = match ev.kind {
            EventKind::Create if now => "ADDED",
            EventKind::Update if now && before => "MODIFIED",
            EventKind::Update if now => "ADDED",
            EventKind::Update if before => "DELETED",
            EventKind::Delete if now => "DELETED",
            _ => {
                self.last_revision = ev.revision();
                return true;
            }
        };
        self.last_revision = ev.revision();
        let frame = self.frame(kind, &ev.kv.value, ev.revision());
        self.tx.send(frame).await.is_ok()
    }

    fn frame(&mut self, kind: &str, stored: &[u8], revision: i64) -> Bytes {
        let mut out = Vec::with_capacity(stored.len() + 48);
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\",\"object\":");
        match self.table {
            Some(t) => {
                let mut kv_obj: Value = serde_json::from_slice(stored).unwrap_or(Value::Null);
                object::set_str(
                    &mut kv_obj,
                    &["metadata", "resourceVersion"],
                    &revision.to_string(),
                );
                let meta = json!({"resourceVersion": revision.to_string()});
                let mut tbl = table::build(&self.res, &[kv_obj], meta, t);
                if self.sent_columns {
                    tbl["columnDefinitions"] = Value::Array(Vec::new());
                }
                self.sent_columns = true;
                let _ = serde_json::to_writer(&mut out, &tbl);
            }
            None => self.res.write_wire(&mut out, stored, revision),
        }
        out.extend_from_slice(b"}\n");
        Bytes::from(out)
    }

    fn bookmark(&self, initial_events_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": self.last_revision.to_string()});
        if initial_events_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.res.info.kind, "apiVersion": self.res.info.api_version(), "metadata": meta});
        let mut line =
            serde_json::to_vec(&json!({"type": "BOOKMARK", "object": obj})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }

    async fn send_error(&self, e: StoreError) {
        let err = match e {
            StoreError::WatcherLagged => {
                ApiError::Expired("watch channel was closed: the watcher fell behind".into())
            }
            other => ApiError::from_store(other, &Default::default()),
        };
        let mut line = serde_json::to_vec(&json!({"type": "ERROR", "object": err.to_status()}))
            .unwrap_or_default();
        line.push(b'\n');
        let _ = self.tx.send(Bytes::from(line)).await;
    }
}
