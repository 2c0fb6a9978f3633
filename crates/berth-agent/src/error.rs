//! The agent's errors, each saying what failed.

use crate::containerd::ContainerdError;
use crate::cri::CriError;
use crate::image::ImageError;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Containerd(#[from] ContainerdError),
    #[error(transparent)]
    Cri(#[from] CriError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    KubeletApi(#[from] crate::kubelet_api::KubeletApiError),
    #[error("{what}: {source}")]
    Api {
        what: &'static str,
        source: kube::Error,
    },
}
