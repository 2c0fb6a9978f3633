//! Reading a container's log file into a response: what is written so far
//! (through the tail), then with `follow` whatever is appended, polled
//! every [`POLL_INTERVAL`] until the container has stopped and the file is
//! drained, the byte limit is reached, or the client goes away. A file
//! replaced (rotated) or truncated under us is reopened from its start.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use super::format::LogDecoder;
use super::options::{LogOptions, LogWriter, Tail};
use crate::cri::api;
use crate::kubelet_api::KubeletRuntime;

/// How often a followed file is polled for new lines.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How many idle polls between two checks that the container still runs.
const POLLS_PER_STATE_CHECK: u32 = 10;
const CHUNK: usize = 64 * 1024;

/// One log stream being served.
pub struct LogFollower {
    pub runtime: Arc<dyn KubeletRuntime>,
    pub container_id: String,
    pub path: PathBuf,
    pub options: LogOptions,
    pub tx: mpsc::Sender<Bytes>,
}

/// The open file and what has been decoded and written from it.
struct Reader {
    file: Option<tokio::fs::File>,
    inode: u64,
    position: u64,
    decoder: LogDecoder,
    tail: Tail,
    writer: LogWriter,
}

/// Whether the stream goes on.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    More,
    Done,
}

impl LogFollower {
    /// Serves the stream to its end.
    pub async fn run(self) {
        let mut r = Reader {
            file: None,
            inode: 0,
            position: 0,
            decoder: LogDecoder::default(),
            tail: Tail::new(self.options.tail_lines),
            writer: LogWriter::new(&self.options),
        };
        if self.read_available(&mut r).await == Flow::Done || !self.options.follow {
            self.finish(&mut r).await;
            return;
        }
        let mut idle: u32 = 0;
        loop {
            tokio::select! {
                _ = self.tx.closed() => return,
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
            let before = r.position;
            if self.read_available(&mut r).await == Flow::Done {
                return;
            }
            idle = if r.position == before { idle + 1 } else { 0 };
            if idle >= POLLS_PER_STATE_CHECK {
                idle = 0;
                if !self.container_running().await {
                    // Lines written just before the exit are read last.
                    let _ = self.read_available(&mut r).await;
                    self.finish(&mut r).await;
                    return;
                }
            }
        }
    }

    async fn container_running(&self) -> bool {
        let running = api::ContainerState::ContainerRunning as i32;
        match self.runtime.container_status(&self.container_id).await {
            Ok(s) => s.state == running,
            Err(_) => false,
        }
    }

    /// Opens the file if needed, reopens it when it was replaced or
    /// truncated, then reads to its current end.
    async fn read_available(&self, r: &mut Reader) -> Flow {
        let meta = tokio::fs::metadata(&self.path).await.ok();
        let replaced = meta
            .as_ref()
            .is_some_and(|m| m.ino() != r.inode || m.len() < r.position);
        if r.file.is_none() || replaced {
            if r.file.is_some() && self.read_to_end(r).await == Flow::Done {
                return Flow::Done;
            }
            let Ok(file) = tokio::fs::File::open(&self.path).await else {
                return Flow::More;
            };
            r.inode = meta.map_or(0, |m| m.ino());
            (r.file, r.position) = (Some(file), 0);
        }
        self.read_to_end(r).await
    }

    async fn read_to_end(&self, r: &mut Reader) -> Flow {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let Some(file) = r.file.as_mut() else {
                return Flow::More;
            };
            let n = match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    tracing::debug!(path = %self.path.display(), error = %e, "reading a log file");
                    break;
                }
            };
            r.position += n as u64;
            for entry in r.decoder.feed(&buf[..n]) {
                r.tail.push(entry);
            }
            if !r.tail.is_bounded() && self.flush(r).await == Flow::Done {
                return Flow::Done;
            }
        }
        let flow = self.flush(r).await;
        // The tail is taken once, from what was written before the request.
        r.tail = Tail::new(None);
        flow
    }

    /// Writes the held entries that pass the filters and sends them.
    async fn flush(&self, r: &mut Reader) -> Flow {
        let mut out = Vec::new();
        for entry in r.tail.drain() {
            if r.writer.is_full() {
                break;
            }
            if self.options.shows(&entry) {
                r.writer.write(&entry, &mut out);
            }
        }
        if !out.is_empty() && self.tx.send(Bytes::from(out)).await.is_err() {
            return Flow::Done;
        }
        if r.writer.is_full() {
            Flow::Done
        } else {
            Flow::More
        }
    }

    /// Sends a last line the container left unfinished.
    async fn finish(&self, r: &mut Reader) {
        if let Some(entry) = r.decoder.finish() {
            r.tail.push(entry);
        }
        let _ = self.flush(r).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cri::{FakeRuntime, RuntimeService};
    use std::io::Write;

    const WAIT: Duration = Duration::from_secs(10);

    async fn running_container(runtime: &FakeRuntime) -> String {
        let sandbox = api::PodSandboxConfig::default();
        let sb = runtime.run_pod_sandbox(&sandbox).await.expect("sandbox");
        let config = api::ContainerConfig {
            metadata: Some(api::ContainerMetadata {
                name: "c".into(),
                attempt: 0,
            }),
            ..Default::default()
        };
        let id = runtime.create_container(&sb, &config, &sandbox).await;
        let id = id.expect("container");
        runtime.start_container(&id).await.expect("started");
        id
    }

    fn append(path: &std::path::Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("log file");
        f.write_all(text.as_bytes()).expect("written");
    }

    async fn next(rx: &mut mpsc::Receiver<Bytes>) -> Option<String> {
        let chunk = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("in time");
        chunk.map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    #[tokio::test]
    async fn follow_streams_new_lines_and_ends_when_the_container_exits() {
        let runtime = Arc::new(FakeRuntime::new());
        let id = running_container(&runtime).await;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("0.log");
        append(
            &path,
            "2026-11-23T14:00:01Z stdout F old\n2026-11-23T14:00:02Z stdout F last\n",
        );
        let (tx, mut rx) = mpsc::channel(16);
        let options = LogOptions {
            follow: true,
            tail_lines: Some(1),
            ..LogOptions::default()
        };
        let follower = LogFollower {
            runtime: runtime.clone(),
            container_id: id,
            path: path.clone(),
            options,
            tx,
        };
        let task = tokio::spawn(follower.run());
        assert_eq!(next(&mut rx).await.as_deref(), Some("last\n"));
        append(&path, "2026-11-23T14:00:03Z stdout P ne");
        append(&path, "w\n2026-11-23T14:00:03Z stdout F !\n");
        assert_eq!(next(&mut rx).await.as_deref(), Some("new!\n"));
        runtime.exit_container("c", 0);
        assert_eq!(
            next(&mut rx).await,
            None,
            "the stream ends with the container"
        );
        task.await.expect("the follower ends");
    }

    #[tokio::test]
    async fn a_truncated_file_is_read_again_from_its_start() {
        let runtime = Arc::new(FakeRuntime::new());
        let id = running_container(&runtime).await;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("0.log");
        append(&path, "2026-11-23T14:00:01Z stdout F one-long-line\n");
        let (tx, mut rx) = mpsc::channel(16);
        let options = LogOptions {
            follow: true,
            ..LogOptions::default()
        };
        let follower = LogFollower {
            runtime: runtime.clone(),
            container_id: id,
            path: path.clone(),
            options,
            tx,
        };
        tokio::spawn(follower.run());
        assert_eq!(next(&mut rx).await.as_deref(), Some("one-long-line\n"));
        std::fs::write(&path, "2026-11-23T14:00:05Z stdout F two\n").expect("truncated");
        assert_eq!(next(&mut rx).await.as_deref(), Some("two\n"));
        drop(rx);
    }
}
