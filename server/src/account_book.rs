//! Accounts as login sees them: the store of accounts, the registered
//! names (to tell guests from account holders at once), reserved names,
//! the per-address wrong-password count and the password hashing pool.
//! Used by LOGIN, and by HISTORY to spell a user as registered.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Mutex, RwLock};

use confab_protocol::names::user_key;

use crate::hashing::HashPool;
use crate::store::Store;
use crate::sync::lock;

#[derive(Debug)]
pub(crate) struct Accounts {
    /// The durable store (accounts); `None` with `--in-memory`.
    pub store: Option<Store>,
    /// Hashes and checks passwords on a few threads (`[MEM-1]`); `None`
    /// without accounts.
    pub passwords: Option<HashPool>,
    /// `--require-account`: guests are refused.
    pub required: bool,
    /// Registered names (keys).
    names: Mutex<HashSet<String>>,
    /// Replaced whole by a reload; read once per login.
    reserved: RwLock<HashSet<String>>,
    /// Recent wrong passwords per address, so reconnecting does not reset the slow-down.
    failures: Mutex<HashMap<IpAddr, u32>>,
}

impl Accounts {
    /// `names`: the registered names as stored; `reserved` as configured.
    pub fn new<'a>(
        store: Option<Store>,
        passwords: Option<HashPool>,
        required: bool,
        names: impl IntoIterator<Item = &'a String>,
        reserved: impl IntoIterator<Item = &'a String>,
    ) -> Accounts {
        Accounts {
            store,
            passwords,
            required,
            // spec: SEC-8 — a look-alike of an account's name is that name.
            names: Mutex::new(names.into_iter().map(|k| user_key(k)).collect()),
            reserved: RwLock::new(reserved_keys(reserved)),
            failures: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_registered(&self, normalized: &str) -> bool {
        lock(&self.names).contains(&user_key(normalized))
    }

    pub fn note_registered(&self, normalized: &str) {
        lock(&self.names).insert(user_key(normalized));
    }

    pub fn is_reserved(&self, normalized: &str) -> bool {
        let key = user_key(normalized);
        self.reserved
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key)
    }

    /// `--reserved-names` as reloaded: later logins meet the new set; a
    /// user already logged in under a newly reserved name keeps it.
    pub fn set_reserved<'a>(&self, reserved: impl IntoIterator<Item = &'a String>) {
        *self.reserved.write().unwrap_or_else(|e| e.into_inner()) = reserved_keys(reserved);
    }

    /// Counts a wrong password from `ip`; returns the failures so far.
    pub fn auth_failed(&self, ip: IpAddr) -> u32 {
        let mut failures = lock(&self.failures);
        if failures.len() >= 65_536 {
            // Bounded: forgetting old offenders is better than growing without end.
            failures.clear();
        }
        let count = failures.entry(ip).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    pub fn auth_succeeded(&self, ip: IpAddr) {
        lock(&self.failures).remove(&ip);
    }
}

/// The name keys `--reserved-names` lists.
fn reserved_keys<'a>(reserved: impl IntoIterator<Item = &'a String>) -> HashSet<String> {
    reserved.into_iter().map(|n| user_key(n.trim())).collect()
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn address(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0A00_0000 | n))
    }

    fn accounts() -> Accounts {
        Accounts::new(None, None, false, [], [])
    }

    /// The login throttle's own state, which the delay of each answer is
    /// computed from (`handlers::login::failure_delay`): no clock involved.
    #[test]
    fn wrong_passwords_count_per_address_until_one_succeeds() {
        // spec: HANDSHAKE-6, AUTH-1
        let accounts = accounts();
        let (guesser, owner) = (address(1), address(2));
        let counts: Vec<u32> = (0..3).map(|_| accounts.auth_failed(guesser)).collect();
        assert_eq!(counts, [1, 2, 3], "each failure from one address counts");
        // Never for the name: the account's owner elsewhere starts afresh.
        assert_eq!(accounts.auth_failed(owner), 1);
        accounts.auth_succeeded(guesser);
        assert_eq!(
            accounts.auth_failed(guesser),
            1,
            "a success clears the count"
        );
        assert_eq!(accounts.auth_failed(owner), 2, "only for its own address");
    }

    #[test]
    fn the_failure_table_is_bounded() {
        let accounts = accounts();
        for n in 0..65_536 {
            accounts.auth_failed(address(n));
        }
        // Full: the old offenders are forgotten (this one had failed once).
        assert_eq!(accounts.auth_failed(address(1)), 1);
        assert_eq!(lock(&accounts.failures).len(), 1);
    }

    #[test]
    fn look_alikes_of_registered_and_reserved_names_are_those_names() {
        // spec: SEC-8
        let accounts = Accounts::new(
            None,
            None,
            false,
            &["Alice".to_string()],
            &[" admin ".to_string()],
        );
        assert!(accounts.is_registered("alice"));
        assert!(accounts.is_reserved("ADMIN"));
        assert!(!accounts.is_registered("bob"));
        accounts.note_registered("Bob");
        assert!(accounts.is_registered("bob"));
    }
}
