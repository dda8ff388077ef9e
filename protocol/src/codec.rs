//! `tokio_util::codec` adapter so servers and clients can use `Framed` streams.

use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::{CodecError, EncodeError};
use crate::frame::{self, Frame};

/// Frames in, frames out, with the connection's `max_frame` enforced both ways.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_frame: u32,
}

impl FrameCodec {
    pub fn new(max_frame: u32) -> Self {
        FrameCodec { max_frame }
    }

    /// A client switches from the pre-greeting limit to the advertised one (`[HANDSHAKE-1]`).
    pub fn set_max_frame(&mut self, max_frame: u32) {
        self.max_frame = max_frame;
    }

    pub fn max_frame(&self) -> u32 {
        self.max_frame
    }
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        Ok(frame::decode(src, self.max_frame)?)
    }
}

impl Encoder<&Frame> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        let len = item.body_len();
        if len > self.max_frame as usize {
            return Err(EncodeError::FrameTooLarge {
                len,
                max: self.max_frame,
            }
            .into());
        }
        item.encode(dst);
        Ok(())
    }
}

impl Encoder<Frame> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.encode(&item, dst)
    }
}

/// Frames encoded once with [`Frame::to_bytes`] and shared among many connections.
impl Encoder<Bytes> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.put_slice(&item);
        Ok(())
    }
}
