//! What the server remembers per client address, beyond any one connection:
//! its connection counts, its connect bucket (`[LIMIT-3]`), the request
//! tokens its connections share (`[FLOW-5]`) and its room-creation bucket.
//!
//! Entries outlive their connections so that reconnecting resets nothing; an
//! entry no connection holds is forgotten once it has nothing left to
//! remember, and the map never holds more than `cap` entries.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use confab_protocol::Limits;
use tokio::time::Instant;

use crate::ratelimit::{Bucket, SharedBuckets};
use crate::sync::lock;

/// Per-address rates, from the configuration.
#[derive(Debug, Clone)]
pub struct AddressRules {
    pub limits: Limits,
    /// How many connections' worth of request tokens an address shares.
    pub share: u32,
    pub connect_rate: f64,
    pub connect_burst: f64,
    pub room_create_rate: f64,
    pub room_create_burst: f64,
}

#[derive(Debug)]
pub struct AddressState {
    pub connections: usize,
    pub logging_in: usize,
    connect: Bucket,
    pub requests: SharedBuckets,
    rooms: Bucket,
}

#[derive(Debug)]
pub struct Address {
    state: Mutex<AddressState>,
}

impl Address {
    pub fn lock(&self) -> MutexGuard<'_, AddressState> {
        lock(&self.state)
    }
}

#[derive(Debug)]
pub struct AddressBook {
    entries: Mutex<HashMap<IpAddr, Arc<Address>>>,
    cap: usize,
    /// Replaced whole by a reload (`crate::reload`): only the connect and
    /// room rates change there; read once per newcomer or new room.
    rules: RwLock<Arc<AddressRules>>,
}

impl AddressBook {
    /// At most `cap` entries: it must exceed the connection limit, since
    /// every connected address holds one.
    pub fn new(rules: AddressRules, cap: usize) -> Self {
        AddressBook {
            entries: Mutex::new(HashMap::new()),
            cap,
            rules: RwLock::new(Arc::new(rules)),
        }
    }

    fn rules(&self) -> Arc<AddressRules> {
        Arc::clone(&self.rules.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Takes up reloaded connect and room-creation rates; buckets keep their
    /// tokens, capped at the new burst when next used.
    pub fn set_rates(&self, connect: (f64, f64), room_create: (f64, f64)) {
        let mut rules = self.rules.write().unwrap_or_else(|e| e.into_inner());
        *rules = Arc::new(AddressRules {
            connect_rate: connect.0,
            connect_burst: connect.1,
            room_create_rate: room_create.0,
            room_create_burst: room_create.1,
            ..AddressRules::clone(&rules)
        });
    }

    /// The entry of `ip`, made if needed.
    pub fn entry(&self, ip: IpAddr) -> Arc<Address> {
        let ip = holder(ip);
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get(&ip) {
            return Arc::clone(entry);
        }
        if entries.len() >= self.cap {
            self.forget_idle(&mut entries);
        }
        let rules = self.rules();
        let entry = Arc::new(Address {
            state: Mutex::new(AddressState {
                connections: 0,
                logging_in: 0,
                connect: Bucket::full(rules.connect_burst),
                requests: SharedBuckets::new(&rules.limits, rules.share),
                rooms: Bucket::full(rules.room_create_burst),
            }),
        });
        entries.insert(ip, Arc::clone(&entry));
        entry
    }

    /// Drops entries no connection holds that remember nothing; if that is
    /// not enough, every entry no connection holds (penalties are lost
    /// rather than memory grown).
    fn forget_idle(&self, entries: &mut HashMap<IpAddr, Arc<Address>>) {
        let now = Instant::now();
        let rules = self.rules();
        entries.retain(|_, entry| Arc::strong_count(entry) > 1 || !is_idle(&rules, entry, now));
        if entries.len() >= self.cap * 3 / 4 {
            entries.retain(|_, entry| Arc::strong_count(entry) > 1);
        }
    }

    /// Takes a connect token (`[LIMIT-3]`); false when the address connects too fast.
    pub fn take_connect(&self, state: &mut AddressState) -> bool {
        let rules = self.rules();
        rules.connect_rate <= 0.0
            || state
                .connect
                .take(1.0, rules.connect_rate, rules.connect_burst, Instant::now())
    }

    /// Takes a room-creation token; false when the address makes rooms too fast.
    pub fn take_room(&self, state: &mut AddressState) -> bool {
        let rules = self.rules();
        rules.room_create_rate <= 0.0
            || state.rooms.take(
                1.0,
                rules.room_create_rate,
                rules.room_create_burst,
                Instant::now(),
            )
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

fn is_idle(rules: &AddressRules, entry: &Address, now: Instant) -> bool {
    let state = entry.lock();
    state.connections == 0
        && state
            .connect
            .is_full_at(rules.connect_rate, rules.connect_burst, now)
        && state
            .rooms
            .is_full_at(rules.room_create_rate, rules.room_create_burst, now)
        && state.requests.is_idle(&rules.limits, rules.share, now)
}

/// The address that stands for one client: an IPv6 host is its /64 prefix
/// (one subscriber holds a whole /64), an IPv4-mapped IPv6 address its IPv4
/// address.
pub fn holder(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(bits))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AddressRules {
        AddressRules {
            limits: Limits::default(),
            share: 2,
            connect_rate: 1.0,
            connect_burst: 2.0,
            room_create_rate: 1.0,
            room_create_burst: 1.0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_book_stays_within_its_cap_and_keeps_held_entries() {
        let book = AddressBook::new(rules(), 8);
        let held: Vec<(IpAddr, Arc<Address>)> = (0..4u8)
            .map(|i| IpAddr::from([10, 0, 0, i]))
            .map(|ip| (ip, book.entry(ip)))
            .collect();
        for i in 0..100u8 {
            let entry = book.entry(IpAddr::from([10, 0, 1, i]));
            assert!(book.take_connect(&mut entry.lock()));
        }
        assert!(book.len() <= 8, "{} entries", book.len());
        for (ip, entry) in &held {
            assert!(Arc::ptr_eq(entry, &book.entry(*ip)), "held entries stay");
        }
    }

    #[test]
    fn an_entry_is_small_so_the_book_is_bounded_in_bytes() {
        // Map slot (key, Arc) plus the Arc's allocation: with the default
        // cap (10,000 + 16,384 entries) the book stays under 12 MB.
        let slot = std::mem::size_of::<(IpAddr, Arc<Address>)>();
        let entry = std::mem::size_of::<Address>() + 2 * std::mem::size_of::<usize>();
        eprintln!("address book: {slot} + {entry} bytes per entry");
        assert!(slot + entry <= 256, "{slot} + {entry}");
        assert!((10_000 + 16_384) * 2 * (slot + entry) < 12_000_000);
    }

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64() {
        // spec: LIMIT-3
        let book = AddressBook::new(rules(), 8);
        let a = book.entry("2001:db8:1:2::1".parse().unwrap());
        let b = book.entry("2001:db8:1:2:ffff::9".parse().unwrap());
        let c = book.entry("2001:db8:1:3::1".parse().unwrap());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let mapped = book.entry("::ffff:10.0.0.1".parse().unwrap());
        assert!(Arc::ptr_eq(
            &mapped,
            &book.entry(IpAddr::from([10, 0, 0, 1]))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn connects_are_throttled_per_address() {
        // spec: LIMIT-3
        let book = AddressBook::new(rules(), 8);
        let entry = book.entry(IpAddr::from([10, 0, 0, 1]));
        assert!(book.take_connect(&mut entry.lock()));
        assert!(book.take_connect(&mut entry.lock()));
        assert!(!book.take_connect(&mut entry.lock()), "burst of 2 spent");
        drop(entry);
        let entry = book.entry(IpAddr::from([10, 0, 0, 1]));
        assert!(!book.take_connect(&mut entry.lock()), "remembered");
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        assert!(book.take_connect(&mut entry.lock()));
    }
}
