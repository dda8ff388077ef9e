//! DIRECT (0x16) and DIRECT_MESSAGE (0x85): messages to one user (spec section 9);
//! DIRECT_ACTION (0x1B) has DIRECT's layout, for an action (`[ACTION-1]`).
//!
//! ```text
//! DIRECT:         +-----------------+-----------+-------------+
//!                 | client_ref: u32 | to: str8  | body: str16 |
//!                 +-----------------+-----------+-------------+
//! DIRECT_MESSAGE: +---------+-----------+-----------+------------+-----------+-------------+
//!                 | id: u64 | time: u64 | flags: u8 | from: str8 | to: str8  | body: str16 |
//!                 +---------+-----------+-----------+------------+-----------+-------------+
//! ```

use crate::wire::{wire_struct, Str16, Str8};

wire_struct! {
    /// A message for the user `to`.
    Direct { client_ref: u32, to: Str8, body: Str16 }
}

wire_struct! {
    /// A delivered direct message.
    DirectMessage { id: u64, time: u64, flags: u8, from: Str8, to: Str8, body: Str16 }
}

wire_struct! {
    /// DIRECT for an action: delivered as DIRECT_MESSAGE with the `ACTION` flag.
    DirectAction { client_ref: u32, to: Str8, body: Str16 }
}

impl DirectMessage {
    /// Flag bit 0: a replayed message, not a live one.
    pub const HISTORY: u8 = 0x01;
    /// Flag bit 1: an action (`/me`), shown as `* from body` (`[ACTION-1]`).
    pub const ACTION: u8 = 0x02;
}
