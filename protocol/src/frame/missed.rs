//! MISSED (0x8C): a gap the client can backfill with HISTORY (`[ROOM-3]`).
//!
//! ```text
//! +-------------+-----------------+---------------+
//! | room: str8  | from_seq: u64   | to_seq: u64   |
//! +-------------+-----------------+---------------+
//! ```

use crate::wire::{wire_struct, Str8};

wire_struct! {
    /// Messages `from_seq..=to_seq` of `room` were not delivered.
    Missed { room: Str8, from_seq: u64, to_seq: u64 }
}
