//! GOODBYE (0x03), either direction: the sender is closing (`[CLOSE-1]`).
//!
//! ```text
//! +--------------+---------------------+
//! | reason: u16  | message: str16      |
//! +--------------+---------------------+
//! ```

use crate::error::ErrorCode;
use crate::wire::{wire_struct, Str16};

wire_struct! {
    /// `reason` is a registry code; `ErrorCode::NORMAL` for an ordinary quit.
    Goodbye { reason: ErrorCode, message: Str16 }
}

impl Goodbye {
    pub fn new(reason: ErrorCode, message: &str) -> Self {
        Goodbye {
            reason,
            message: Str16::truncated(message),
        }
    }
}
