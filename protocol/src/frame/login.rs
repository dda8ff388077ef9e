//! LOGIN (0x11), client to server (spec section 7).
//!
//! ```text
//! +-----------+------------------+------------------+
//! | mode: u8  | username: str8   | password: str8   |
//! +-----------+------------------+------------------+
//! ```

use crate::wire::{wire_enum, wire_struct, Str8};

wire_enum! {
    /// How the client logs in (`[HANDSHAKE-6]`).
    LoginMode {
        /// No account; the password must be empty.
        Guest = 0,
        /// Log in to a registered account.
        Login = 1,
        /// Register the name and log in.
        Register = 2,
    }
}

wire_struct! {
    /// A request for a username, optionally with account credentials.
    Login { mode: LoginMode, username: Str8, password: Str8 }
}

impl Login {
    pub fn guest(username: Str8) -> Self {
        Login {
            mode: LoginMode::Guest,
            username,
            password: Str8::empty(),
        }
    }
}
