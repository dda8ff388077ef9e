//! The writing side of a connection: drains the outbox in batches, coalesced
//! into few syscalls, and ends the connection's output cleanly (the
//! `Ended` row of `lifecycle.rs`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use confab_protocol::frame::{ErrorFrame, Frame};
use confab_protocol::ErrorCode;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;
use tracing::warn;

use super::lifecycle::Lifecycle;
use super::outbox::Outbox;
use crate::metrics::Metrics;

/// How long the frame being written when the queue overflows, and then the
/// SLOW_CONSUMER error, may take before the connection is simply dropped.
const OVERFLOW_GRACE: Duration = Duration::from_secs(5);

/// How long a closing connection's peer has to read what is still queued
/// (`[CLOSE-4]`); one that does not read is not kept waiting for.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// A batch bigger than this is written in several calls, so the buffer stays small.
const MAX_COALESCE: usize = 64 * 1024;

/// Writes what the outbox hands over until the connection's output ends.
///
/// Waiting for frames is all an idle connection does here, so only that wait
/// is inline; writing a batch, and every rare path, is a boxed future.
/// An `async` block rather than an `async fn`, which would keep its
/// arguments twice.
// An `async fn` would keep its arguments twice: see above.
#[allow(clippy::manual_async_fn)]
pub fn run<'a, W: AsyncWrite + Unpin + 'a>(
    mut write_half: W,
    outbox: &'a Outbox,
    metrics: &'a Metrics,
) -> impl std::future::Future<Output = ()> + 'a {
    async move {
        loop {
            // Every rare path, and writing itself, is boxed: inline, its state
            // would size the future of every idle connection. The batch lives
            // in this block only: a local kept beside the wait would too.
            let writing = {
                let (batch, lifecycle) = outbox.drain().await;
                metrics.queue_depth.observe(batch.len() as u64);
                Box::pin(write_or_cut_off(
                    &mut write_half,
                    batch,
                    lifecycle,
                    outbox,
                    metrics,
                ))
            };
            if !writing.await {
                break;
            }
        }
        if outbox.lifecycle() == Lifecycle::Overflowed {
            metrics.slow_consumer_cuts.inc();
            metrics.error_sent(ErrorCode::SLOW_CONSUMER, 0);
        }
        outbox.end_output();
        let _ = Box::pin(timeout(OVERFLOW_GRACE, write_half.shutdown())).await;
    }
}

/// Writes a batch taken in `lifecycle`, or cuts off a slow consumer;
/// whether to go on.
async fn write_or_cut_off<W: AsyncWrite + Unpin>(
    write_half: &mut W,
    mut batch: VecDeque<Arc<Bytes>>,
    lifecycle: Lifecycle,
    outbox: &Outbox,
    metrics: &Metrics,
) -> bool {
    if lifecycle == Lifecycle::Overflowed {
        drop(batch);
        cut_off_slow_consumer(write_half, &[]).await;
        return false;
    }
    if lifecycle == Lifecycle::Open {
        // Redis's habit of writing replies just before its event loop sleeps:
        // the batch waits until the tasks runnable now have run and the
        // socket events have been polled once, and takes what they queued
        // meanwhile. When many senders share a room, writes come out fewer
        // and fuller (BENCHMARKS.md, "Fewer, fuller writes").
        tokio::task::yield_now().await;
        outbox.take_more(&mut batch);
    }
    write_batch_bounded(write_half, batch, outbox, metrics).await && lifecycle == Lifecycle::Open
}

/// [`write_batch`], given at most `CLOSE_GRACE` more once the connection is
/// closing: a peer that stopped reading must not hold its connection, and
/// its place in the server's counts, for ever (`[CLOSE-4]`).
async fn write_batch_bounded<W: AsyncWrite + Unpin>(
    write_half: &mut W,
    batch: VecDeque<Arc<Bytes>>,
    outbox: &Outbox,
    metrics: &Metrics,
) -> bool {
    // Counted here, not in `run`: every idle connection's future holds
    // what `run` keeps across this wait.
    let bytes: usize = batch.iter().map(|frame| frame.len()).sum();
    let mut writing = std::pin::pin!(write_batch(write_half, batch, outbox));
    let done = tokio::select! {
        biased;
        done = &mut writing => done,
        _ = outbox.closing() => match timeout(CLOSE_GRACE, writing).await {
            Ok(done) => done,
            Err(_) => {
                warn!("the peer did not read its last frames in {CLOSE_GRACE:?}; dropping them");
                false
            }
        },
    };
    if done {
        metrics.bytes_out.inc_by(bytes as u64);
    }
    done
}

/// Writes one batch, coalesced into few syscalls; false when the connection
/// cannot go on (write failed, or the queue overflowed meanwhile).
async fn write_batch<W: AsyncWrite + Unpin>(
    write_half: &mut W,
    mut batch: VecDeque<Arc<Bytes>>,
    outbox: &Outbox,
) -> bool {
    // One allocation of the right size per batch, not a series of regrowths.
    let total: usize = batch.iter().map(|frame| frame.len()).sum();
    let mut buf = BytesMut::with_capacity(total.min(MAX_COALESCE));
    while !batch.is_empty() {
        while let Some(frame) = batch.pop_front() {
            buf.extend_from_slice(&frame);
            if buf.len() >= MAX_COALESCE {
                break;
            }
        }
        let mut offset = 0;
        while offset < buf.len() {
            tokio::select! {
                written = write_half.write(&buf[offset..]) => match written {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => offset += n,
                },
                _ = outbox.overflowed() => {
                    // The rest of the batch will never be sent: let it go
                    // now, not after the grace of the last write.
                    drop(batch);
                    cut_off_slow_consumer(write_half, &buf[offset..]).await;
                    return false;
                }
            }
        }
        // spec: MEM-2 — the queue's bytes count until they are written.
        outbox.written(buf.len());
        buf.clear();
    }
    // TLS may hold encrypted bytes back after `write` took them; flushing a
    // plain socket does nothing.
    tokio::select! {
        flushed = write_half.flush() => flushed.is_ok(),
        _ = outbox.overflowed() => {
            cut_off_slow_consumer(write_half, &[]).await;
            false
        }
    }
}

/// The queue overflowed while a batch was being written.
async fn cut_off_slow_consumer<W: AsyncWrite + Unpin>(write_half: &mut W, rest: &[u8]) {
    // spec: FLOW-3 — the member has left its rooms (the reader stops at
    // `Overflowed`); its socket gets the
    // rest of what it was sent (so no frame is cut), then why it is closed,
    // if it reads in time.
    warn!("slow consumer: outbound queue overflowed, disconnecting");
    finish_slow_consumer(write_half, rest).await;
}

/// Writes the rest of the frame being written when the queue overflowed (so
/// no frame is cut), then why the connection is closed, if the peer reads in time.
async fn finish_slow_consumer<W: AsyncWrite + Unpin>(write_half: &mut W, rest: &[u8]) {
    let finish = async {
        write_half.write_all(rest).await?;
        write_half.write_all(&slow_consumer_error()).await
    };
    if timeout(OVERFLOW_GRACE, finish).await.is_err() {
        warn!("slow consumer did not read its last frames; dropping it");
    }
}

fn slow_consumer_error() -> bytes::Bytes {
    Frame::ErrorFrame(ErrorFrame::new(
        ErrorCode::SLOW_CONSUMER,
        0,
        0,
        "your outbound queue overflowed; reconnect and JOIN with since_seq to catch up",
    ))
    .to_bytes()
}

#[cfg(test)]
mod tests;
