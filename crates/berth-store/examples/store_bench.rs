//! Store benchmark: concurrent creates through the SQLite backend (throughput
//! and commit latency), list-all through the watch cache, and watch fan-out.
//!
//! `cargo run --release -p berth-store --example store_bench`
//!
//! Sizes can be changed with `BENCH_WRITERS`, `BENCH_CREATES` (per writer),
//! `BENCH_LIST_KEYS`, `BENCH_WATCHERS` and `BENCH_FANOUT_EVENTS`. The data
//! lives in a temporary directory under `BENCH_DIR` (default `/var/tmp`),
//! so commits really reach the disk.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_store::{ListOptions, SqliteConfig, SqliteStore, Store, WatchCache, WatchCacheConfig};
use bytes::Bytes;
use futures::StreamExt;
use tempfile::TempDir;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn open_store() -> BenchResult<(Arc<SqliteStore>, TempDir)> {
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into());
    let dir = tempfile::Builder::new()
        .prefix("berth-store-bench")
        .tempdir_in(base)?;
    let store = SqliteStore::open(&dir.path().join("store.db"), SqliteConfig::default())?;
    Ok((Arc::new(store), dir))
}

/// `writers` tasks each creating `per_writer` keys under `prefix`; returns
/// the latency of every create.
async fn create_concurrently<S: Store>(
    store: &Arc<S>,
    prefix: &str,
    writers: usize,
    per_writer: usize,
) -> BenchResult<Vec<Duration>> {
    let value = Bytes::from(vec![b'x'; 256]);
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..writers {
        let (store, value, prefix) = (Arc::clone(store), value.clone(), prefix.to_owned());
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(per_writer);
            for n in 0..per_writer {
                let key = format!("{prefix}{writer:03}/{n:06}");
                let started = Instant::now();
                store.create(&key, value.clone()).await?;
                latencies.push(started.elapsed());
            }
            Ok::<_, berth_store::StoreError>(latencies)
        });
    }
    let mut all = Vec::with_capacity(writers * per_writer);
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined??);
    }
    Ok(all)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

async fn bench_creates(writers: usize, per_writer: usize) -> BenchResult<()> {
    let (store, _dir) = open_store()?;
    let started = Instant::now();
    let mut latencies = create_concurrently(&store, "/bench/", writers, per_writer).await?;
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let total = latencies.len();
    println!(
        "creates: {writers} writers x {per_writer} = {total} creates of 256 B in {:.2} s: {:.0} creates/s; \
         commit latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        percentile(&latencies, 1.0).as_secs_f64() * 1e3,
    );
    Ok(())
}

/// Median and minimum of `runs` timed lists.
async fn time_lists<S: Store>(store: &S, runs: usize) -> BenchResult<(Duration, Duration, usize)> {
    let mut times = Vec::with_capacity(runs);
    let mut items = 0;
    for _ in 0..runs {
        let started = Instant::now();
        items = store.list("/", ListOptions::default()).await?.items.len();
        times.push(started.elapsed());
    }
    times.sort_unstable();
    Ok((percentile(&times, 0.5), percentile(&times, 0.0), items))
}

async fn bench_list(keys: usize) -> BenchResult<()> {
    let (store, _dir) = open_store()?;
    let writers = 32.min(keys.max(1));
    create_concurrently(&store, "/list/", writers, keys / writers).await?;
    let cache = WatchCache::new(Arc::clone(&store), WatchCacheConfig::default()).await?;
    let (median, min, items) = time_lists(&cache, 20).await?;
    println!(
        "list-all via WatchCache: {items} keys: median {:.2} ms, min {:.2} ms",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3
    );
    let (median, min, items) = time_lists(&*store, 5).await?;
    println!(
        "list-all via SQLite:     {items} keys: median {:.2} ms, min {:.2} ms",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3
    );
    Ok(())
}

async fn bench_fanout(watchers: usize, events: usize) -> BenchResult<()> {
    let (store, _dir) = open_store()?;
    let cache = Arc::new(WatchCache::new(store, WatchCacheConfig::default()).await?);
    let writers = 32.min(events.max(1));
    let events = writers * (events / writers);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..watchers {
        let mut stream = cache.watch("/fan/", 0).await?;
        tasks.spawn(async move {
            for _ in 0..events {
                match stream.next().await {
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return Err(err.to_string()),
                    None => return Err("watch ended".to_owned()),
                }
            }
            Ok(Instant::now())
        });
    }
    let started = Instant::now();
    create_concurrently(&cache, "/fan/", writers, events / writers).await?;
    let written = Instant::now();
    let mut last = written;
    while let Some(joined) = tasks.join_next().await {
        last = last.max(joined??);
    }
    println!(
        "watch fan-out via WatchCache: {watchers} watchers x {events} events: writes took {:.2} s; \
         last watcher done {:.2} ms after the last write was acknowledged",
        (written - started).as_secs_f64(),
        (last - written).as_secs_f64() * 1e3
    );
    Ok(())
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    bench_creates(
        setting("BENCH_WRITERS", 32),
        setting("BENCH_CREATES", 20_000),
    )
    .await?;
    bench_list(setting("BENCH_LIST_KEYS", 20_000)).await?;
    bench_fanout(
        setting("BENCH_WATCHERS", 100),
        setting("BENCH_FANOUT_EVENTS", 5_000),
    )
    .await?;
    Ok(())
}
