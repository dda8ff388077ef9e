//! WHO without a room and LIST_ROOMS read every node's users and rooms from
//! Redis: bytes in proportion to the whole cluster, for one request. One
//! answer serves every such request on the node for `TTL`, so clients
//! asking in a loop (each paying its request tokens, `[FLOW-5]`) cost Redis
//! one read per second per node, not one per request; the answer is at
//! most that old (`[CLUSTER-2]`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::Str8;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::ClusterError;

/// How long one listing serves.
pub const TTL: Duration = Duration::from_secs(1);

/// The node's latest listings of the cluster.
#[derive(Default)]
pub struct Listings {
    pub online: Cached<Vec<Str8>>,
    pub rooms: Cached<Vec<(Str8, u32)>>,
}

/// One listing and when it was read.
pub struct Cached<T> {
    // An async lock: requests that come while one reads wait for its answer
    // instead of reading too.
    slot: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached {
            slot: Mutex::new(None),
        }
    }
}

impl<T> Cached<T> {
    /// The listing, read by `fetch` unless one younger than `TTL` is kept.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<Arc<T>, ClusterError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ClusterError>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((read_at, listing)) = &*slot {
            if read_at.elapsed() < TTL {
                return Ok(Arc::clone(listing));
            }
        }
        let listing = Arc::new(fetch().await?);
        *slot = Some((Instant::now(), Arc::clone(&listing)));
        Ok(listing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn one_read_serves_until_it_is_a_second_old() {
        let cached: Cached<u32> = Cached::default();
        let reads = AtomicU32::new(0);
        let read = || async { Ok::<_, ClusterError>(reads.fetch_add(1, Ordering::SeqCst) + 1) };
        assert_eq!(*cached.get(read).await.unwrap(), 1);
        tokio::time::advance(TTL / 2).await;
        assert_eq!(*cached.get(read).await.unwrap(), 1, "served again");
        tokio::time::advance(TTL).await;
        assert_eq!(*cached.get(read).await.unwrap(), 2, "read anew");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_read_is_not_kept() {
        let cached: Cached<u32> = Cached::default();
        let failed = cached
            .get(|| async { Err(ClusterError::Unexpected("down".into())) })
            .await;
        assert!(failed.is_err());
        let read = cached.get(|| async { Ok(7) }).await.unwrap();
        assert_eq!(*read, 7);
    }
}
