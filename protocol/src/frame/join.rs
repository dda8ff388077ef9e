//! JOIN (0x12) and its answer JOINED (0x86) (spec section 8).
//!
//! ```text
//! JOIN:   +-------------+-----------------+---------------+
//!         | room: str8  | since_seq: u64  | history: u16  |
//!         +-------------+-----------------+---------------+
//! JOINED: +-------------+-----------------+---------------+
//!         | room: str8  | next_seq: u64   | members: u32  |
//!         +-------------+-----------------+---------------+
//! ```

use crate::wire::{wire_struct, Str8};

wire_struct! {
    /// Join `room`, replaying up to `history` messages after `since_seq` (`[ROOM-2]`).
    Join { room: Str8, since_seq: u64, history: u16 }
}

wire_struct! {
    /// The join succeeded; live messages start at `next_seq`.
    Joined { room: Str8, next_seq: u64, members: u32 }
}
