//! The Terminating and Terminated states: stop every container with the
//! grace period (CRI StopContainer sends SIGTERM, then SIGKILL when the
//! timeout ends), stop the sandbox, and for a deleted pod remove them and
//! delete the API object with `gracePeriodSeconds=0`.

use futures::future::join_all;

use super::PodWorker;
use super::record::Observed;

impl PodWorker {
    /// Stops everything; true when done (false: retry).
    pub(super) async fn terminate(&mut self, delete: bool) -> bool {
        let grace = self.grace_period();
        let running: Vec<String> = self
            .init
            .iter()
            .chain(self.app.iter())
            .filter(|r| matches!(r.observed(), Observed::Running | Observed::Created))
            .filter_map(|r| r.id().map(String::from))
            .collect();
        for r in self.init.iter_mut().chain(self.app.iter_mut()) {
            r.probe_tasks = None;
        }
        let runtime = self.ctx.runtime.clone();
        let results = join_all(running.iter().map(|id| runtime.stop_container(id, grace))).await;
        let mut ok = results.iter().all(|r| r.is_ok_or_not_found());
        self.refresh_after_stop().await;
        if let Some(sb) = &self.sandbox {
            ok &= runtime.stop_pod_sandbox(&sb.id).await.is_ok_or_not_found();
        }
        if delete {
            ok &= self.remove_all().await;
        }
        if self.final_phase.is_none() {
            let all_ok = !self.app.is_empty() && self.app.iter().all(|r| r.succeeded());
            self.final_phase = Some(if all_ok { "Succeeded" } else { "Failed" });
        }
        tracing::info!(pod = ?self.pod.metadata.name, delete, ok, "pod terminated");
        ok
    }

    async fn refresh_after_stop(&mut self) {
        let runtime = self.ctx.runtime.clone();
        for r in self.init.iter_mut().chain(self.app.iter_mut()) {
            if let Some(cur) = &r.current
                && let Ok(s) = runtime.container_status(&cur.id).await
            {
                r.current = Some(s);
                r.waiting = None;
            }
        }
    }

    async fn remove_all(&mut self) -> bool {
        let runtime = self.ctx.runtime.clone();
        let mut ok = true;
        for r in self.init.iter().chain(self.app.iter()) {
            for c in [&r.current, &r.last].into_iter().flatten() {
                ok &= runtime.remove_container(&c.id).await.is_ok_or_not_found();
            }
        }
        if let Some(sb) = &self.sandbox {
            ok &= runtime
                .remove_pod_sandbox(&sb.id)
                .await
                .is_ok_or_not_found();
        }
        if ok {
            self.sandbox = None;
        }
        ok
    }

    /// Deletes the API object (unless it is already gone); true when done.
    pub(super) async fn finish_deletion(&mut self) -> bool {
        if self.removed {
            return true;
        }
        self.publish_status();
        if let Some(st) = self.ctx.status.clone().latest(&self.uid()) {
            let m = &self.pod.metadata;
            let (ns, name) = (
                m.namespace.clone().unwrap_or_default(),
                m.name.clone().unwrap_or_default(),
            );
            let _ = self.ctx.api.patch_status(&ns, &name, &st).await;
        }
        let m = &self.pod.metadata;
        let ns = m.namespace.as_deref().unwrap_or("default");
        let name = m.name.as_deref().unwrap_or_default();
        match self.ctx.api.delete_pod(ns, name, &self.uid()).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "deleting terminated pod");
                false
            }
        }
    }
}

trait OkOrNotFound {
    fn is_ok_or_not_found(&self) -> bool;
}

impl<T> OkOrNotFound for Result<T, crate::cri::CriError> {
    fn is_ok_or_not_found(&self) -> bool {
        match self {
            Ok(_) => true,
            Err(e) => e.is_not_found(),
        }
    }
}
