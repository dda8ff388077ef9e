//! The server-wide "shutting down" signal, as every connection waits on it
//! (`[CLOSE-2]`).
//!
//! A connection's task is polled for every batch it reads or writes. Polling
//! a waiting `CancellationToken` future takes two server-wide locks each
//! time (the token's state, then its `Notify`'s waiter list), which every
//! busy connection then contends on. Here a waiter registers once; after
//! that a poll reads one atomic flag.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct Closing {
    flag: AtomicBool,
    notify: Notify,
}

impl Closing {
    /// Marks the server as closing and wakes every waiter.
    pub fn start(&self) {
        // Set before the wake-up, so that a woken waiter sees it.
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn is_closing(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once closing has started. For one task: the wake-up goes to
    /// the waker of the first poll, which is the same for every poll of a
    /// task.
    pub async fn wait(&self) {
        let mut notified = pin!(self.notify.notified());
        let mut registered = false;
        poll_fn(|cx| {
            if self.is_closing() {
                return Poll::Ready(());
            }
            if !registered {
                registered = true;
                if notified.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                // `start` may have run between the look above and the
                // registration, waking nobody.
                if self.is_closing() {
                    return Poll::Ready(());
                }
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_registered_waiter_is_woken_by_start() {
        // spec: CLOSE-2
        let closing = Arc::new(Closing::default());
        let waiter = tokio::spawn({
            let closing = Arc::clone(&closing);
            async move { closing.wait().await }
        });
        // Let the waiter register before closing starts.
        tokio::task::yield_now().await;
        closing.start();
        waiter.await.expect("the waiter ends once closing starts");
    }

    #[tokio::test]
    async fn a_waiter_after_start_is_ready_at_once() {
        let closing = Closing::default();
        closing.start();
        closing.wait().await;
    }
}
