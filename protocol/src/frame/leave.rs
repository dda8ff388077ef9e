//! LEAVE (0x13) and its answer LEFT (0x87) (`[ROOM-5]`).
//!
//! ```text
//! +-------------+
//! | room: str8  |
//! +-------------+
//! ```

use crate::wire::{wire_struct, Str8};

wire_struct! {
    /// Leave `room`.
    Leave { room: Str8 }
}

wire_struct! {
    /// The client is no longer a member of `room`.
    Left { room: Str8 }
}
