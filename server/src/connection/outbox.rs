//! The bounded outbound queue of one connection (`[FLOW-3]`, `[LIMIT-2]`).
//!
//! Producers (the connection's own reader and every sender fanning out to
//! it) push already-encoded frames and never wait. When the queue is full the
//! connection is a slow consumer: its queue is dropped and the writer sends
//! SLOW_CONSUMER as its last frame.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::Poll;

use bytes::Bytes;
use futures_util::task::AtomicWaker;

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
    /// Frames in the last batch handed over: the next queue is sized for
    /// as many at its first push, not regrown from nothing under load.
    last_batch: u32,
}

/// Most frames a new queue reserves room for at its first push.
const PRESIZE_MAX: u32 = 1024;

#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    /// The connection's task (reader and writer run in one), woken when
    /// there is something to write or the queue overflowed. Lock-free for
    /// the senders fanning out to it, and nothing stored in the waiting task.
    writer: AtomicWaker,
    /// Set by the writer when the connection's output has ended, for the
    /// reader (same task) to stop too.
    output_ended: AtomicBool,
    depth: usize,
}

impl Outbox {
    pub fn new(depth: usize) -> Self {
        Outbox {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                status: OutboxStatus::Open,
                last_batch: 0,
            }),
            writer: AtomicWaker::new(),
            output_ended: AtomicBool::new(false),
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
            self.writer.wake();
            return Err(Overflow);
        }
        let was_empty = state.queue.is_empty();
        if state.queue.capacity() == 0 {
            let expected = state.last_batch.min(PRESIZE_MAX) as usize;
            state.queue.reserve(expected.max(4));
        }
        state.queue.push_back(frame);
        drop(state);
        if was_empty {
            self.writer.wake();
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
        self.writer.wake();
    }

    /// Closes the queue with nothing more to send.
    pub fn close(&self) {
        let mut state = self.lock();
        if state.status == OutboxStatus::Open {
            state.status = OutboxStatus::Closing;
        }
        drop(state);
        self.writer.wake();
    }

    /// Waits until there is something to write or the queue is no longer
    /// open, then hands over every queued frame, allocation and all: an idle
    /// connection's queue holds no memory.
    pub async fn drain(&self) -> (VecDeque<Bytes>, OutboxStatus) {
        poll_fn(|cx| {
            // Registered before looking, so a push after the look wakes us.
            self.writer.register(cx.waker());
            let mut state = self.lock();
            if !state.queue.is_empty() || state.status != OutboxStatus::Open {
                state.last_batch = state.queue.len() as u32;
                return Poll::Ready((std::mem::take(&mut state.queue), state.status));
            }
            Poll::Pending
        })
        .await
    }

    /// Resolves once the queue has overflowed.
    pub async fn overflowed(&self) {
        self.reaches(OutboxStatus::Overflowed).await
    }

    /// Resolves once the connection is closing (`close` or `close_with`).
    pub async fn closing(&self) {
        self.reaches(OutboxStatus::Closing).await
    }

    /// Resolves once the queue's status is `wanted`. Pushes wake it too; it
    /// then goes back to waiting.
    async fn reaches(&self, wanted: OutboxStatus) {
        poll_fn(|cx| {
            self.writer.register(cx.waker());
            if self.status() == wanted {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Whether at least half the queue's depth is waiting for the writer.
    pub fn is_backlogged(&self) -> bool {
        self.lock().queue.len() >= self.depth / 2
    }

    /// The writer is done: nothing more will be sent on this connection.
    pub fn end_output(&self) {
        self.output_ended.store(true, Ordering::Release);
    }

    pub fn output_ended(&self) -> bool {
        self.output_ended.load(Ordering::Acquire)
    }

    fn status(&self) -> OutboxStatus {
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
        let (batch, status) = outbox.drain().await;
        assert_eq!(status, OutboxStatus::Overflowed);
        assert!(batch.is_empty());
    }

    #[tokio::test]
    async fn close_with_flushes_queued_frames_first() {
        let outbox = Outbox::new(1);
        outbox.push(Bytes::from_static(b"a")).unwrap();
        outbox.close_with(Bytes::from_static(b"bye"));
        outbox.push(Bytes::from_static(b"late")).unwrap();
        let (batch, status) = outbox.drain().await;
        assert_eq!(status, OutboxStatus::Closing);
        assert_eq!(
            batch,
            [Bytes::from_static(b"a"), Bytes::from_static(b"bye")]
        );
    }
}
