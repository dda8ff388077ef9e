//! What can go wrong between a node and the cluster's Redis.

/// A failure to reach or use the cluster's Redis.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("--cluster {url:?}: {source}")]
    Url {
        url: String,
        #[source]
        source: redis::RedisError,
    },
    #[error("cannot reach the cluster's Redis at {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: redis::RedisError,
    },
    #[error("the cluster's Redis failed: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("the cluster's Redis answered something unexpected: {0}")]
    Unexpected(String),
}
