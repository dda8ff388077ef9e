//! For unit tests: the frames behind the bytes an outbox queued.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use confab_protocol::frame::{decode, Frame};

/// Decodes each queued buffer, one whole frame a buffer.
pub(crate) fn decode_all<'a>(queued: impl IntoIterator<Item = &'a Arc<Bytes>>) -> Vec<Frame> {
    queued
        .into_iter()
        .map(|bytes| {
            let mut buffer = BytesMut::from(&bytes[..]);
            decode(&mut buffer, u32::MAX)
                .expect("a frame the server encoded")
                .expect("a whole frame")
        })
        .collect()
}
