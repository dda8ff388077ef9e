//! LIST_ROOMS (0x14) and its answer ROOM_LIST (0x88) (`[ROOM-6]`).
//!
//! ```text
//! LIST_ROOMS: (empty body)
//! ROOM_LIST:  +-----------+------------+------------------------------------+
//!             | flags: u8 | count: u16 | count x (name: str8, members: u32) |
//!             +-----------+------------+------------------------------------+
//! ```

use crate::wire::{wire_struct, List, Str8};

wire_struct! {
    /// Asks for the rooms that have members.
    ListRooms {}
}

wire_struct! {
    /// One room of a ROOM_LIST page.
    RoomEntry { name: Str8, members: u32 }
}

wire_struct! {
    /// One page of the room list; flag `MORE` when another page follows.
    RoomList { flags: u8, rooms: List<RoomEntry> }
}

impl RoomList {
    /// Flag bit 0: another page of the same answer follows.
    pub const MORE: u8 = 0x01;
}
