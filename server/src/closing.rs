//! The server-wide "shutting down" signal, as every connection waits on it
//! (`[CLOSE-2]`).
//!
//! A connection's task is polled for every batch it reads or writes. Polling
//! a waiting `CancellationToken` future takes two server-wide locks each
//! time (the token's state, then its `Notify`'s waiter list), which every
//! busy connection then contends on. Here a waiter registers once (one lock,
//! per connection, not per message); after that a poll reads one atomic flag.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::sync::lock;

#[derive(Debug, Default)]
pub struct Closing {
    flag: AtomicBool,
    /// The waiting tasks' wakers, kept here rather than in each waiter: a
    /// `Notify` waiter would add a hundred bytes to every idle connection's
    /// future, a slot here costs it 16.
    waiters: Mutex<Waiters>,
}

#[derive(Debug, Default)]
struct Waiters {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

/// Waits for closing to start ([`Closing::wait`]). Written by hand, two
/// words: every idle connection holds one, and an `async fn` around a
/// `poll_fn` kept its references three times over (56 bytes).
pub struct Wait<'a> {
    closing: &'a Closing,
    /// The waiter's slot once registered, given back when the wait ends or
    /// is dropped; `NO_SLOT` before.
    slot: usize,
}

const NO_SLOT: usize = usize::MAX;

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if self.slot != NO_SLOT {
            let mut waiters = lock(&self.closing.waiters);
            waiters.slots[self.slot] = None;
            waiters.free.push(self.slot);
        }
    }
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // No field is pinned: `Wait` is `Unpin`.
        let this = self.get_mut();
        let closing = this.closing;
        if closing.is_closing() {
            return Poll::Ready(());
        }
        if this.slot == NO_SLOT {
            let mut waiters = lock(&closing.waiters);
            // `start` may have run since the look above, under this lock.
            if closing.is_closing() {
                return Poll::Ready(());
            }
            let waker = Some(cx.waker().clone());
            this.slot = match waiters.free.pop() {
                Some(index) => {
                    waiters.slots[index] = waker;
                    index
                }
                None => {
                    waiters.slots.push(waker);
                    waiters.slots.len() - 1
                }
            };
        }
        Poll::Pending
    }
}

impl Closing {
    /// Marks the server as closing and wakes every waiter.
    pub fn start(&self) {
        // Set before the wake-up, so that a woken waiter sees it.
        self.flag.store(true, Ordering::SeqCst);
        let wakers: Vec<Waker> = lock(&self.waiters)
            .slots
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        wakers.into_iter().for_each(Waker::wake);
    }

    fn is_closing(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once closing has started. For one task: the wake-up goes to
    /// the waker of the first poll, which is the same for every poll of a
    /// task.
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            closing: self,
            slot: NO_SLOT,
        }
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
