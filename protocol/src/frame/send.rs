//! SEND (0x15), client to server: a message for a room (`[MSG-1]`); and
//! SEND_ACTION (0x1A), the same layout for an action (`/me`, `[ACTION-1]`).
//!
//! ```text
//! +------------------+-------------+---------------+
//! | client_ref: u32  | room: str8  | body: str16   |
//! +------------------+-------------+---------------+
//! ```

use crate::wire::{wire_struct, Str16, Str8};

wire_struct! {
    /// `client_ref` comes back in the ACK or ERROR for this message.
    SendMessage { client_ref: u32, room: Str8, body: Str16 }
}

wire_struct! {
    /// SEND for an action: delivered as MESSAGE with the `ACTION` flag.
    SendAction { client_ref: u32, room: Str8, body: Str16 }
}
