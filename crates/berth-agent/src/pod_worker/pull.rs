//! Images for containers, with `imagePullPolicy` semantics and a pull
//! back-off per container (ErrImagePull, then ImagePullBackOff).

use k8s_openapi::api::core::v1::Container;

use super::PodWorker;
use super::record::Waiting;

impl PodWorker {
    /// `imagePullPolicy` semantics; the image reference to create from, or
    /// ErrImagePull / ImagePullBackOff / ErrImageNeverPull.
    pub(super) async fn ensure_image(&mut self, c: &Container) -> Result<String, Waiting> {
        let image = c.image.clone().unwrap_or_default();
        let policy = c
            .image_pull_policy
            .clone()
            .unwrap_or_else(|| default_pull_policy(&image).into());
        let present = self.ctx.runtime.image_status(&image).await.ok().flatten();
        match (policy.as_str(), present) {
            ("Never", Some(img)) | ("IfNotPresent", Some(img)) => return Ok(img.id),
            ("Never", None) => {
                let message =
                    format!("Container image \"{image}\" is not present with pull policy of Never");
                return Err(Waiting::new("ErrImageNeverPull", message));
            }
            _ => {}
        }
        let key = c.name.clone();
        let now = self.ctx.clock.now();
        let failed_at = self.pull_failed.get(&key).copied();
        if failed_at
            .and_then(|at| self.pull_backoff.in_backoff_since(&key, at, now))
            .is_some()
        {
            return Err(Waiting::new(
                "ImagePullBackOff",
                format!("Back-off pulling image \"{image}\""),
            ));
        }
        match self.ctx.runtime.pull_image(&image, None).await {
            Ok(r) => {
                self.pull_backoff.forget(&key);
                self.pull_failed.remove(&key);
                Ok(r)
            }
            Err(e) => {
                self.pull_backoff.next(&key, now);
                self.pull_failed.insert(key, now);
                Err(Waiting::new("ErrImagePull", e.to_string()))
            }
        }
    }
}

/// Upstream's default: Always for `:latest` or untagged images.
fn default_pull_policy(image: &str) -> &'static str {
    let name = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        "IfNotPresent"
    } else if !name.contains(':') || name.ends_with(":latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}
