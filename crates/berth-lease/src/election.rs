//! The election loop: acquire, renew, lose, release.

use std::time::Instant;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{LeaseConfig, LeaseError};

/// What a candidate last saw of the Lease, with when it saw it change. The
/// expiry check uses this local observation time, never the remote
/// renewTime, so clock skew between machines cannot steal a Lease.
#[derive(Default)]
struct Observed {
    record: Option<(Option<String>, Option<MicroTime>)>,
    at: Option<Instant>,
}

impl Observed {
    fn see(&mut self, lease: &Lease) {
        let spec = lease.spec.clone().unwrap_or_default();
        let record = Some((spec.holder_identity, spec.renew_time));
        if record != self.record {
            self.record = record;
            self.at = Some(Instant::now());
        }
    }

    fn expired(&self, cfg: &LeaseConfig, lease: &Lease) -> bool {
        let spec = lease.spec.clone().unwrap_or_default();
        let duration = spec
            .lease_duration_seconds
            .map(|s| std::time::Duration::from_secs(u64::try_from(s).unwrap_or(0)))
            .unwrap_or(cfg.lease_duration);
        spec.holder_identity.as_deref().is_none_or(str::is_empty)
            || self.at.is_none_or(|at| at.elapsed() > duration)
    }
}

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

fn api_error(cfg: &LeaseConfig, source: kube::Error) -> LeaseError {
    LeaseError::Api {
        namespace: cfg.namespace.clone(),
        name: cfg.name.clone(),
        source,
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

/// One attempt to become or stay leader; Ok(true) when we hold the Lease.
async fn try_acquire_or_renew(
    api: &Api<Lease>,
    cfg: &LeaseConfig,
    observed: &mut Observed,
) -> Result<bool, LeaseError> {
    let seconds = i32::try_from(cfg.lease_duration.as_secs()).unwrap_or(15);
    let Some(mut lease) = api
        .get_opt(&cfg.name)
        .await
        .map_err(|e| api_error(cfg, e))?
    else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(cfg.name.clone()),
                namespace: Some(cfg.namespace.clone()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(cfg.identity.clone()),
                lease_duration_seconds: Some(seconds),
                acquire_time: Some(now()),
                renew_time: Some(now()),
                lease_transitions: Some(0),
                ..Default::default()
            }),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(api_error(cfg, e)),
        };
    };
    observed.see(&lease);
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    let ours = spec.holder_identity.as_deref() == Some(cfg.identity.as_str());
    if !ours && !observed.expired(cfg, &lease) {
        return Ok(false);
    }
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    if !ours {
        spec.holder_identity = Some(cfg.identity.clone());
        spec.acquire_time = Some(now());
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    spec.lease_duration_seconds = Some(seconds);
    spec.renew_time = Some(now());
    match api.replace(&cfg.name, &PostParams::default(), &lease).await {
        Ok(updated) => {
            observed.see(&updated);
            Ok(true)
        }
        Err(e) if is_conflict(&e) => Ok(false),
        Err(e) => Err(api_error(cfg, e)),
    }
}

/// Held leadership. Renewal runs in the background until lost or released.
pub struct Leadership {
    lost: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    renewer: JoinHandle<()>,
    api: Api<Lease>,
    config: LeaseConfig,
}

/// Waits until this candidate holds the Lease, then keeps renewing it.
pub async fn acquire(client: kube::Client, config: LeaseConfig) -> Result<Leadership, LeaseError> {
    let api: Api<Lease> = Api::namespaced(client, &config.namespace);
    let mut observed = Observed::default();
    loop {
        match try_acquire_or_renew(&api, &config, &mut observed).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "acquiring leadership"),
        }
        tokio::time::sleep(config.retry_period).await;
    }
    tracing::info!(lease = %config.name, identity = %config.identity, "became leader");
    let (lost_tx, lost) = watch::channel(false);
    let (stop, stop_rx) = watch::channel(false);
    let renewer = tokio::spawn(renew(
        api.clone(),
        config.clone(),
        observed,
        lost_tx,
        stop_rx,
    ));
    Ok(Leadership {
        lost,
        stop,
        renewer,
        api,
        config,
    })
}

async fn renew(
    api: Api<Lease>,
    cfg: LeaseConfig,
    mut observed: Observed,
    lost: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_renewal = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(cfg.retry_period) => {}
            _ = stop.changed() => return,
        }
        match try_acquire_or_renew(&api, &cfg, &mut observed).await {
            Ok(true) => last_renewal = Instant::now(),
            Ok(false) => {
                tracing::warn!(lease = %cfg.name, "leadership taken by another candidate");
                let _ = lost.send(true);
                return;
            }
            Err(e) => tracing::warn!(error = %e, "renewing leadership"),
        }
        if last_renewal.elapsed() > cfg.renew_deadline {
            tracing::warn!(lease = %cfg.name, "could not renew leadership within the deadline");
            let _ = lost.send(true);
            return;
        }
    }
}

impl Leadership {
    /// Resolves when leadership is lost (never, while renewals succeed).
    pub async fn lost(&mut self) {
        let _ = self.lost.wait_for(|lost| *lost).await;
    }

    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Stops renewing and gives the Lease up so a successor takes over at once.
    pub async fn release(mut self) {
        let _ = self.stop.send(true);
        let _ = (&mut self.renewer).await;
        if self.is_lost() {
            return;
        }
        if let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await {
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() == Some(self.config.identity.as_str()) {
                spec.holder_identity = None;
                spec.lease_duration_seconds = Some(1);
                spec.renew_time = Some(now());
                let _ = self
                    .api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await;
            }
        }
    }
}

/// A dropped leadership stops renewing (without releasing the Lease, as a
/// crashed process would): a successor takes over once it expires.
impl Drop for Leadership {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.renewer.abort();
    }
}
