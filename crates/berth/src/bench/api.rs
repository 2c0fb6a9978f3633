//! The API benchmark of issue "API server on a durable embedded store":
//! N concurrent clients create ConfigMaps (256-byte data, two labels) over
//! HTTPS/JSON, one request lists them all, then W watchers each receive U
//! updates; prints throughput, latency percentiles and server RSS.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, ObjectMeta, PostParams, WatchEvent, WatchParams};

use kube::Client;

use super::child::{ServerChild, client};
use super::percentile;

#[derive(Args, Debug)]
pub struct ApiBenchArgs {
    /// Concurrent clients creating objects.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// ConfigMaps to create.
    #[arg(long, default_value_t = 20_000)]
    pub objects: usize,
    /// Concurrent watchers.
    #[arg(long, default_value_t = 100)]
    pub watchers: usize,
    /// Updates every watcher must receive.
    #[arg(long, default_value_t = 5_000)]
    pub updates: usize,
}

fn config_map(name: &str, i: usize) -> ConfigMap {
    let labels = BTreeMap::from([
        ("app".to_string(), format!("app-{}", i % 10)),
        ("tier".to_string(), "bench".to_string()),
    ]);
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("payload".to_string(), "x".repeat(256))])),
        ..Default::default()
    }
}

async fn create_namespace(c: &Client, name: &str) -> Result<()> {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(c.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

/// Phase 1: concurrent creates; returns per-request latencies in ms.
async fn creates(clients: &[Client], objects: usize) -> Result<(Vec<f64>, Duration)> {
    let started = Instant::now();
    let per = objects.div_ceil(clients.len());
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(w, c)| {
            let api: Api<ConfigMap> = Api::namespaced(c.clone(), "bench");
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per);
                for i in (w * per)..((w + 1) * per).min(objects) {
                    let cm = config_map(&format!("cm-{i:06}"), i);
                    let t = Instant::now();
                    api.create(&PostParams::default(), &cm).await?;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                Ok::<_, kube::Error>(lat)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(objects);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((all, started.elapsed()))
}

/// Phase 3: watchers each receive every update; returns delivery delays in ms.
async fn watch_fanout(c: &Client, watchers: usize, updates: usize) -> Result<(Vec<f64>, Duration)> {
    create_namespace(c, "bench-watch").await?;
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "bench-watch");
    let writers = 8usize;
    for w in 0..writers {
        api.create(&PostParams::default(), &config_map(&format!("w-{w}"), w))
            .await?;
    }
    let rv = api
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let epoch = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..watchers {
        let api = api.clone();
        let rv = rv.clone();
        handles.push(tokio::spawn(async move {
            let mut stream = api
                .watch(&WatchParams::default().timeout(290), &rv)
                .await?
                .boxed();
            let mut delays = Vec::with_capacity(updates);
            while delays.len() < updates {
                match stream.try_next().await? {
                    Some(WatchEvent::Modified(cm)) => {
                        let sent = cm
                            .data
                            .as_ref()
                            .and_then(|d| d.get("sent"))
                            .and_then(|s| s.parse::<f64>().ok());
                        let now = epoch.elapsed().as_secs_f64() * 1000.0;
                        delays.push(now - sent.unwrap_or(now));
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            Ok::<_, kube::Error>(delays)
        }));
    }
    // Give every watcher its connection before the first update.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let per = updates / writers;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per {
                let sent = epoch.elapsed().as_secs_f64() * 1000.0;
                let mut cm = config_map(&format!("w-{w}"), w);
                cm.data
                    .get_or_insert_default()
                    .insert("sent".into(), format!("{sent:.3}"));
                api.replace(&format!("w-{w}"), &PostParams::default(), &cm)
                    .await?;
            }
            Ok::<_, kube::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let mut delays = Vec::new();
    for h in handles {
        let d = h.await??;
        if d.len() < per * writers {
            bail!(
                "a watcher received {} of {} updates",
                d.len(),
                per * writers
            );
        }
        delays.extend(d);
    }
    Ok((delays, started.elapsed()))
}

pub async fn run(args: ApiBenchArgs) -> Result<()> {
    let server = ServerChild::start()?;
    let admin = client(&server.kubeconfig).await?;
    wait_ready(&admin).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = server.rss_mib();
    create_namespace(&admin, "bench").await?;
    let mut clients = Vec::new();
    for _ in 0..args.clients.max(1) {
        clients.push(client(&server.kubeconfig).await?);
    }
    println!(
        "berth bench api: {} clients, {} ConfigMaps, {} watchers x {} updates",
        args.clients, args.objects, args.watchers, args.updates
    );
    let (mut lat, took) = creates(&clients, args.objects).await?;
    lat.sort_by(f64::total_cmp);
    println!(
        "create: {:.0} objects/s ({} in {:.2} s); latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.objects as f64 / took.as_secs_f64(),
        args.objects,
        took.as_secs_f64(),
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        lat.last().copied().unwrap_or(0.0)
    );
    let api: Api<ConfigMap> = Api::namespaced(admin.clone(), "bench");
    let mut list_times = Vec::new();
    let mut count = 0;
    for _ in 0..3 {
        let t = Instant::now();
        count = api.list(&ListParams::default()).await?.items.len();
        list_times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    if count != args.objects {
        bail!("list returned {count} objects, want {}", args.objects);
    }
    list_times.sort_by(f64::total_cmp);
    println!(
        "list: {count} objects in one request: best {:.0} ms, median {:.0} ms (client decode included)",
        list_times[0], list_times[1]
    );
    let rss_full = server.rss_mib();
    let (mut delays, took) = watch_fanout(&admin, args.watchers, args.updates).await?;
    delays.sort_by(f64::total_cmp);
    println!(
        "watch: {} watchers x {} updates = {} events in {:.2} s; delay p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        args.watchers,
        args.updates,
        delays.len(),
        took.as_secs_f64(),
        percentile(&delays, 50.0),
        percentile(&delays, 99.0),
        delays.last().copied().unwrap_or(0.0)
    );
    println!(
        "server RSS: idle {rss_idle:.1} MiB; holding {} objects {rss_full:.1} MiB; after watch phase {:.1} MiB",
        args.objects,
        server.rss_mib()
    );
    Ok(())
}

pub async fn wait_ready(c: &Client) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match c.apiserver_version().await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(e).context("server never became ready");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
