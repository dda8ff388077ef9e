//! MESSAGE (0x83) and ACK (0x84): a delivered room message and the sender's
//! acknowledgement (`[MSG-1]`, `[MSG-2]`).
//!
//! ```text
//! MESSAGE: +---------+----------+-----------+-----------+-------------+---------------+-------------+
//!          | id: u64 | seq: u64 | time: u64 | flags: u8 | room: str8  | sender: str8  | body: str16 |
//!          +---------+----------+-----------+-----------+-------------+---------------+-------------+
//! ACK:     +------------------+---------+----------+-----------+
//!          | client_ref: u32  | id: u64 | seq: u64 | time: u64 |
//!          +------------------+---------+----------+-----------+
//! ```

use crate::wire::{wire_struct, Str16, Str8};

wire_struct! {
    /// A room message stamped by the server.
    Message { id: u64, seq: u64, time: u64, flags: u8, room: Str8, sender: Str8, body: Str16 }
}

impl Message {
    /// Flag bit 0: a replayed message, not a live one.
    pub const HISTORY: u8 = 0x01;
    /// Flag bit 1: an action (`/me`), shown as `* sender body` (`[ACTION-1]`).
    pub const ACTION: u8 = 0x02;
}

wire_struct! {
    /// The server accepted the message with `client_ref`; `seq` is 0 for a direct message.
    Ack { client_ref: u32, id: u64, seq: u64, time: u64 }
}
