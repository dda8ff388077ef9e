//! WELCOME (0x81) and LOGIN_REJECTED (0x82): the answers to LOGIN (spec section 7).
//!
//! ```text
//! WELCOME:        +-----------------+-----------+-------------------+
//!                 | username: str8  | flags: u8 | server_time: u64  |
//!                 +-----------------+-----------+-------------------+
//! LOGIN_REJECTED: +-----------+--------------------+-----------------+
//!                 | code: u16 | attempts_left: u8  | message: str16  |
//!                 +-----------+--------------------+-----------------+
//! ```

use crate::error::ErrorCode;
use crate::wire::{wire_struct, Str16, Str8};

wire_struct! {
    /// The login succeeded under `username` (as the server normalised it).
    Welcome { username: Str8, flags: u8, server_time: u64 }
}

impl Welcome {
    /// Flag bit 0: the name is a registered account.
    pub const REGISTERED: u8 = 0x01;
}

wire_struct! {
    /// The login was refused; another LOGIN may follow while `attempts_left` > 0.
    LoginRejected { code: ErrorCode, attempts_left: u8, message: Str16 }
}
