//! Shared state of the server: who is logged in and which rooms exist, and
//! delivery once the message log has a message (`crate::log`): the hub
//! numbers and fans out, the log stores, and neither reaches into the other.
//!
//! Every lock here is a plain mutex held for a few pushes onto outboxes and
//! never across an await or an I/O call, so no connection can block another.

mod direct;
pub mod dm_queue;
mod presence;
pub mod room;

pub use direct::DirectDelivery;
pub use room::{Room, Submitted};

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use confab_protocol::names::{name_key, normalize_name, user_key};
use confab_protocol::{Str8, Text};

use crate::connection::outbox::Outbox;
use crate::sync::lock;

/// Why a JOIN cannot have a new room (`[LIMIT-5]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRoom {
    /// The server has `--max-rooms-total` rooms.
    ServerFull,
    /// The address makes rooms faster than `--room-create-rate`.
    TooFast,
}

/// A logged-in connection as the rest of the server sees it.
#[derive(Debug)]
pub struct Member {
    pub conn_id: u64,
    /// The name as normalised at login (`[SEC-3]`).
    pub name: Str8,
    pub outbox: Arc<Outbox>,
    /// The lowest message id of direct-message history this member may read:
    /// a guest sees only its own session's, not an earlier holder's of the
    /// name (`[HISTORY-2]`); an account holder sees all (0).
    pub history_floor: std::sync::atomic::AtomicU64,
    /// What moderation needs of the member (`[MOD-2]`, `[MOD-3]`, `[MOD-10]`).
    pub moderation: MemberModeration,
}

/// A member as moderation sees it.
#[derive(Debug)]
pub struct MemberModeration {
    /// `user_key` of the name (`[SEC-8]`), computed once; the hub's set of
    /// users is keyed by it. Inline up to 23 bytes, so a short name's key
    /// costs no allocation of its own.
    pub key: UserKey,
    /// The name is a registered account's (guests hold no roles).
    pub registered: bool,
    /// The client set HELLO `MODERATION`.
    pub aware: bool,
    pub ip: std::net::IpAddr,
    /// Set when moderation removed the member from a room: its connection
    /// forgets rooms it is no longer in before its next request.
    pub removed: std::sync::atomic::AtomicBool,
}

/// A user key (`[SEC-8]`): text that is never encoded, so with no length
/// limit, since a skeleton can be longer than the 255-byte name it is of.
pub type UserKey = Text<{ usize::MAX }>;

/// The user key of a normalised name, as members keep it.
pub fn key_of(normalized: &str) -> UserKey {
    UserKey::truncated(&user_key(normalized))
}

/// A logged-in member in the hub's set, found by its user key: the member
/// holds the key, so the set needs no key of its own (8 bytes an entry).
#[derive(Debug)]
struct ByKey(Arc<Member>);

impl ByKey {
    fn key(&self) -> &str {
        &self.0.moderation.key
    }
}

impl Borrow<str> for ByKey {
    fn borrow(&self) -> &str {
        self.key()
    }
}

// Hashes and compares as its key's `str`, as `Borrow<str>` requires.
impl Hash for ByKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialEq for ByKey {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for ByKey {}

impl Member {
    /// The member as moderation's questions take it.
    pub fn who(&self) -> crate::moderation::Who {
        crate::moderation::Who {
            name: self.name.to_string(),
            key: self.moderation.key.to_string(),
            registered: self.moderation.registered,
            ip: self.moderation.ip,
        }
    }
}

#[derive(Debug)]
pub struct Hub {
    /// By `user_key`, the member's own copy (`MemberModeration::key`).
    users: Mutex<HashSet<ByKey>>,
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    next_id: AtomicU64,
    /// Room messages queued for recipients (`/metrics`), shared by every room.
    pub deliveries: prometheus_client::metrics::counter::Counter,
    history_keep: usize,
    /// Direct messages waiting to be written to each recipient (`[DM-4]`).
    pub dm_queues: dm_queue::DmQueues,
    /// Empty rooms kept in memory for their history, oldest first (`[LIMIT-5]`).
    idle: Mutex<IdleRooms>,
    /// Sessions being taken over by a login to their account (`[AUTH-4]`).
    pub takeovers: crate::takeover::Takeovers,
}

#[derive(Debug)]
struct IdleRooms {
    rooms: std::collections::VecDeque<(Arc<Room>, usize)>,
    bytes: usize,
    budget: usize,
}

impl Hub {
    pub fn new(history_keep: usize) -> Self {
        Hub {
            users: Mutex::new(HashSet::new()),
            rooms: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            deliveries: prometheus_client::metrics::counter::Counter::default(),
            history_keep,
            dm_queues: dm_queue::DmQueues::default(),
            idle: Mutex::new(IdleRooms {
                rooms: std::collections::VecDeque::new(),
                bytes: 0,
                budget: usize::MAX,
            }),
            takeovers: crate::takeover::Takeovers::default(),
        }
    }

    /// Ids as the store left them at the last run, and the room `resident`
    /// (the default room); the others are loaded when a request names them
    /// (`[LIMIT-5]`).
    pub fn restore(&self, loaded: crate::store::Loaded, resident: &str) {
        self.next_id.store(loaded.next_id.max(1), Ordering::Relaxed);
        let mut rooms = lock(&self.rooms);
        let resident = name_key(resident);
        for room in loaded
            .rooms
            .into_iter()
            .filter(|r| name_key(&r.name) == resident)
        {
            let restored = Room::restore(
                Str8::truncated(&room.name),
                self.history_keep,
                room.next_seq,
                room.recent,
            )
            .counting(&self.deliveries);
            rooms.insert(name_key(&room.name), Arc::new(restored));
        }
    }

    /// The id the next message will get, without taking it.
    pub fn peek_message_id(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed)
    }

    /// The next message id: unique, never 0, increasing (`[MSG-3]`).
    pub fn next_message_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a logged-in name; false when it is taken (`[HANDSHAKE-5]`).
    pub fn claim_name(&self, member: &Arc<Member>) -> bool {
        let mut users = lock(&self.users);
        // spec: SEC-8 — look-alike names are the same name.
        users.insert(ByKey(Arc::clone(member)))
    }

    /// Frees a name when its connection ends.
    pub fn release_name(&self, member: &Member) {
        let mut users = lock(&self.users);
        let key = &*member.moderation.key;
        if users
            .get(key)
            .is_some_and(|m| m.0.conn_id == member.conn_id)
        {
            users.remove(key);
            drop(users);
            self.takeovers.name_freed();
        }
    }

    /// The user logged in as `name`, compared as names compare (`[SEC-3]`);
    /// an invalid name names nobody (`[STATE-7]`).
    pub fn user(&self, name: &str) -> Option<Arc<Member>> {
        let normalized = normalize_name(name, usize::from(u8::MAX)).ok()?;
        lock(&self.users)
            .get(user_key(&normalized).as_str())
            .map(|m| Arc::clone(&m.0))
    }

    /// Every logged-in member (`[MOD-13]`: server-wide actions).
    pub fn members(&self) -> Vec<Arc<Member>> {
        lock(&self.users).iter().map(|m| Arc::clone(&m.0)).collect()
    }

    /// Every logged-in name, sorted.
    pub fn user_names(&self) -> Vec<Str8> {
        let mut names: Vec<Str8> = lock(&self.users).iter().map(|m| m.0.name.clone()).collect();
        names.sort();
        names
    }

    /// The room called `name` (already normalised), made by `create` if
    /// needed and the server-wide cap allows (`[LIMIT-5]`); `create` says
    /// whether a new room may be made now (the per-address rate).
    pub fn room_or_create(
        &self,
        name: &str,
        max_rooms: usize,
        create: impl FnOnce() -> bool,
    ) -> Result<Arc<Room>, NoRoom> {
        let mut rooms = lock(&self.rooms);
        let key = name_key(name);
        if let Some(room) = rooms.get(&key) {
            return Ok(Arc::clone(room));
        }
        if max_rooms > 0 && rooms.len() >= max_rooms {
            return Err(NoRoom::ServerFull);
        }
        if !create() {
            return Err(NoRoom::TooFast);
        }
        let room = Arc::new(
            Room::new(Str8::truncated(name), self.history_keep).counting(&self.deliveries),
        );
        rooms.insert(key, Arc::clone(&room));
        Ok(room)
    }

    /// A room as the store has it, made again after it was let go.
    pub fn restore_room(&self, loaded: crate::log::LoadedRoom, max_rooms: usize) {
        let mut rooms = lock(&self.rooms);
        if max_rooms > 0 && rooms.len() >= max_rooms {
            return;
        }
        rooms.entry(name_key(&loaded.name)).or_insert_with(|| {
            Arc::new(
                Room::restore(
                    Str8::truncated(&loaded.name),
                    self.history_keep,
                    loaded.next_seq,
                    loaded.recent,
                )
                .counting(&self.deliveries),
            )
        });
    }

    /// Lets `room` go if nobody is in it and it keeps nothing that is not
    /// also in the store (`[LIMIT-5]`): an empty room costs no memory. True
    /// when it was let go.
    pub fn let_go_if_idle(&self, room: &Arc<Room>, history_is_stored: bool) -> bool {
        let mut rooms = lock(&self.rooms);
        let key = name_key(&room.name);
        if !rooms.get(&key).is_some_and(|r| Arc::ptr_eq(r, room)) {
            return false;
        }
        if room.evict_if_idle(history_is_stored) {
            rooms.remove(&key);
            return true;
        } else if !history_is_stored && room.member_count() == 0 {
            // Kept for its history alone, within a budget for all such rooms.
            let mut idle = lock(&self.idle);
            if !idle.rooms.iter().any(|(r, _)| Arc::ptr_eq(r, room)) {
                let bytes = room.history_bytes();
                idle.bytes += bytes;
                idle.rooms.push_back((Arc::clone(room), bytes));
            }
            while idle.bytes > idle.budget {
                let Some((oldest, bytes)) = idle.rooms.pop_front() else {
                    break;
                };
                idle.bytes -= bytes;
                // Joined again since, it is no longer idle; else its history goes with it.
                let oldest_key = name_key(&oldest.name);
                if rooms
                    .get(&oldest_key)
                    .is_some_and(|r| Arc::ptr_eq(r, &oldest))
                    && oldest.evict_if_idle(true)
                {
                    rooms.remove(&oldest_key);
                }
            }
        }
        false
    }

    /// Bytes of history the rooms kept only for it may hold, in all (`[LIMIT-5]`).
    pub fn set_idle_history_budget(&self, bytes: usize) {
        lock(&self.idle).budget = bytes;
    }

    #[cfg(test)]
    pub fn room_count(&self) -> usize {
        lock(&self.rooms).len()
    }

    /// The room called `name`, compared as names compare (`[ROOM-1]`); an
    /// invalid name names no room (`[STATE-7]`).
    pub fn room(&self, name: &str) -> Option<Arc<Room>> {
        let normalized = normalize_name(name, usize::from(u8::MAX)).ok()?;
        lock(&self.rooms).get(&name_key(&normalized)).cloned()
    }

    /// Forgets from the rooms' replay buffers what a retention pass removed
    /// from the message log (`[HISTORY-5]`): messages whose `time` is below
    /// `before_time`, and in each room named in `first_kept_seq` (by name
    /// key) the messages below that `seq`. A JOIN then replays only what
    /// HISTORY still returns.
    pub fn forget(
        &self,
        before_time: Option<u64>,
        first_kept_seq: &std::collections::HashMap<String, u64>,
    ) {
        let rooms: Vec<(String, Arc<Room>)> = lock(&self.rooms)
            .iter()
            .map(|(key, room)| (key.clone(), Arc::clone(room)))
            .collect();
        for (key, room) in rooms {
            room.forget(before_time, first_kept_seq.get(&key).copied());
        }
    }

    /// Rooms with at least one member and their member counts, sorted by name (`[ROOM-6]`).
    pub fn occupied_rooms(&self) -> Vec<(Str8, u32)> {
        let rooms: Vec<Arc<Room>> = lock(&self.rooms).values().cloned().collect();
        let mut list: Vec<(Str8, u32)> = rooms
            .iter()
            .map(|room| (room.name.clone(), room.member_count()))
            .filter(|(_, members)| *members > 0)
            .collect();
        list.sort();
        list
    }
}

#[cfg(test)]
mod tests;
