//! ROOM_LIST_INFO (0x92), server to client: ROOM_LIST with each room's modes
//! and topic, for clients that set HELLO `MODERATION` (`[MOD-17]`).
//!
//! ```text
//! +-----------+------------+----------------------------------------------------------+
//! | flags: u8 | count: u16 | count x (name: str8, members: u32, modes: u8, topic: str16) |
//! +-----------+------------+----------------------------------------------------------+
//! ```

use crate::wire::{wire_struct, List, Str16, Str8};

wire_struct! {
    /// One room of a ROOM_LIST_INFO page.
    RoomInfoEntry { name: Str8, members: u32, modes: u8, topic: Str16 }
}

wire_struct! {
    /// One page of the room list; flag `MORE` when another page follows.
    RoomListInfo { flags: u8, rooms: List<RoomInfoEntry> }
}

impl RoomListInfo {
    /// Flag bit 0: another page of the same answer follows.
    pub const MORE: u8 = 0x01;
}
