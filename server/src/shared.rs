//! What every connection task shares: configuration, the encoded GREETING,
//! the hub of users and rooms, and the connection counters.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use confab_protocol::frame::{Frame, Greeting, LimitEntry, ServerLimits};
use confab_protocol::names::{normalize_name, user_key};
use confab_protocol::{Limits, Str16, Str8, PROTOCOL_VERSION};

use crate::addresses::{Address, AddressBook, AddressRules};
use crate::config::Config;
use crate::hub::Hub;
use crate::sync::lock;

#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    pub limits: Limits,
    pub hub: Hub,
    /// Encoded once; every connection starts with it (`[HANDSHAKE-1]`).
    pub greeting: Bytes,
    /// The LIMITS frame, encoded once; every connection's second frame
    /// (`[LIMITS-1]`).
    pub limits_frame: Bytes,
    pub default_room: String,
    /// Set once the server starts shutting down; every connection waits on it.
    pub closing: crate::closing::Closing,
    /// The durable store (accounts); `None` with `--in-memory`.
    pub store: Option<crate::store::Store>,
    /// Where messages go before delivery, and where HISTORY reads them.
    pub log: crate::log::Log,
    /// Hashes and checks passwords on a few threads (`[MEM-1]`); `None`
    /// without accounts.
    pub passwords: Option<crate::hashing::HashPool>,
    /// Bytes queued for all clients, against `--queue-bytes-total` (`[MEM-2]`).
    pub queued: Arc<crate::connection::outbox::GlobalQueue>,
    /// What the operator sees at `/metrics` (`--metrics-listen`).
    pub metrics: crate::metrics::Metrics,
    /// Roles, room settings, bans and the audit log (spec section 21).
    pub moderation: crate::moderation::Moderation,
    /// Registered names (keys), to tell guests from account holders at once.
    accounts: Mutex<HashSet<String>>,
    reserved: HashSet<String>,
    next_conn_id: AtomicU64,
    active: AtomicUsize,
    unauthenticated: AtomicUsize,
    /// Per-address state; `None` with `--max-per-ip 0`.
    pub addresses: Option<AddressBook>,
    /// Recent wrong passwords per address, so reconnecting does not reset the slow-down.
    auth_failures: Mutex<HashMap<IpAddr, u32>>,
}

/// The shortest handshake time an address that hoards handshakes is given.
const MIN_HANDSHAKE: Duration = Duration::from_millis(1_000);

/// Why a connection was refused before the GREETING (`[LIMIT-1]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ServerFull,
    TooManyFromAddress,
    TooManyLoggingIn,
    /// The address opens connections faster than `--connect-rate` (`[LIMIT-3]`).
    ConnectingTooFast,
    /// The address has `--max-unauthenticated-per-ip` connections logging in (`[LIMIT-4]`).
    TooManyLoggingInFromAddress,
    /// A server ban's address pattern matches the address (`[MOD-13]`).
    AddressBanned,
}

/// Holds a connection's place in the counters; gives it back on drop.
#[derive(Debug)]
pub struct Admission {
    shared: Arc<Shared>,
    /// The address's entry, held while the connection lives.
    pub address: Option<Arc<Address>>,
    /// This connection's time to log in: shorter for an address that holds
    /// many connections still logging in (`[LIMIT-4]`).
    pub handshake_timeout: Duration,
    pub conn_id: u64,
    logging_in: bool,
}

impl Admission {
    /// The connection logged in: it no longer counts against --max-unauthenticated.
    pub fn logged_in(&mut self) {
        if std::mem::take(&mut self.logging_in) {
            self.shared.unauthenticated.fetch_sub(1, Ordering::AcqRel);
            if let Some(address) = &self.address {
                address.lock().logging_in -= 1;
            }
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.logged_in();
        self.shared.active.fetch_sub(1, Ordering::AcqRel);
        if let Some(address) = &self.address {
            address.lock().connections -= 1;
        }
    }
}

impl Shared {
    pub fn new(config: Config) -> Result<Self, String> {
        let limits = config.limits();
        limits.validate()?;
        config.check_frames_fit().map_err(|e| e.to_string())?;
        if config.in_memory && config.require_account {
            return Err("--require-account needs accounts, which --in-memory turns off".into());
        }
        if config.retention_per_room > 0
            && config.retention_per_room < u64::from(limits.history_max)
        {
            // spec: HISTORY-4 — a server keeps at least history_max messages per room.
            return Err(format!(
                "--retention-per-room {} is below --history-max {}",
                config.retention_per_room, limits.history_max
            ));
        }
        if u64::from(config.queue_bytes) < 2 * (u64::from(limits.max_frame) + 5) {
            // spec: MEM-2 — a long answer's page must fit past half the budget.
            return Err(format!(
                "--queue-bytes {} is below twice a frame of --max-frame {}",
                config.queue_bytes, limits.max_frame
            ));
        }
        let hub = Hub::new(usize::from(limits.history_max));
        let moderation =
            crate::moderation::Moderation::new(&config.operators, config.clock.clone());
        hub.set_idle_history_budget(config.idle_history_bytes);
        let (store, accounts) = if config.in_memory {
            (None, HashSet::new())
        } else {
            let (store, loaded) = crate::store::Store::open(
                &config.data_dir,
                usize::from(limits.history_max),
                config.sync,
            )
            .map_err(|e| e.to_string())?;
            // spec: LIMIT-9 — stored messages are replayed too.
            let needed = store.largest_stored_frame().map_err(|e| e.to_string())?;
            if needed > u64::from(limits.max_frame) {
                return Err(format!(
                    "--max-frame {} is too small for the messages stored in {}: replaying \
                     the largest needs a {needed}-byte frame (spec LIMIT-9); raise \
                     --max-frame to at least {needed}",
                    limits.max_frame,
                    store.path.display()
                ));
            }
            // spec: SEC-8 — a look-alike of an account's name is that name.
            let accounts = loaded.account_keys.iter().map(|k| user_key(k)).collect();
            hub.restore(loaded, &config.default_room);
            // spec: MOD-19 — roles, settings and bans survive restarts.
            moderation.restore(
                store
                    .load_moderation(crate::moderation::AUDIT_KEEP)
                    .map_err(|e| e.to_string())?,
            );
            (Some(store), accounts)
        };
        let log = match &store {
            Some(store) => crate::log::Log::Sqlite(store.log()),
            None => {
                crate::log::Log::Memory(crate::log::MemoryLog::new(usize::from(limits.history_max)))
            }
        };
        let passwords = match &store {
            Some(_) => Some(crate::hashing::HashPool::start(config.hash_pool())?),
            None => None,
        };
        // spec: ACTION-1 — actions are relayed by every reference server.
        // spec: MOD-1 — this server implements moderation.
        let mut flags = Greeting::ACTIONS | Greeting::MODERATION;
        if store.is_some() {
            flags |= Greeting::ACCOUNTS | Greeting::PERSISTENT;
        }
        if config.require_account {
            flags |= Greeting::ACCOUNT_REQUIRED;
        }
        let default_room = normalize_name(&config.default_room, usize::from(limits.max_room_name))
            .map_err(|e| format!("--default-room {:?}: {e}", config.default_room))?;
        let greeting = Frame::Greeting(Greeting {
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            flags,
            server: Str8::truncated(concat!("confab-server/", env!("CARGO_PKG_VERSION"))),
            limits: limits.clone(),
            default_room: Str8::truncated(&default_room),
            prompt: Str16::truncated("Welcome to Confab. Please send your username."),
        })
        .to_bytes();
        // spec: LIMITS-1, LIMITS-2 — the limits added since 1.0, in their own frame.
        let mut advertised = vec![LimitEntry {
            id: ServerLimits::QUEUE_BYTES,
            value: u64::from(config.queue_bytes),
        }];
        if store.is_some() {
            // spec: AUTH-3 — advertised by servers with accounts only.
            advertised.push(LimitEntry {
                id: ServerLimits::MIN_PASSWORD,
                value: u64::from(config.min_password_length),
            });
        }
        let limits_frame =
            Frame::ServerLimits(ServerLimits::new(advertised).map_err(|e| format!("LIMITS: {e}"))?)
                .to_bytes();
        let reserved = config
            .reserved_names
            .iter()
            .map(|n| user_key(n.trim()))
            .collect();
        let metrics = crate::metrics::Metrics::new(
            hub.deliveries.clone(),
            store.as_ref().map(|s| s.metrics.clone()),
        );
        Ok(Shared {
            metrics,
            hub,
            moderation,
            closing: crate::closing::Closing::default(),
            store,
            log,
            passwords,
            queued: crate::connection::outbox::GlobalQueue::new(
                usize::try_from(config.queue_bytes_total).unwrap_or(usize::MAX),
            ),
            accounts: Mutex::new(accounts),
            limits,
            greeting,
            limits_frame,
            default_room,
            reserved,
            next_conn_id: AtomicU64::new(1),
            active: AtomicUsize::new(0),
            unauthenticated: AtomicUsize::new(0),
            addresses: (config.max_per_ip > 0).then(|| {
                let limits = config.limits();
                AddressBook::new(
                    AddressRules {
                        limits: limits.clone(),
                        share: config.per_ip_share,
                        connect_rate: f64::from(config.connect_rate),
                        connect_burst: f64::from(config.connect_burst.max(1)),
                        room_create_rate: f64::from(config.room_create_rate),
                        room_create_burst: f64::from(config.room_create_burst.max(1)),
                    },
                    config.max_connections.saturating_add(16_384),
                )
            }),
            auth_failures: Mutex::new(HashMap::new()),
            config,
        })
    }

    /// `--queue-bytes`: one client's outbound byte budget (`[MEM-2]`).
    pub fn queue_bytes(&self) -> usize {
        self.config.queue_bytes as usize
    }

    pub fn is_registered(&self, normalized: &str) -> bool {
        lock(&self.accounts).contains(&user_key(normalized))
    }

    pub fn note_registered(&self, normalized: &str) {
        lock(&self.accounts).insert(user_key(normalized));
    }

    /// Counts a wrong password from `ip`; returns the failures so far.
    pub fn auth_failed(&self, ip: IpAddr) -> u32 {
        let mut failures = lock(&self.auth_failures);
        if failures.len() >= 65_536 {
            // Bounded: forgetting old offenders is better than growing without end.
            failures.clear();
        }
        let count = failures.entry(ip).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    pub fn auth_succeeded(&self, ip: IpAddr) {
        lock(&self.auth_failures).remove(&ip);
    }

    pub fn is_reserved(&self, normalized: &str) -> bool {
        self.reserved.contains(&user_key(normalized))
    }

    /// Counts a new connection in, or says why it is refused.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, Refusal> {
        // spec: MOD-13 — refused instead of GREETING, as LIMIT-1 refuses.
        if self.moderation.address_banned(ip).is_some() {
            return Err(Refusal::AddressBanned);
        }
        if self.active.fetch_add(1, Ordering::AcqRel) >= self.config.max_connections {
            self.active.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::ServerFull);
        }
        let limit = self.config.max_unauthenticated;
        if self.unauthenticated.fetch_add(1, Ordering::AcqRel) >= limit && limit > 0 {
            self.unauthenticated.fetch_sub(1, Ordering::AcqRel);
            self.active.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::TooManyLoggingIn);
        }
        let mut handshake_timeout =
            Duration::from_millis(u64::from(self.limits.handshake_timeout_ms));
        let address = match &self.addresses {
            Some(book) => {
                let entry = book.entry(ip);
                let mut state = entry.lock();
                let pending_cap = self.config.max_unauthenticated_per_ip;
                let refusal = if state.connections >= self.config.max_per_ip {
                    Some(Refusal::TooManyFromAddress)
                } else if pending_cap > 0 && state.logging_in >= pending_cap {
                    Some(Refusal::TooManyLoggingInFromAddress)
                } else if !book.take_connect(&mut state) {
                    Some(Refusal::ConnectingTooFast)
                } else {
                    None
                };
                if let Some(refusal) = refusal {
                    drop(state);
                    self.unauthenticated.fetch_sub(1, Ordering::AcqRel);
                    self.active.fetch_sub(1, Ordering::AcqRel);
                    return Err(refusal);
                }
                if pending_cap >= 4 && state.logging_in >= pending_cap / 4 {
                    // spec: LIMIT-4 — an address hoarding handshakes gets less time for each.
                    handshake_timeout = (handshake_timeout / 4).max(MIN_HANDSHAKE);
                }
                state.connections += 1;
                state.logging_in += 1;
                drop(state);
                Some(entry)
            }
            None => None,
        };
        Ok(Admission {
            shared: Arc::clone(self),
            address,
            handshake_timeout,
            conn_id: self.next_conn_id.fetch_add(1, Ordering::Relaxed),
            logging_in: true,
        })
    }

    pub fn active_connections(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Connections admitted and not logged in yet.
    pub fn logging_in(&self) -> usize {
        self.unauthenticated.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn address(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0A00_0000 | n))
    }

    /// The login throttle's own state, which the delay of each answer is
    /// computed from (`handlers::login::failure_delay`): no clock involved.
    #[test]
    fn wrong_passwords_count_per_address_until_one_succeeds() {
        // spec: HANDSHAKE-6, AUTH-1
        let shared = Shared::new(Config::default()).unwrap();
        let (guesser, owner) = (address(1), address(2));
        let counts: Vec<u32> = (0..3).map(|_| shared.auth_failed(guesser)).collect();
        assert_eq!(counts, [1, 2, 3], "each failure from one address counts");
        // Never for the name: the account's owner elsewhere starts afresh.
        assert_eq!(shared.auth_failed(owner), 1);
        shared.auth_succeeded(guesser);
        assert_eq!(shared.auth_failed(guesser), 1, "a success clears the count");
        assert_eq!(shared.auth_failed(owner), 2, "only for its own address");
    }

    #[test]
    fn the_failure_table_is_bounded() {
        let shared = Shared::new(Config::default()).unwrap();
        for n in 0..65_536 {
            shared.auth_failed(address(n));
        }
        // Full: the old offenders are forgotten (this one had failed once).
        assert_eq!(shared.auth_failed(address(1)), 1);
        assert_eq!(lock(&shared.auth_failures).len(), 1);
    }
}
