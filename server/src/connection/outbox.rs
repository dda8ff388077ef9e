//! The bounded outbound queue of one connection (`[FLOW-3]`, `[LIMIT-2]`,
//! `[MEM-2]`).
//!
//! Producers (the connection's own reader and every sender fanning out to
//! it) push already-encoded frames and never wait. When the queue is full —
//! `queue_depth` frames, or `queue_bytes` bytes counting those the writer
//! holds but has not written yet, or the server-wide budget is spent and
//! this queue holds more than its share — the connection is a slow
//! consumer: its queue is dropped and the writer sends SLOW_CONSUMER as its
//! last frame. Long answers wait for room instead (`paced`).
//!
//! It also keeps the connection's lifecycle (`lifecycle.rs`).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use bytes::Bytes;
use confab_protocol::ErrorCode;
use futures_util::task::AtomicWaker;

use super::lifecycle::{AtomicLifecycle, Lifecycle};

mod global;
pub use global::{GlobalQueue, SHARE_DIVISOR};

/// The queue was full; the connection is now a slow consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

#[derive(Debug)]
struct State {
    /// Only pushed to and handed over whole: a `Vec` (24 bytes, not a
    /// `VecDeque`'s 32) keeps the outbox at 80 bytes, whose `Arc` takes
    /// jemalloc's 96-byte size class. The writer makes it a `VecDeque`
    /// (no copy) to take frames from the front. An entry is one pointer: a
    /// frame shared by a room's members is one `Arc`, so a fan-out to 100
    /// members writes 800 bytes of queues, not the 3,200 of 32-byte `Bytes`
    /// (BENCHMARKS.md, "Smaller queue entries").
    queue: Vec<Arc<Bytes>>,
    /// Frames in the last batch handed over: the next queue is sized for
    /// as many at its first push, not regrown from nothing under load.
    /// Counted up to `PRESIZE_MAX`, in 16 bits: with `bytes` and `pacing`
    /// it fits the 8 bytes after the queue.
    last_batch: u16,
    /// Bytes queued, plus those handed to the writer and not yet written;
    /// 32 bits (saturated), as the byte budget, so an idle queue's block
    /// takes a smaller allocator chunk.
    bytes: u32,
    /// A long answer waits for the queue to go below half its byte budget.
    pacing: bool,
}

/// Most frames a new queue reserves room for at its first push.
const PRESIZE_MAX: u16 = 1024;

#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    /// The connection's task (reader and writer run in one), woken when
    /// there is something to write or the lifecycle moved. Lock-free for
    /// the senders fanning out to it, and nothing stored in the waiting task.
    writer: AtomicWaker,
    /// Changed only under the `state` lock, with the queue.
    lifecycle: AtomicLifecycle,
    /// The server-wide count, and the queue's depth and byte budget.
    global: Arc<GlobalQueue>,
}

impl Outbox {
    pub fn new(global: Arc<GlobalQueue>) -> Self {
        Outbox {
            state: Mutex::new(State {
                queue: Vec::new(),
                last_batch: 0,
                bytes: 0,
                pacing: false,
            }),
            writer: AtomicWaker::new(),
            lifecycle: AtomicLifecycle::new(),
            global,
        }
    }

    fn depth(&self) -> usize {
        self.global.depth as usize
    }

    fn byte_budget(&self) -> usize {
        self.global.byte_budget as usize
    }

    /// Whether one more frame of `len` bytes overflows the queue.
    fn is_full(&self, state: &State, len: usize) -> bool {
        self.is_full_with(state, 0, len)
    }

    /// [`Outbox::is_full`], with `pending` bytes queued but not counted yet.
    fn is_full_with(&self, state: &State, pending: usize, len: usize) -> bool {
        let bytes = state.bytes as usize + pending;
        if state.queue.len() >= self.depth() || bytes + len > self.byte_budget() {
            return true;
        }
        // spec: MEM-2 — past the global budget, the big queues are cut.
        self.global.total() + pending + len > self.global.budget
            && bytes > self.byte_budget() / SHARE_DIVISOR
    }

    /// Counts `len` more bytes, here and server-wide alike (the same
    /// amount, should the 32-bit count saturate).
    fn count(&self, state: &mut State, len: usize) {
        let added = u32::try_from(len)
            .unwrap_or(u32::MAX)
            .min(u32::MAX - state.bytes);
        state.bytes += added;
        self.global
            .total
            .fetch_add(added as usize, Ordering::Relaxed);
    }

    /// Uncounts up to `len` bytes, here and server-wide alike.
    fn uncount(&self, state: &mut State, len: usize) -> u32 {
        let removed = u32::try_from(len).unwrap_or(u32::MAX).min(state.bytes);
        state.bytes -= removed;
        self.global
            .total
            .fetch_sub(removed as usize, Ordering::Relaxed);
        removed
    }

    /// The queue overflowed: its frames are dropped (those the writer holds
    /// are still counted until it lets them go). Only from `Open`.
    fn overflow(&self, state: &mut State) {
        if !self.lifecycle.advance(Lifecycle::Overflowed) {
            return;
        }
        let dropped: usize = state.queue.iter().map(|frame| frame.len()).sum();
        self.uncount(state, dropped);
        state.queue = Vec::new();
    }

    /// Where the connection is in its life.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle.get()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queue inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a frame without waiting: a shared one (`Arc<Bytes>`, cloned
    /// for each recipient) or one of its own (`Bytes`). Frames pushed after
    /// the connection started closing are dropped: it will not send them anyway.
    pub fn push(&self, frame: impl Into<Arc<Bytes>>) -> Result<(), Overflow> {
        let frame = frame.into();
        let mut state = self.lock();
        match self.lifecycle.get() {
            Lifecycle::Open => {}
            Lifecycle::Closing(_) | Lifecycle::Ended => return Ok(()),
            Lifecycle::Overflowed => return Err(Overflow),
        }
        if self.is_full(&state, frame.len()) {
            // spec: FLOW-3, MEM-2 — never wait for a slow consumer.
            self.overflow(&mut state);
            drop(state);
            self.writer.wake();
            return Err(Overflow);
        }
        let was_empty = state.queue.is_empty();
        if state.queue.capacity() == 0 {
            let expected = usize::from(state.last_batch.min(PRESIZE_MAX));
            state.queue.reserve(expected.max(4));
        }
        self.count(&mut state, frame.len());
        state.queue.push(frame);
        drop(state);
        if was_empty {
            self.writer.wake();
        }
        Ok(())
    }

    /// Queues shared frames one after another without waiting, as many
    /// [`Outbox::push`]es would, under one hold of the lock; how many were
    /// queued.
    pub fn push_many(&self, frames: &[Arc<Bytes>]) -> usize {
        let mut state = self.lock();
        if self.lifecycle.get() != Lifecycle::Open {
            return 0;
        }
        let was_empty = state.queue.is_empty();
        let mut queued = 0;
        let mut bytes = 0;
        for frame in frames {
            if self.is_full_with(&state, bytes, frame.len()) {
                // spec: FLOW-3, MEM-2 — never wait for a slow consumer.
                self.count(&mut state, bytes);
                self.overflow(&mut state);
                drop(state);
                self.writer.wake();
                return 0;
            }
            bytes += frame.len();
            state.queue.push(Arc::clone(frame));
            queued += 1;
        }
        // One server-wide add for them all.
        self.count(&mut state, bytes);
        drop(state);
        if was_empty && queued > 0 {
            self.writer.wake();
        }
        queued
    }

    /// Queues the last frame (GOODBYE or a fatal ERROR, closing with
    /// `code`) after what is already queued, whatever the depth: `Open` →
    /// `Closing(code)`. Too late once the connection is not open.
    pub fn close_with(&self, code: ErrorCode, last: Bytes) {
        let mut state = self.lock();
        if !self.lifecycle.advance(Lifecycle::Closing(code)) {
            return;
        }
        self.count(&mut state, last.len());
        state.queue.push(Arc::new(last));
        drop(state);
        self.writer.wake();
    }

    /// Closes with nothing more to send: `Open` → `Closing(NORMAL)`.
    pub fn close(&self) {
        let state = self.lock();
        self.lifecycle
            .advance(Lifecycle::Closing(ErrorCode::NORMAL));
        drop(state);
        self.writer.wake();
    }

    /// The writer is done: nothing more will be sent (→ `Ended`). The
    /// wake-up brings the reader, in the same task, to look.
    pub fn end_output(&self) {
        let state = self.lock();
        self.lifecycle.advance(Lifecycle::Ended);
        drop(state);
        self.writer.wake();
    }

    /// Ready once the connection is no longer open, with where it is; the
    /// task is woken at every transition. A poll function: every idle
    /// connection's reader waits on it.
    pub fn poll_stopped(&self, cx: &mut std::task::Context<'_>) -> Poll<Lifecycle> {
        self.writer.register(cx.waker());
        match self.lifecycle.get() {
            Lifecycle::Open => Poll::Pending,
            other => Poll::Ready(other),
        }
    }

    /// Resolves once the connection is no longer open, with where it is.
    #[cfg(test)]
    pub fn stopped(&self) -> impl std::future::Future<Output = Lifecycle> + '_ {
        poll_fn(|cx| self.poll_stopped(cx))
    }

    /// Waits until there is something to write or the connection is no
    /// longer open, then hands over every queued frame, allocation and all
    /// (an idle connection's queue holds no memory), with the lifecycle
    /// they were taken in. A plain poll function, holding `self` once.
    pub fn drain(
        &self,
    ) -> impl std::future::Future<Output = (VecDeque<Arc<Bytes>>, Lifecycle)> + '_ {
        poll_fn(move |cx| {
            // Registered before looking, so a push after the look wakes us.
            self.writer.register(cx.waker());
            let mut state = self.lock();
            let lifecycle = self.lifecycle.get();
            if !state.queue.is_empty() || lifecycle != Lifecycle::Open {
                state.last_batch = state.queue.len().min(usize::from(PRESIZE_MAX)) as u16;
                let batch = VecDeque::from(std::mem::take(&mut state.queue));
                return Poll::Ready((batch, lifecycle));
            }
            Poll::Pending
        })
    }

    /// Adds what was queued since `batch` was taken to it, without waiting.
    pub fn take_more(&self, batch: &mut VecDeque<Arc<Bytes>>) {
        let queued = std::mem::take(&mut self.lock().queue);
        batch.extend(queued);
    }

    /// The writer has written (or let go of) frames of `len` bytes in all.
    pub fn written(&self, len: usize) {
        let mut state = self.lock();
        self.uncount(&mut state, len);
        let wake =
            std::mem::take(&mut state.pacing) && state.bytes as usize <= self.byte_budget() / 2;
        drop(state);
        if wake {
            self.writer.wake();
        }
    }

    /// Waits until the queue holds at most half its byte budget, or is no
    /// longer open: a long answer is produced as the client reads it
    /// (`[MEM-2]`), not queued whole.
    pub async fn paced(&self) {
        poll_fn(|cx| {
            self.writer.register(cx.waker());
            let mut state = self.lock();
            if state.bytes as usize <= self.byte_budget() / 2
                || self.lifecycle.get() != Lifecycle::Open
            {
                Poll::Ready(())
            } else {
                state.pacing = true;
                Poll::Pending
            }
        })
        .await
    }

    /// The client did not read a long answer in time: a slow consumer.
    pub fn give_up(&self) {
        let mut state = self.lock();
        self.overflow(&mut state);
        drop(state);
        self.writer.wake();
    }

    /// Resolves once the queue has overflowed.
    pub async fn overflowed(&self) {
        self.reaches(|l| l == Lifecycle::Overflowed).await
    }

    /// Resolves once the connection is closing (`close` or `close_with`).
    pub async fn closing(&self) {
        self.reaches(|l| matches!(l, Lifecycle::Closing(_))).await
    }

    /// Resolves once the lifecycle is as `wanted`. Pushes wake it too; it
    /// then goes back to waiting.
    async fn reaches(&self, wanted: impl Fn(Lifecycle) -> bool) {
        poll_fn(|cx| {
            self.writer.register(cx.waker());
            if wanted(self.lifecycle.get()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Whether at least half the queue's depth is waiting for the writer.
    pub fn is_backlogged(&self) -> bool {
        self.lock().queue.len() >= self.depth() / 2
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        // Whatever was never written leaves the server-wide count.
        let bytes = self.lock().bytes;
        self.global
            .total
            .fetch_sub(bytes as usize, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
