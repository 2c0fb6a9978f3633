//! What a test host leaves behind once its processes are killed: the PID
//! namespace takes a moment to empty (waited for through a pidfd), runc's container cgroups stay (empty)
//! and mounts made outside the host's private mount namespace stay mounted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The ids of every container and sandbox the agent's containerd ran.
pub fn container_ids(agent_data_dir: &Path) -> Vec<String> {
    let tasks = agent_data_dir.join("containerd/state/io.containerd.runtime.v2.task/k8s.io");
    std::fs::read_dir(tasks)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The PID-namespace init (`unshare --fork`'s child) of each process.
pub fn namespace_inits(processes: &[Child]) -> Vec<u32> {
    processes
        .iter()
        .flat_map(|p| {
            let pid = p.id();
            let children = format!("/proc/{pid}/task/{pid}/children");
            let text = std::fs::read_to_string(children).unwrap_or_default();
            text.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Waits (up to 20 s) until every namespace init has exited: an init exits
/// only after every process of its PID namespace is gone.
pub fn wait_for_exit(inits: &[u32]) {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use rustix::process::{Pid, PidfdFlags, pidfd_open};
    let deadline = Instant::now() + Duration::from_secs(20);
    for pid in inits {
        let Some(pid) = Pid::from_raw(*pid as i32) else {
            continue;
        };
        // Gone already when it cannot be opened.
        let Ok(fd) = pidfd_open(pid, PidfdFlags::empty()) else {
            continue;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = Timespec::try_from(left).unwrap_or(Timespec {
            tv_sec: 20,
            tv_nsec: 0,
        });
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let _ = poll(&mut fds, Some(&timeout));
    }
}

/// Removes `/sys/fs/cgroup/<hierarchy>/k8s.io/<id>` of every container.
pub fn remove_cgroups(ids: &[String]) {
    let hierarchies: Vec<PathBuf> = std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for h in &hierarchies {
        for id in ids {
            let dir = h.join("k8s.io").join(id);
            if dir.is_dir() {
                dirs.push(dir);
            }
        }
    }
    for dir in dirs {
        if let Err(e) = std::fs::remove_dir(&dir) {
            eprintln!("test host: removing cgroup {}: {e}", dir.display());
        }
    }
}

/// Lazily unmounts whatever is still mounted under `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let prefix = dir.to_string_lossy().to_string();
    let mut targets: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in targets {
        let _ = Command::new("umount").args(["-l", t]).status();
    }
}
