//! HISTORY (0x18) and HISTORY_END (0x8B) (spec section 11).
//!
//! ```text
//! HISTORY:     +----------+---------------+----------------+-------------+-------------+
//!              | kind: u8 | target: str8  | direction: u8  | anchor: u64 | limit: u16  |
//!              +----------+---------------+----------------+-------------+-------------+
//! HISTORY_END: +----------+---------------+----------------+-------------+
//!              | kind: u8 | target: str8  | count: u16     | flags: u8   |
//!              +----------+---------------+----------------+-------------+
//! ```

use crate::wire::{wire_enum, wire_struct, Str8};

wire_enum! {
    /// What a history request is about.
    HistoryKind {
        /// A room; the anchor is a sequence number.
        Room = 0,
        /// Direct messages with one user; the anchor is a message id.
        Direct = 1,
    }
}

wire_enum! {
    /// Which side of the anchor to read.
    Direction {
        /// The latest messages below the anchor (anchor 0: from the newest).
        Before = 0,
        /// The earliest messages above the anchor.
        After = 1,
    }
}

wire_struct! {
    /// Asks for past messages.
    History { kind: HistoryKind, target: Str8, direction: Direction, anchor: u64, limit: u16 }
}

wire_struct! {
    /// Ends a HISTORY answer or a JOIN replay.
    HistoryEnd { kind: HistoryKind, target: Str8, count: u16, flags: u8 }
}

impl HistoryEnd {
    /// Flag bit 0: more messages exist beyond those sent.
    pub const MORE: u8 = 0x01;
}
