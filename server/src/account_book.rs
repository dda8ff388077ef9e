//! Accounts as login sees them: the store of accounts, the registered
//! names (to tell guests from account holders at once), reserved names,
//! the per-address wrong-password count and the password hashing pool.
//! Used by LOGIN, and by HISTORY to spell a user as registered.
//!
//! In cluster mode the accounts live in the cluster's Redis instead of the
//! store (`crate::cluster::accounts`); the lookups below take either path.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Mutex, RwLock};

use confab_protocol::names::user_key;

use crate::cluster::{accounts as shared_accounts, Cluster, ClusterError};
use crate::hashing::HashPool;
use crate::store::accounts::Account;
use crate::store::{Store, StoreError};
use crate::sync::lock;

/// Why an account could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AccountsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `[CLUSTER-3]`: answered `CLUSTER_UNAVAILABLE`.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("this server has no accounts")]
    None,
}

#[derive(Debug)]
pub(crate) struct Accounts {
    /// The durable store (accounts); `None` with `--in-memory`.
    pub store: Option<Store>,
    /// The cluster whose Redis holds the accounts (`--cluster`), instead of `store`.
    pub cluster: Option<Cluster>,
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
            cluster: None,
            passwords,
            required,
            // spec: SEC-8 — a look-alike of an account's name is that name.
            names: Mutex::new(names.into_iter().map(|k| user_key(k)).collect()),
            reserved: RwLock::new(reserved_keys(reserved)),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Keeps the accounts in `cluster`'s Redis (cluster mode, no store).
    pub fn with_cluster(mut self, cluster: Option<Cluster>) -> Accounts {
        self.cluster = cluster;
        self
    }

    /// Whether logins with a password and registrations are served.
    pub fn has_accounts(&self) -> bool {
        self.store.is_some() || self.cluster.is_some()
    }

    /// Whether `normalized` is a registered name: on any node in cluster
    /// mode (asking Redis), else as this server knows.
    pub async fn is_registered_anywhere(&self, normalized: &str) -> Result<bool, ClusterError> {
        let Some(cluster) = &self.cluster else {
            return Ok(self.is_registered(normalized));
        };
        let registered = shared_accounts::exists(cluster, &user_key(normalized)).await?;
        if registered {
            self.note_registered(normalized);
        }
        Ok(registered)
    }

    /// The account of `normalized`: its registered spelling (`[NAMES-1]`)
    /// and its hash.
    pub async fn account(
        &self,
        normalized: &str,
    ) -> Result<Option<(String, Account)>, AccountsError> {
        if let Some(cluster) = &self.cluster {
            let found = shared_accounts::get(cluster, &user_key(normalized)).await?;
            if found.is_some() {
                self.note_registered(normalized);
            }
            return Ok(found.map(|a| (a.name, a.account)));
        }
        let Some(store) = &self.store else {
            return Err(AccountsError::None);
        };
        let key = confab_protocol::names::name_key(normalized).to_string();
        let Some(account) = store.account(key.clone()).await? else {
            return Ok(None);
        };
        let name = store.account_name(key).await?;
        Ok(Some((
            name.unwrap_or_else(|| normalized.to_string()),
            account,
        )))
    }

    /// Stores a new account; false when the name is registered already.
    pub async fn insert(
        &self,
        name: &str,
        hash: String,
        now: u64,
        history_floor: u64,
    ) -> Result<bool, AccountsError> {
        if let Some(cluster) = &self.cluster {
            let key = user_key(name);
            return Ok(
                shared_accounts::insert(cluster, &key, name, &hash, now, history_floor).await?,
            );
        }
        let Some(store) = &self.store else {
            return Err(AccountsError::None);
        };
        let key = confab_protocol::names::name_key(name).to_string();
        Ok(store
            .insert_account(key, name.to_string(), hash, now, history_floor)
            .await?)
    }

    /// Registered names as this node knows them: every one in the store
    /// without a cluster; in cluster mode those registered or logged in to
    /// through this node (moderation's synchronous checks).
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
