//! The edge to nftables: a [`RuleBackend`] applies transaction text and
//! lists objects. [`NftBackend`] runs the real `nft` (optionally inside a
//! network namespace); [`FakeBackend`] records transactions and keeps an
//! interpreted copy of the table for unit tests.

pub mod fake;
mod nft;

pub use fake::FakeBackend;
pub use nft::NftBackend;

/// Why nft failed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("starting {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("nft {action} failed ({status}): {stderr}")]
    Nft {
        action: &'static str,
        status: String,
        stderr: String,
    },
}

/// Applies nftables transactions.
#[async_trait::async_trait]
pub trait RuleBackend: Send + Sync {
    /// Applies `transaction` (`nft -f` syntax) atomically: all or nothing.
    async fn apply(&self, transaction: &str) -> Result<(), BackendError>;

    /// `nft list <object>` (for example `chain ip berth services`).
    async fn list(&self, object: &str) -> Result<String, BackendError>;
}

#[async_trait::async_trait]
impl<B: RuleBackend + ?Sized> RuleBackend for std::sync::Arc<B> {
    async fn apply(&self, transaction: &str) -> Result<(), BackendError> {
        (**self).apply(transaction).await
    }

    async fn list(&self, object: &str) -> Result<String, BackendError> {
        (**self).list(object).await
    }
}
