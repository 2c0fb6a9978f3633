//! The proxy's errors, each saying what failed.

use crate::backend::BackendError;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("programming table {table}: {source}")]
    Backend { table: String, source: BackendError },
    #[error("{what}: {source}")]
    Api {
        what: &'static str,
        source: kube::Error,
    },
}
