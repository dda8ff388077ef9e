//! ROOM_SETTINGS (0x1D), client to server: sets a room's topic, modes or
//! member limit, or with `change` 0 asks for its ROOM_INFO (`[MOD-5]`).
//!
//! ```text
//! +------------+-------------+------------+-------------------+---------------+
//! | room: str8 | change: u8  | modes: u8  | member_limit: u32 | topic: str16  |
//! +------------+-------------+------------+-------------------+---------------+
//! ```

use crate::wire::{wire_struct, Str16, Str8};

wire_struct! {
    /// Changes the settings whose `change` bit is set; the others' fields are ignored.
    RoomSettings { room: Str8, change: u8, modes: u8, member_limit: u32, topic: Str16 }
}

impl RoomSettings {
    /// `change` bit 0: set the topic from `topic`.
    pub const TOPIC: u8 = 0x01;
    /// `change` bit 1: set the modes from `modes`.
    pub const MODES: u8 = 0x02;
    /// `change` bit 2: set the member limit from `member_limit` (0: none).
    pub const MEMBER_LIMIT: u8 = 0x04;
}

/// Room mode bits, as ROOM_SETTINGS, ROOM_INFO and ROOM_LIST_INFO carry them.
pub mod modes {
    /// Only invited users (and operators) may join (`[MOD-7]`).
    pub const INVITE_ONLY: u8 = 0x01;
    /// Only voiced members and operators may speak (`[MOD-9]`).
    pub const MODERATED: u8 = 0x02;
}
