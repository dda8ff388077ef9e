//! Admission: the connection counters, the per-address book and the
//! handshake time each newcomer gets (`[LIMIT-1]`, `[LIMIT-3]`,
//! `[LIMIT-4]`). Used by the accept path; a connection keeps its
//! [`Admission`] ticket, which gives its place back on drop.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::addresses::{Address, AddressBook, AddressRules};
use crate::config::Config;

/// The shortest handshake time an address that hoards handshakes is given.
const MIN_HANDSHAKE: Duration = Duration::from_millis(1_000);

/// Why a connection was refused before the GREETING (`[LIMIT-1]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
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

/// The server's connection counters and the first frames every newcomer gets.
#[derive(Debug)]
pub(crate) struct Gate {
    /// Encoded once; every connection starts with it (`[HANDSHAKE-1]`).
    pub greeting: Bytes,
    /// The LIMITS frame, encoded once; every connection's second frame
    /// (`[LIMITS-1]`).
    pub limits_frame: Bytes,
    /// Per-address state; `None` with `--max-per-ip 0`.
    addresses: Option<AddressBook>,
    // Atomics, not a lock: a reload (`crate::reload`) changes them while
    // the accept path reads each once per newcomer.
    max_connections: AtomicUsize,
    max_unauthenticated: AtomicUsize,
    max_per_ip: AtomicUsize,
    max_unauthenticated_per_ip: AtomicUsize,
    handshake_timeout: Duration,
    next_conn_id: AtomicU64,
    active: AtomicUsize,
    unauthenticated: AtomicUsize,
}

impl Gate {
    pub fn new(config: &Config, greeting: Bytes, limits_frame: Bytes) -> Gate {
        let limits = config.limits();
        Gate {
            greeting,
            limits_frame,
            addresses: (config.max_per_ip > 0).then(|| {
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
            max_connections: AtomicUsize::new(config.max_connections),
            max_unauthenticated: AtomicUsize::new(config.max_unauthenticated),
            max_per_ip: AtomicUsize::new(config.max_per_ip),
            max_unauthenticated_per_ip: AtomicUsize::new(config.max_unauthenticated_per_ip),
            handshake_timeout: Duration::from_millis(u64::from(limits.handshake_timeout_ms)),
            next_conn_id: AtomicU64::new(1),
            active: AtomicUsize::new(0),
            unauthenticated: AtomicUsize::new(0),
        }
    }

    /// Counts a new connection in, or says why it is refused.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, Refusal> {
        if self.active.fetch_add(1, Ordering::AcqRel)
            >= self.max_connections.load(Ordering::Relaxed)
        {
            self.active.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::ServerFull);
        }
        let limit = self.max_unauthenticated.load(Ordering::Relaxed);
        if self.unauthenticated.fetch_add(1, Ordering::AcqRel) >= limit && limit > 0 {
            self.unauthenticated.fetch_sub(1, Ordering::AcqRel);
            self.active.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::TooManyLoggingIn);
        }
        let mut handshake_timeout = self.handshake_timeout;
        let address = match &self.addresses {
            Some(book) => {
                let entry = book.entry(ip);
                let mut state = entry.lock();
                let pending_cap = self.max_unauthenticated_per_ip.load(Ordering::Relaxed);
                let refusal = if state.connections >= self.max_per_ip.load(Ordering::Relaxed) {
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
            gate: Arc::clone(self),
            address,
            handshake_ms: u32::try_from(handshake_timeout.as_millis()).unwrap_or(u32::MAX),
            logging_in: true,
        })
    }

    /// Takes up reloaded connection limits (`crate::reload`); connections
    /// already admitted keep their places, newcomers meet the new limits.
    /// `--max-per-ip` is taken only while the per-address book exists (it
    /// cannot be turned on or off at run time).
    pub fn set_limits(&self, config: &Config) {
        self.max_connections
            .store(config.max_connections, Ordering::Relaxed);
        self.max_unauthenticated
            .store(config.max_unauthenticated, Ordering::Relaxed);
        if self.addresses.is_some() && config.max_per_ip > 0 {
            self.max_per_ip.store(config.max_per_ip, Ordering::Relaxed);
        }
        self.max_unauthenticated_per_ip
            .store(config.max_unauthenticated_per_ip, Ordering::Relaxed);
        if let Some(book) = &self.addresses {
            book.set_rates(
                (
                    f64::from(config.connect_rate),
                    f64::from(config.connect_burst.max(1)),
                ),
                (
                    f64::from(config.room_create_rate),
                    f64::from(config.room_create_burst.max(1)),
                ),
            );
        }
    }

    pub fn active_connections(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// A new connection's id (unique, increasing). Not kept in the
    /// [`Admission`] ticket: the connection keeps it once, in its `Peer`.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Connections admitted and not logged in yet.
    pub fn logging_in(&self) -> usize {
        self.unauthenticated.load(Ordering::Acquire)
    }
}

/// Holds a connection's place in the counters; gives it back on drop.
#[derive(Debug)]
pub(crate) struct Admission {
    gate: Arc<Gate>,
    /// The address's entry, held while the connection lives.
    pub address: Option<Arc<Address>>,
    /// `handshake_timeout()`, in 32 bits: every idle connection keeps this ticket.
    handshake_ms: u32,
    logging_in: bool,
}

impl Admission {
    /// This connection's time to log in: shorter for an address that holds
    /// many connections still logging in (`[LIMIT-4]`).
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.handshake_ms))
    }

    /// The connection logged in: it no longer counts against --max-unauthenticated.
    pub fn logged_in(&mut self) {
        if std::mem::take(&mut self.logging_in) {
            self.gate.unauthenticated.fetch_sub(1, Ordering::AcqRel);
            if let Some(address) = &self.address {
                address.lock().logging_in -= 1;
            }
        }
    }

    /// `[LIMIT-5]`: whether this connection's address may make a room now
    /// (`--room-create-rate`); always without per-address state.
    pub fn take_room(&self) -> bool {
        match (&self.gate.addresses, &self.address) {
            (Some(book), Some(address)) => book.take_room(&mut address.lock()),
            _ => true,
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.logged_in();
        self.gate.active.fetch_sub(1, Ordering::AcqRel);
        if let Some(address) = &self.address {
            address.lock().connections -= 1;
        }
    }
}
