use crate::Revision;

/// Why a store operation failed. Variants carry the key or revision involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("key {key:?} already exists")]
    AlreadyExists { key: String },
    #[error("key {key:?} not found")]
    NotFound { key: String },
    #[error("key {key:?} was modified: expected revision {expected}, found {actual}")]
    Conflict {
        key: String,
        expected: Revision,
        actual: Revision,
    },
    #[error("revision {requested} has been compacted (compacted up to {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    #[error("watcher fell too far behind and was dropped")]
    WatcherLagged,
    #[error("store is closed")]
    Closed,
    #[error("store overloaded: too many pending writes")]
    Overloaded,
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("store I/O: {0}")]
    Io(#[from] std::io::Error),
}
