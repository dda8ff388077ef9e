//! PRESENCE (0x8A): join, leave and disconnect notices (`[PRESENCE-2]`).
//!
//! ```text
//! +-----------+-------------+-----------------+-----------+
//! | event: u8 | room: str8  | username: str8  | time: u64 |
//! +-----------+-------------+-----------------+-----------+
//! ```

use crate::wire::{wire_enum, wire_struct, Str8};

wire_enum! {
    /// What happened to the member.
    PresenceEvent {
        Joined = 1,
        Left = 2,
        /// Left every room because the connection ended.
        Disconnected = 3,
    }
}

wire_struct! {
    /// `username` joined, left or disconnected from `room`.
    Presence { event: PresenceEvent, room: Str8, username: Str8, time: u64 }
}
