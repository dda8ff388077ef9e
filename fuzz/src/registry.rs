//! A tiny name registry standing in for the server in the handshake target.

use std::collections::HashSet;

use confab_protocol::frame::{Login, LoginMode};
use confab_protocol::names::{name_key, normalize_name};
use confab_protocol::ErrorCode;

const MAX_USERNAME: usize = 32;
const RESERVED: [&str; 2] = ["server", "admin"];
/// Logged in on another connection (as in spec/vectors/conversations.json).
const TAKEN: [&str; 2] = ["bob", "zoë"];

/// Judges names as a server without accounts would (`[HANDSHAKE-5]`, `[HANDSHAKE-6]`).
pub struct Registry {
    taken: HashSet<String>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    pub fn new() -> Self {
        let taken = TAKEN
            .iter()
            .map(|name| name_key(&normalize_name(name, MAX_USERNAME).unwrap()))
            .collect();
        Registry { taken }
    }

    /// `name` is logged in from now on.
    pub fn take(&mut self, name: &str) {
        self.taken.insert(name_key(name));
    }

    /// The normalised name to log in under, or the LOGIN_REJECTED code.
    pub fn judge(&self, login: &Login) -> Result<String, ErrorCode> {
        if login.mode != LoginMode::Guest {
            return Err(ErrorCode::ACCOUNTS_UNAVAILABLE);
        }
        if !login.password.is_empty() {
            return Err(ErrorCode::AUTH_FAILED);
        }
        let name =
            normalize_name(&login.username, MAX_USERNAME).map_err(|_| ErrorCode::NAME_INVALID)?;
        let key = name_key(&name);
        if RESERVED.contains(&key.as_str()) {
            Err(ErrorCode::NAME_RESERVED)
        } else if self.taken.contains(&key) {
            Err(ErrorCode::NAME_TAKEN)
        } else {
            Ok(name)
        }
    }
}
