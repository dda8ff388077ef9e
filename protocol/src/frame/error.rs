//! ERROR (0x04), either direction (spec section 15).
//!
//! ```text
//! +-----------+-------------+-----------------+------------------+----------------+
//! | code: u16 | flags: u8   | frame_type: u8  | client_ref: u32  | message: str16 |
//! +-----------+-------------+-----------------+------------------+----------------+
//! ```

use bytes::{Bytes, BytesMut};
use nom::Parser;

use crate::error::ErrorCode;
use crate::wire::{field, wire_struct, PResult, Str16, WireField};

wire_struct! {
    /// An error report. `frame_type` and `client_ref` say what caused it (0 if nothing).
    ErrorFrame { code: ErrorCode, flags: u8, frame_type: u8, client_ref: u32, message: Str16 }
}

impl ErrorFrame {
    /// Flag bit 0: the sender closes the connection after this frame.
    pub const FATAL: u8 = 0x01;

    /// An ERROR whose FATAL flag follows the registry (`[ERROR-1]`).
    pub fn new(code: ErrorCode, frame_type: u8, client_ref: u32, message: &str) -> Self {
        ErrorFrame {
            code,
            flags: if code.is_fatal() { Self::FATAL } else { 0 },
            frame_type,
            client_ref,
            message: Str16::truncated(message),
        }
    }

    /// Whether the sender will close after it.
    pub fn is_fatal(&self) -> bool {
        self.flags & Self::FATAL != 0
    }
}

impl WireField for ErrorCode {
    const MIN_LEN: usize = 2;
    fn parse<'a>(input: &'a [u8], body: &Bytes) -> PResult<'a, Self> {
        field::<u16>(body).map(ErrorCode).parse(input)
    }

    fn put(&self, dst: &mut BytesMut) {
        self.0.put(dst);
    }

    fn wire_len(&self) -> usize {
        2
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.0)
    }
}
