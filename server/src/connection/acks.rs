//! `[ORDER-1]`: the stored messages of one connection that are not yet
//! acknowledged. With a store, an ACK is queued only after the commit, so a
//! later answer (an ERROR, a WHO_LIST...) must wait for it, and so must the
//! connection's last frame: requests are answered in the order they came.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// A connection's [`Unacked`], made at its first message: a connection
/// that sends nothing (most idle ones) holds no allocation for it.
#[derive(Debug, Default)]
pub struct LazyUnacked(Option<Arc<Unacked>>);

impl LazyUnacked {
    /// The connection's ACK count, made now if need be.
    pub fn get(&mut self) -> &Arc<Unacked> {
        self.0.get_or_insert_with(Arc::default)
    }

    pub fn any(&self) -> bool {
        self.0.as_ref().is_some_and(|unacked| unacked.any())
    }

    /// Waits until every owed ACK is queued.
    pub async fn settled(&self) {
        if let Some(unacked) = &self.0 {
            unacked.settled().await;
        }
    }
}

#[derive(Debug, Default)]
pub struct Unacked {
    count: AtomicUsize,
    drained: Notify,
}

impl Unacked {
    /// A message went to the store; its ACK is owed.
    pub fn owe(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    /// Its ACK is queued.
    pub fn paid(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.drained.notify_waiters();
        }
    }

    pub fn any(&self) -> bool {
        self.count.load(Ordering::Acquire) > 0
    }

    /// Waits until every owed ACK is queued.
    pub async fn settled(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if !self.any() {
                return;
            }
            drained.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settles_when_the_last_ack_is_paid() {
        let unacked = Arc::new(Unacked::default());
        unacked.settled().await;
        unacked.owe();
        unacked.owe();
        let waiter = tokio::spawn({
            let unacked = Arc::clone(&unacked);
            async move { unacked.settled().await }
        });
        unacked.paid();
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        unacked.paid();
        waiter.await.unwrap();
    }
}
