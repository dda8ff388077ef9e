//! The writing side of a connection: drains the outbox in batches, coalesced
//! into few syscalls, and ends the connection's output cleanly.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use confab_protocol::frame::{ErrorFrame, Frame};
use confab_protocol::ErrorCode;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::outbox::{Outbox, OutboxStatus};

/// How long the frame being written when the queue overflows, and then the
/// SLOW_CONSUMER error, may take before the connection is simply dropped.
const OVERFLOW_GRACE: Duration = Duration::from_secs(5);

/// A batch bigger than this is written in several calls, so the buffer stays small.
const MAX_COALESCE: usize = 64 * 1024;

pub async fn run<W: AsyncWrite + Unpin>(
    mut write_half: W,
    outbox: Arc<Outbox>,
    cut: CancellationToken,
) {
    let mut batch = Vec::new();
    let mut buf = BytesMut::new();
    'outer: loop {
        let status = outbox.drain(&mut batch).await;
        if status == OutboxStatus::Overflowed {
            cut.cancel();
            write_slow_consumer(&mut write_half).await;
            break;
        }
        // One allocation of the right size per batch, not a series of regrowths.
        let total: usize = batch.iter().map(|frame| frame.len()).sum();
        buf.reserve(total.min(MAX_COALESCE));
        let mut frames = batch.drain(..).peekable();
        while frames.peek().is_some() {
            for frame in frames.by_ref() {
                buf.extend_from_slice(&frame);
                if buf.len() >= MAX_COALESCE {
                    break;
                }
            }
            let mut offset = 0;
            while offset < buf.len() {
                tokio::select! {
                    written = write_half.write(&buf[offset..]) => match written {
                        Ok(0) | Err(_) => break 'outer,
                        Ok(n) => offset += n,
                    },
                    _ = outbox.overflowed() => {
                        // spec: FLOW-3 — the member leaves its rooms now; its
                        // socket gets the rest of what it was sent (so no frame
                        // is cut), then why it is closed, if it reads in time.
                        warn!("slow consumer: outbound queue overflowed, disconnecting");
                        cut.cancel();
                        let rest = &buf[offset..];
                        let finish = async {
                            write_half.write_all(rest).await?;
                            write_half.write_all(&slow_consumer_error()).await
                        };
                        if timeout(OVERFLOW_GRACE, finish).await.is_err() {
                            warn!("slow consumer did not read its last frames; dropping it");
                        }
                        break 'outer;
                    }
                }
            }
            buf.clear();
        }
        // Between batches a connection holds no write buffer: most are idle.
        buf = BytesMut::new();
        if status == OutboxStatus::Closing {
            break;
        }
    }
    let _ = timeout(OVERFLOW_GRACE, write_half.shutdown()).await;
    cut.cancel();
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

async fn write_slow_consumer<W: AsyncWrite + Unpin>(write_half: &mut W) {
    warn!("slow consumer: outbound queue overflowed, disconnecting");
    let _ = timeout(OVERFLOW_GRACE, write_half.write_all(&slow_consumer_error())).await;
}
