//! The bounded outbound queue of one connection (`[FLOW-3]`, `[LIMIT-2]`).
//!
//! Producers (the connection's own reader and every sender fanning out to
//! it) push already-encoded frames and never wait. When the queue is full the
//! connection is a slow consumer: its queue is dropped and the writer sends
//! SLOW_CONSUMER as its last frame.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::Notify;

/// What the writer should do after draining.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Keep going.
    Open,
    /// Write what was drained, then close: the last frame is in the batch.
    Closing,
    /// The queue overflowed: send SLOW_CONSUMER and close.
    Overflowed,
}

/// The queue was full; the connection is now a slow consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

#[derive(Debug)]
struct State {
    queue: VecDeque<Bytes>,
    status: OutboxStatus,
}

#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    /// Wakes the writer when there is something to write.
    ready: Notify,
    /// Wakes a writer blocked on the socket when the queue overflows.
    overflow: Notify,
    depth: usize,
}

impl Outbox {
    pub fn new(depth: usize) -> Self {
        Outbox {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                status: OutboxStatus::Open,
            }),
            ready: Notify::new(),
            overflow: Notify::new(),
            depth,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queue inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a frame without waiting. Frames pushed after the connection
    /// started closing are dropped: it will not send them anyway.
    pub fn push(&self, frame: Bytes) -> Result<(), Overflow> {
        let mut state = self.lock();
        match state.status {
            OutboxStatus::Open => {}
            OutboxStatus::Closing => return Ok(()),
            OutboxStatus::Overflowed => return Err(Overflow),
        }
        if state.queue.len() >= self.depth {
            // spec: FLOW-3 — never wait for a slow consumer.
            state.queue = VecDeque::new();
            state.status = OutboxStatus::Overflowed;
            drop(state);
            self.ready.notify_one();
            self.overflow.notify_waiters();
            return Err(Overflow);
        }
        let was_empty = state.queue.is_empty();
        state.queue.push_back(frame);
        drop(state);
        if was_empty {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// Queues the last frame (GOODBYE or a fatal ERROR) after what is already
    /// queued, whatever the depth, and closes the queue.
    pub fn close_with(&self, last: Bytes) {
        let mut state = self.lock();
        if state.status != OutboxStatus::Open {
            return;
        }
        state.queue.push_back(last);
        state.status = OutboxStatus::Closing;
        drop(state);
        self.ready.notify_one();
    }

    /// Closes the queue with nothing more to send.
    pub fn close(&self) {
        let mut state = self.lock();
        if state.status == OutboxStatus::Open {
            state.status = OutboxStatus::Closing;
        }
        drop(state);
        self.ready.notify_one();
    }

    /// Waits until there is something to write or the queue is no longer
    /// open, then moves every queued frame into `batch`.
    pub async fn drain(&self, batch: &mut Vec<Bytes>) -> OutboxStatus {
        loop {
            {
                let mut state = self.lock();
                if !state.queue.is_empty() || state.status != OutboxStatus::Open {
                    batch.extend(state.queue.drain(..));
                    if state.queue.capacity() > 64 {
                        // Give back memory after a burst; idle connections stay small.
                        state.queue.shrink_to(16);
                    }
                    return state.status;
                }
            }
            self.ready.notified().await;
        }
    }

    /// Resolves once the queue has overflowed.
    pub async fn overflowed(&self) {
        loop {
            let notified = self.overflow.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.status() == OutboxStatus::Overflowed {
                return;
            }
            notified.await;
        }
    }

    pub fn status(&self) -> OutboxStatus {
        self.lock().status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn overflow_drops_the_queue_and_reports_it() {
        // spec: FLOW-3
        let outbox = Outbox::new(2);
        outbox.push(Bytes::from_static(b"a")).unwrap();
        outbox.push(Bytes::from_static(b"b")).unwrap();
        assert_eq!(outbox.push(Bytes::from_static(b"c")), Err(Overflow));
        let mut batch = Vec::new();
        assert_eq!(outbox.drain(&mut batch).await, OutboxStatus::Overflowed);
        assert!(batch.is_empty());
    }

    #[tokio::test]
    async fn close_with_flushes_queued_frames_first() {
        let outbox = Outbox::new(1);
        outbox.push(Bytes::from_static(b"a")).unwrap();
        outbox.close_with(Bytes::from_static(b"bye"));
        outbox.push(Bytes::from_static(b"late")).unwrap();
        let mut batch = Vec::new();
        assert_eq!(outbox.drain(&mut batch).await, OutboxStatus::Closing);
        assert_eq!(
            batch,
            [Bytes::from_static(b"a"), Bytes::from_static(b"bye")]
        );
    }
}
