//! What this machine offers, read from /proc and statvfs: cpu, memory,
//! ephemeral storage (the filesystem of the data dir), and the facts
//! nodeInfo reports.

use std::path::Path;

/// Logical CPUs available to this process.
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `MemTotal` from /proc/meminfo, in bytes (0 if unreadable).
pub fn memory_bytes() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    parse_meminfo_total(&meminfo)
}

fn parse_meminfo_total(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Size in bytes of the filesystem holding `path` (0 if unknown).
pub fn filesystem_bytes(path: &Path) -> u64 {
    rustix::fs::statvfs(path).map_or(0, |st| st.f_blocks.saturating_mul(st.f_frsize))
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_string()
}

pub fn kernel_version() -> String {
    read_trimmed("/proc/sys/kernel/osrelease")
}

pub fn hostname() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
}

pub fn machine_id() -> String {
    read_trimmed("/etc/machine-id")
}

pub fn boot_id() -> String {
    read_trimmed("/proc/sys/kernel/random/boot_id")
}

/// `PRETTY_NAME` from /etc/os-release.
pub fn os_image() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

/// Kubernetes' name for this architecture (`amd64`, `arm64`).
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_is_read_in_bytes() {
        assert_eq!(
            parse_meminfo_total("MemTotal:       24683520 kB\nMemFree: 1 kB\n"),
            24683520 * 1024
        );
        assert!(memory_bytes() > 0);
        assert!(filesystem_bytes(Path::new("/")) > 0);
    }
}
