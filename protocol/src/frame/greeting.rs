//! GREETING (0x80), server to client: sent right after accept, it asks for a
//! username and advertises every limit the server enforces (spec sections 7, 16).
//!
//! ```text
//! +----------------+------------------+------------------+-----------+----------------+
//! | magic "CONFAB" | min_version: u16 | max_version: u16 | flags: u8 | server: str8   |
//! +----------------+------------------+------------------+-----------+----------------+
//! | limits (45 bytes, see `Limits`)   | default_room: str8           | prompt: str16  |
//! +-----------------------------------+------------------------------+----------------+
//! ```
//!
//! The layout is 1.0's and never grows (`[VERSION-2]`): limits added since
//! are advertised in the LIMITS frame that follows (`[LIMITS-1]`).

use crate::wire::{wire_struct, Str16, Str8};

wire_struct! {
    /// The limits block of the GREETING, in wire order (spec section 16).
    Limits {
        max_frame: u32,
        max_username: u8,
        max_room_name: u8,
        max_body: u16,
        max_rooms: u16,
        msg_rate: u32,
        msg_burst: u32,
        byte_rate: u32,
        byte_burst: u32,
        queue_depth: u32,
        ping_interval_ms: u32,
        ping_timeout_ms: u32,
        handshake_timeout_ms: u32,
        login_attempts: u8,
        history_max: u16,
    }
}

/// The smallest and largest `max_frame` a server may advertise.
pub const MAX_FRAME_BOUNDS: (u32, u32) = (4096, 16 * 1024 * 1024);

impl Default for Limits {
    /// The defaults of spec section 16.
    fn default() -> Self {
        Limits {
            max_frame: 65_536,
            max_username: 32,
            max_room_name: 64,
            max_body: 4096,
            max_rooms: 32,
            msg_rate: 20,
            msg_burst: 60,
            byte_rate: 65_536,
            byte_burst: 262_144,
            queue_depth: 4096,
            ping_interval_ms: 30_000,
            ping_timeout_ms: 15_000,
            handshake_timeout_ms: 10_000,
            login_attempts: 3,
            history_max: 200,
        }
    }
}

impl Limits {
    /// Checks the bounds column of spec section 16; names the first limit out of bounds.
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(&str, bool); 12] = [
            (
                "max_frame",
                (MAX_FRAME_BOUNDS.0..=MAX_FRAME_BOUNDS.1).contains(&self.max_frame),
            ),
            ("max_username", self.max_username >= 1),
            ("max_room_name", self.max_room_name >= 1),
            ("max_body", self.max_body >= 1),
            ("max_rooms", self.max_rooms >= 1),
            (
                "msg_rate/msg_burst",
                self.msg_rate >= 1 && self.msg_burst >= 1,
            ),
            (
                "byte_rate/byte_burst",
                self.byte_rate >= u32::from(self.max_body)
                    && self.byte_burst >= u32::from(self.max_body),
            ),
            ("queue_depth", self.queue_depth >= 16),
            ("ping_interval_ms", self.ping_interval_ms >= 1000),
            ("ping_timeout_ms", self.ping_timeout_ms >= 1000),
            ("handshake_timeout_ms", self.handshake_timeout_ms >= 1000),
            (
                "login_attempts/history_max",
                self.login_attempts >= 1 && self.history_max >= 1,
            ),
        ];
        match checks.iter().find(|(_, ok)| !ok) {
            Some((name, _)) => Err(format!("{name} is outside the bounds of spec section 16")),
            None => Ok(()),
        }
    }
}

wire_struct! {
    /// The server's first frame.
    Greeting [magic] {
        min_version: u16,
        max_version: u16,
        flags: u8,
        server: Str8,
        limits: Limits,
        default_room: Str8,
        prompt: Str16,
    }
}

impl Greeting {
    /// Flag bit 0: registration and login are available.
    pub const ACCOUNTS: u8 = 0x01;
    /// Flag bit 1: guests are refused.
    pub const ACCOUNT_REQUIRED: u8 = 0x02;
    /// Flag bit 2: history survives server restarts.
    pub const PERSISTENT: u8 = 0x04;
    /// Flag bit 3: the server accepts SEND_ACTION and DIRECT_ACTION (`[ACTION-1]`).
    pub const ACTIONS: u8 = 0x08;
    /// Flag bit 4 (1.2): the server implements moderation, spec section 21 (`[MOD-1]`).
    pub const MODERATION: u8 = 0x10;

    /// Whether the server speaks `version`.
    pub fn supports(&self, version: u16) -> bool {
        (self.min_version..=self.max_version).contains(&version)
    }
}
