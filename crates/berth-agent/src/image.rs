//! Images without a registry: OCI image archives built from the host's
//! `busybox-static` (Berth's pause image and a busybox image for tests and
//! demos), and `import` of any OCI or docker archive into the node's
//! containerd through containerd's own `ctr` (CRI has no import call).

mod tar;

use std::path::{Path, PathBuf};

use ring::digest;
use serde_json::json;

/// The sandbox ("pause") image Berth builds and configures containerd with.
pub const PAUSE_IMAGE: &str = "berth.local/pause:1";
/// The busybox image `berth image build-busybox` makes.
pub const BUSYBOX_IMAGE: &str = "berth.local/busybox:1";
/// The demo web image `berth image build-demo` makes: busybox `httpd` on
/// port 80 answering with a greeting that names the pod.
pub const DEMO_IMAGE: &str = "berth.local/hello:1";
/// Where Debian's `busybox-static` installs the binary.
pub const BUSYBOX_PATH: &str = "/bin/busybox";

/// Applets linked into the image's /bin (busybox runs by argv[0]).
const APPLETS: &[&str] = &[
    "sh", "sleep", "echo", "cat", "ls", "true", "false", "env", "httpd", "nc", "wget", "id", "ps",
    "kill", "mkdir", "touch", "date", "hostname", "grep", "head", "tail", "test", "[", "printf",
    "rm", "cp", "mv", "seq", "yes", "dd", "trap", "wc", "uname", "sync", "df", "free", "top",
    "nslookup",
];

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("running {command}: {message}")]
    Import { command: String, message: String },
}

/// What to put in an image: its name and the process it runs.
pub struct ImageRecipe<'a> {
    pub name: &'a str,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
}

/// The pause image: PID 1 sleeps until told to stop and then exits at once.
pub fn pause_recipe() -> ImageRecipe<'static> {
    let script = "trap 'exit 0' TERM INT; while true; do sleep 3600 & wait $!; done";
    ImageRecipe {
        name: PAUSE_IMAGE,
        entrypoint: vec!["/bin/sh".into(), "-c".into(), script.into()],
        cmd: vec![],
    }
}

pub fn busybox_recipe() -> ImageRecipe<'static> {
    ImageRecipe {
        name: BUSYBOX_IMAGE,
        entrypoint: vec![],
        cmd: vec!["/bin/sh".into()],
    }
}

/// The demo web server: writes a page naming the pod (its hostname), then
/// runs busybox `httpd` in the foreground on port 80 (or `$PORT`).
pub fn demo_recipe() -> ImageRecipe<'static> {
    let script = "mkdir -p /tmp/www && \
        printf 'Hello from Berth! I am %s\\n' \"$(hostname)\" > /tmp/www/index.html && \
        exec httpd -f -v -p \"${PORT:-80}\" -h /tmp/www";
    ImageRecipe {
        name: DEMO_IMAGE,
        entrypoint: vec!["/bin/sh".into(), "-c".into(), script.into()],
        cmd: vec![],
    }
}

fn sha256(data: &[u8]) -> String {
    let d = digest::digest(&digest::SHA256, data);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn layer(busybox: &[u8]) -> Vec<u8> {
    let mut t = tar::TarWriter::new();
    for d in ["bin", "tmp", "etc", "proc", "sys", "dev", "var", "var/www"] {
        t.dir(d);
    }
    t.file("bin/busybox", 0o755, busybox);
    for applet in APPLETS {
        t.symlink(&format!("bin/{applet}"), "busybox");
    }
    t.file(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    );
    t.file("etc/group", 0o644, b"root:x:0:\nnogroup:x:65534:\n");
    t.finish()
}

/// An OCI image layout archive (`oci-layout`, `index.json`, blobs) of one
/// uncompressed layer holding busybox, named `recipe.name`.
pub fn build_archive(recipe: &ImageRecipe<'_>, busybox: &[u8]) -> Vec<u8> {
    let layer = layer(busybox);
    let layer_digest = sha256(&layer);
    let config = json!({
        "architecture": crate::node::capacity::arch(), "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Entrypoint": recipe.entrypoint, "Cmd": recipe.cmd, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created_by": "berth image build"}]
    })
    .to_string()
    .into_bytes();
    let manifest = json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}]
    })
    .to_string()
    .into_bytes();
    let tag = recipe.name.rsplit(':').next().unwrap_or("latest");
    let index = json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha256(&manifest), "size": manifest.len(),
            "platform": {"architecture": crate::node::capacity::arch(), "os": "linux"},
            "annotations": {"io.containerd.image.name": recipe.name, "org.opencontainers.image.ref.name": tag}
        }]
    })
    .to_string()
    .into_bytes();
    let mut t = tar::TarWriter::new();
    t.file("oci-layout", 0o644, br#"{"imageLayoutVersion":"1.0.0"}"#);
    t.dir("blobs");
    t.dir("blobs/sha256");
    for blob in [&layer, &config, &manifest] {
        let name = sha256(blob).replace("sha256:", "blobs/sha256/");
        t.file(&name, 0o644, blob);
    }
    t.file("index.json", 0o644, &index);
    t.finish()
}

/// Builds the image from the host's busybox and writes the archive to `out`.
pub fn write_archive(
    recipe: &ImageRecipe<'_>,
    busybox: &Path,
    out: &Path,
) -> Result<(), ImageError> {
    let bin = std::fs::read(busybox).map_err(|source| ImageError::Read {
        path: busybox.into(),
        source,
    })?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ImageError::Write {
            path: dir.into(),
            source,
        })?;
    }
    std::fs::write(out, build_archive(recipe, &bin)).map_err(|source| ImageError::Write {
        path: out.into(),
        source,
    })
}

/// Imports an archive into containerd's `k8s.io` namespace (where CRI
/// looks) with `ctr`, unpacked for the overlayfs snapshotter.
pub async fn import(socket: &Path, archive: &Path) -> Result<(), ImageError> {
    let command = format!(
        "ctr -a {} -n k8s.io images import {}",
        socket.display(),
        archive.display()
    );
    let output = tokio::process::Command::new("ctr")
        .arg("-a")
        .arg(socket)
        .args([
            "-n",
            "k8s.io",
            "images",
            "import",
            "--snapshotter",
            "overlayfs",
        ])
        .arg(archive)
        .output()
        .await
        .map_err(|e| ImageError::Import {
            command: command.clone(),
            message: e.to_string(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
    Err(ImageError::Import { command, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_holds_the_layout_index_and_content_addressed_blobs() {
        let archive = build_archive(&busybox_recipe(), b"#!fake busybox");
        assert_eq!(archive.len() % 512, 0);
        let text = String::from_utf8_lossy(&archive);
        assert!(text.contains("oci-layout") && text.contains("index.json"));
        assert!(text.contains("io.containerd.image.name") && text.contains(BUSYBOX_IMAGE));
        assert!(text.contains("blobs/sha256/"));
        assert_eq!(
            archive,
            build_archive(&busybox_recipe(), b"#!fake busybox"),
            "reproducible"
        );
    }
}
