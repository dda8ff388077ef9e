//! ROOM_INFO (0x8F), server to client: a room's settings, sent after JOINED,
//! on every change and as the answer to ROOM_SETTINGS (`[MOD-6]`).
//!
//! ```text
//! +------------+-----------+-------------------+----------+---------------+
//! | room: str8 | modes: u8 | member_limit: u32 | role: u8 | founder: str8 |
//! +------------+-----------+-------------------+----------+---------------+
//! | changed_by: str8 | topic_by: str8 | topic_at: u64 | topic: str16 |
//! +------------------+----------------+---------------+--------------+
//! ```

use crate::wire::{wire_enum, wire_struct, Str16, Str8};

wire_enum! {
    /// A user's rank in a room, lowest first (`[MOD-3]`).
    Role {
        /// No role: an ordinary user, or any guest.
        User = 0,
        Voiced = 1,
        Operator = 2,
        Founder = 3,
        ServerOperator = 4,
    }
}

wire_struct! {
    /// The room's settings; `role` is the recipient's own rank in it, and
    /// `changed_by` who made the change announced (empty otherwise).
    RoomInfo {
        room: Str8,
        modes: u8,
        member_limit: u32,
        role: Role,
        founder: Str8,
        changed_by: Str8,
        topic_by: Str8,
        topic_at: u64,
        topic: Str16,
    }
}
