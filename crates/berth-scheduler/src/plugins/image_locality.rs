//! ImageLocality: prefer nodes that already have the pod's images, scaled by
//! image size and by how widely the image is spread across nodes.

use crate::framework::{CycleState, MAX_NODE_SCORE, Plugin, PreScorePlugin, ScorePlugin, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::snapshot::Snapshot;

const MB: i64 = 1024 * 1024;
/// Below this sum of image sizes the score is 0.
const MIN_THRESHOLD: i64 = 23 * MB;
/// Per container, above this sum the score is 100.
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// The ImageLocality plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct ImageLocality;

/// Per image of the pod: its normalized name and the fraction of nodes having it.
struct PodImages {
    images: Vec<(String, f64)>,
    containers: i64,
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        super::names::IMAGE_LOCALITY
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

/// Adds `:latest` to an image reference without a tag.
pub fn normalized_image_name(name: &str) -> String {
    let colon = name.rfind(':');
    let slash = name.rfind('/');
    if colon <= slash {
        format!("{name}:latest")
    } else {
        name.to_owned()
    }
}

impl PreScorePlugin for ImageLocality {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        _: &[usize],
    ) -> Status {
        let Some(spec) = pod.pod().spec.as_ref() else {
            return Status::skip();
        };
        let total = snapshot.len().max(1) as f64;
        let containers = spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers);
        let images = containers
            .filter_map(|c| c.image.as_deref())
            .map(|image| {
                let name = normalized_image_name(image);
                let spread = snapshot.nodes_with_image(&name) as f64 / total;
                (name, spread)
            })
            .collect();
        let count = spec.containers.len() + spec.init_containers.as_ref().map_or(0, Vec::len);
        state.write(PodImages {
            images,
            containers: count as i64,
        });
        Status::success()
    }
}

impl ScorePlugin for ImageLocality {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let pod_images = state
            .read::<PodImages>()
            .ok_or_else(|| Status::error("ImageLocality PreScore state missing"))?;
        let sum: i64 = pod_images
            .images
            .iter()
            .filter_map(|(name, spread)| Some((node.image_size(name)? as f64 * spread) as i64))
            .sum();
        Ok(priority(sum, pod_images.containers))
    }
}

fn priority(sum: i64, containers: i64) -> i64 {
    let max_threshold = MAX_CONTAINER_THRESHOLD * containers;
    if max_threshold <= MIN_THRESHOLD {
        return 0;
    }
    let clamped = sum.clamp(MIN_THRESHOLD, max_threshold);
    MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod, snapshot};

    #[test]
    fn image_names_should_be_normalized_with_latest() {
        let cases = [
            ("nginx", "nginx:latest"),
            ("nginx:1.27", "nginx:1.27"),
            ("registry:5000/app", "registry:5000/app:latest"),
            ("registry:5000/app:v1", "registry:5000/app:v1"),
        ];
        for (name, want) in cases {
            assert_eq!(normalized_image_name(name), want);
        }
    }

    #[test]
    fn nodes_with_large_spread_images_should_score_higher() {
        let s = snapshot(
            vec![
                node("a")
                    .image(&["big:v1"], 800 * MB)
                    .image(&["small:v1"], 300 * MB),
                node("b").image(&["big:v1"], 800 * MB),
                node("c"),
                node("d"),
            ],
            vec![],
        );
        let p = pod("p").image("big:v1").image("small:v1").info();
        let mut state = CycleState::new();
        ImageLocality.pre_score(&mut state, &p, &s, &[0, 1, 2, 3]);
        let scores: Vec<i64> = (0..4)
            .map(|i| ImageLocality.score(&state, &p, s.node(i)).unwrap_or(-1))
            .collect();
        // a: 800MB×2/4 + 300MB×1/4 = 475MB → 100×452/1977; b: 400MB → 100×377/1977.
        assert_eq!(scores, vec![22, 19, 0, 0]);
    }
}
