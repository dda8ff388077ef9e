//! Moderation (spec section 21): roles, room settings, bans, mutes,
//! invitations and the audit log, kept here apart from how requests
//! arrive. `policy` says who may do what, `state` what is remembered; this
//! file keeps the state, judges JOIN, SEND and LOGIN by it, and makes every
//! change durable (when there is a store) before it is applied and announced.

pub mod actions;
mod changes;
mod judge;
pub mod policy;
pub mod state;
mod store_rows;
pub mod sweep;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::RwLock;

use confab_protocol::frame::{ModAction, ModerationEvent, RoomInfo};
use confab_protocol::names::{name_key, user_key};
use confab_protocol::{ErrorCode, Str16, Str8};

use crate::clock::Clock;
pub use policy::Rank;
pub use state::{Entry, RoomMod};

/// Audit entries kept, newest first (`[MOD-21]`); older ones are dropped.
pub const AUDIT_KEEP: usize = 10_000;

/// A refusal: the ERROR's code and message.
pub type Refused = (ErrorCode, String);

/// Who a question is about: a logged-in user.
#[derive(Debug, Clone)]
pub struct Who {
    pub name: String,
    /// `user_key` of the name (`[SEC-8]`).
    pub key: String,
    pub registered: bool,
    pub ip: IpAddr,
}

/// Where a change applies: a room (its key and canonical name) or the server.
#[derive(Debug, Clone)]
pub enum Scope {
    Room { key: String, name: String },
    Server,
}

impl Scope {
    pub fn room(name: &str) -> Scope {
        Scope::Room {
            key: name_key(name).to_string(),
            name: name.to_string(),
        }
    }

    fn key(&self) -> &str {
        match self {
            Scope::Room { key, .. } => key,
            Scope::Server => "",
        }
    }

    fn name(&self) -> &str {
        match self {
            Scope::Room { name, .. } => name,
            Scope::Server => "",
        }
    }
}

/// What an accepted action records (`[MOD-12]`); the id and time come from here.
#[derive(Debug, Clone)]
pub struct Draft {
    pub action: ModAction,
    pub actor: String,
    pub target: String,
    /// Relative; 0: none (`[MOD-14]`).
    pub duration_ms: u64,
    pub reason: String,
}

#[derive(Debug, Default)]
struct State {
    rooms: HashMap<String, RoomMod>,
    /// The server's bans, in a `RoomMod` of no name.
    server: RoomMod,
    audit: VecDeque<ModerationEvent>,
    next_id: u64,
}

/// The state, written: on release, whether any room restricts speech is
/// worked out again.
struct Writing<'a> {
    state: std::sync::RwLockWriteGuard<'a, State>,
    restricted: &'a std::sync::atomic::AtomicBool,
}

impl std::ops::Deref for Writing<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl std::ops::DerefMut for Writing<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let any = self.state.rooms.values().any(|r| {
            !r.mutes.is_empty() || r.modes & confab_protocol::frame::modes::MODERATED != 0
        });
        self.restricted
            .store(any, std::sync::atomic::Ordering::Release);
    }
}

#[derive(Debug)]
pub struct Moderation {
    /// Server operators' name keys, from the configuration (`[MOD-3]`);
    /// replaced whole by a reload.
    operators: RwLock<HashSet<String>>,
    state: RwLock<State>,
    /// Whether any room has a mute or is `MODERATED`: SEND asks nothing more
    /// while none has (`[MOD-9]`).
    speech_restricted: std::sync::atomic::AtomicBool,
    /// One change at a time is stored and applied, so none overwrites another.
    writing: tokio::sync::Mutex<()>,
    pub clock: Clock,
}

impl Moderation {
    pub fn new(operators: &[String], clock: Clock) -> Moderation {
        Moderation {
            operators: RwLock::new(operator_keys(operators)),
            state: RwLock::new(State {
                next_id: 1,
                ..State::default()
            }),
            speech_restricted: Default::default(),
            writing: tokio::sync::Mutex::new(()),
            clock,
        }
    }

    /// Takes up what the store kept (`[MOD-19]`); expired entries are
    /// never matched again (`[MOD-14]`).
    pub fn restore(&self, loaded: crate::store::moderation::Loaded) {
        let mut guard = self.write();
        let state = &mut *guard;
        store_rows::restore(
            &mut state.rooms,
            &mut state.server,
            loaded.rooms,
            loaded.entries,
        );
        state.next_id = loaded.audit.last().map_or(1, |a| a.id + 1);
        state.audit = loaded
            .audit
            .into_iter()
            .filter_map(store_rows::event_of)
            .collect();
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> Writing<'_> {
        Writing {
            state: self.state.write().unwrap_or_else(|e| e.into_inner()),
            restricted: &self.speech_restricted,
        }
    }

    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// `[MOD-3]`: a server operator is a registered account the configuration names.
    pub fn is_operator(&self, who: &Who) -> bool {
        who.registered
            && self
                .operators
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&who.key)
    }

    /// `--operators` as reloaded: the next decision judges by the new set,
    /// so a removed operator's rights end at once (`[MOD-3]`).
    pub fn set_operators(&self, operators: &[String]) {
        *self.operators.write().unwrap_or_else(|e| e.into_inner()) = operator_keys(operators);
    }

    /// `who`'s rank in the room `room_key` (`[MOD-3]`).
    pub fn rank(&self, room_key: &str, who: &Who) -> Rank {
        if self.is_operator(who) {
            return Rank::ServerOperator;
        }
        self.read()
            .rooms
            .get(room_key)
            .map_or(Rank::None, |r| r.rank(&who.key, who.registered))
    }

    /// The rank of a registered or guest name not necessarily logged in.
    pub fn rank_of_name(&self, room_key: &str, name: &str, registered: bool) -> Rank {
        let who = Who {
            name: name.to_string(),
            key: user_key(name),
            registered,
            ip: IpAddr::from([0, 0, 0, 0]),
        };
        self.rank(room_key, &who)
    }

    /// Whether the room has settings, roles or lists (`[MOD-20]`: it exists).
    pub fn has_room(&self, room_key: &str) -> bool {
        self.read().rooms.contains_key(room_key)
    }

    /// The room's moderation as it stands, if any.
    pub fn room(&self, room_key: &str) -> Option<RoomMod> {
        self.read().rooms.get(room_key).cloned()
    }

    /// The room's modes and topic, for ROOM_LIST_INFO (`[MOD-17]`).
    pub fn modes_and_topic(&self, room_key: &str) -> (u8, String) {
        self.read()
            .rooms
            .get(room_key)
            .map_or((0, String::new()), |r| (r.modes, r.topic.clone()))
    }

    /// ROOM_INFO of `room` for `who` (`[MOD-6]`).
    pub fn room_info(&self, room: &str, who: &Who, changed_by: &str) -> RoomInfo {
        let key = name_key(room).to_string();
        let rank = self.rank(&key, who);
        let settings = self.room(&key).unwrap_or_else(|| RoomMod::new(room));
        RoomInfo {
            room: Str8::truncated(room),
            modes: settings.modes,
            member_limit: settings.member_limit,
            role: rank.role(),
            founder: Str8::truncated(&settings.founder),
            changed_by: Str8::truncated(changed_by),
            topic_by: Str8::truncated(&settings.topic_by),
            topic_at: settings.topic_at,
            topic: Str16::truncated(&settings.topic),
        }
    }
}

/// " until <time>" for an expiry, or nothing when it has none.
pub fn until(expires: u64) -> String {
    if expires == 0 {
        return String::new();
    }
    let at = chrono::DateTime::from_timestamp_millis(expires as i64).map_or_else(
        || expires.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    format!(" until {at}")
}

/// The name keys `--operators` lists.
fn operator_keys(operators: &[String]) -> HashSet<String> {
    operators
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(user_key)
        .collect()
}

#[cfg(test)]
mod tests;
