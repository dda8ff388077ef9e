//! AUDIT (0x1E), client to server: a page of the moderation log (`[MOD-16]`).
//!
//! ```text
//! +------------+-------------+-------------+
//! | room: str8 | before: u64 | limit: u16  |
//! +------------+-------------+-------------+
//! ```

use crate::wire::{wire_struct, Str8};

wire_struct! {
    /// The latest `limit` entries of `room` (`""`: the whole log) with ids below
    /// `before` (0: from the newest).
    Audit { room: Str8, before: u64, limit: u16 }
}
