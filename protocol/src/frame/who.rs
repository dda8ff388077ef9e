//! WHO (0x17) and its answer WHO_LIST (0x89) (`[PRESENCE-1]`).
//!
//! ```text
//! WHO:      +-------------+
//!           | room: str8  |
//!           +-------------+
//! WHO_LIST: +-----------+-------------+------------+----------------------------+
//!           | flags: u8 | room: str8  | count: u16 | count x (username: str8)   |
//!           +-----------+-------------+------------+----------------------------+
//! ```

use crate::wire::{wire_struct, List, Str8};

wire_struct! {
    /// Who is in `room`; the empty string asks for every logged-in user.
    Who { room: Str8 }
}

wire_struct! {
    /// One page of a WHO answer; flag `MORE` when another page follows.
    WhoList { flags: u8, room: Str8, users: List<Str8> }
}

impl WhoList {
    /// Flag bit 0: another page of the same answer follows.
    pub const MORE: u8 = 0x01;
}
