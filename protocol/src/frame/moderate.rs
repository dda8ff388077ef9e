//! MODERATE (0x1C), client to server: one action on a person, a room or the
//! server (spec section 21, `[MOD-10]`–`[MOD-13]`). Its answer is the
//! MODERATION_EVENT announcing it (`[MOD-12]`).
//!
//! ```text
//! +------------+------------+--------------+------------------+----------------+
//! | action: u8 | room: str8 | target: str8 | duration_ms: u64 | reason: str16  |
//! +------------+------------+--------------+------------------+----------------+
//! ```

use crate::wire::{wire_enum, wire_struct, Str16, Str8};

wire_enum! {
    /// What a moderation request does; also what an event or audit entry
    /// records (spec section 21, the `action` table).
    ModAction {
        Kick = 1,
        Ban = 2,
        Unban = 3,
        Mute = 4,
        Unmute = 5,
        Invite = 6,
        Op = 7,
        Deop = 8,
        Voice = 9,
        Devoice = 10,
        Disconnect = 16,
        ServerBan = 17,
        ServerUnban = 18,
        Announce = 19,
        /// A ROOM_SETTINGS change: in events and audit entries only (`[MOD-6]`).
        Settings = 32,
    }
}

impl ModAction {
    /// Whether the action concerns the whole server rather than one room
    /// (`[MOD-13]`): its `room` is ignored and announced as `""`.
    pub fn is_server_wide(self) -> bool {
        matches!(
            self,
            ModAction::Disconnect
                | ModAction::ServerBan
                | ModAction::ServerUnban
                | ModAction::Announce
        )
    }

    /// Whether `duration_ms` sets an expiry (`[MOD-14]`); other actions ignore it.
    pub fn takes_duration(self) -> bool {
        matches!(
            self,
            ModAction::Ban | ModAction::Mute | ModAction::Invite | ModAction::ServerBan
        )
    }

    /// Whether the target may be an address pattern (`[MOD-10]`).
    pub fn takes_pattern(self) -> bool {
        matches!(
            self,
            ModAction::Ban | ModAction::Unban | ModAction::ServerBan | ModAction::ServerUnban
        )
    }
}

wire_struct! {
    /// Asks for one moderation action (`[MOD-20]` gives its checks).
    Moderate { action: ModAction, room: Str8, target: Str8, duration_ms: u64, reason: Str16 }
}
