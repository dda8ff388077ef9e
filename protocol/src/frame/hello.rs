//! HELLO (0x10), client to server: the first frame a client sends (`[STATE-1]`).
//!
//! ```text
//! +----------------+--------------+-----------+----------------+
//! | magic "CONFAB" | version: u16 | flags: u8 | client: str8   |
//! +----------------+--------------+-----------+----------------+
//! ```

use crate::wire::{wire_struct, Str8};

wire_struct! {
    /// Names the protocol version the client will speak.
    Hello [magic] { version: u16, flags: u8, client: Str8 }
}

impl Hello {
    /// Flag bit 0: do not join the default room after login (`[HANDSHAKE-7]`).
    pub const NO_AUTO_JOIN: u8 = 0x01;
    /// Flag bit 1 (1.2): the client understands the server-to-client frames
    /// of moderation, spec section 21 (`[MOD-2]`).
    pub const MODERATION: u8 = 0x02;
}
