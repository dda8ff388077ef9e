//! Moderation (spec section 21): roles, room settings, bans, mutes,
//! invitations and the audit log, kept here apart from how requests
//! arrive. `policy` says who may do what, `state` what is remembered; this
//! file keeps the state, judges JOIN, SEND and LOGIN by it, and makes every
//! change durable (when there is a store) before it is applied and announced.

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
use crate::store::Store;
pub use policy::{Actor, Rank};
pub use state::{Entry, Kind, RoomMod};

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

#[derive(Debug)]
pub struct Moderation {
    /// Server operators' name keys, from the configuration (`[MOD-3]`).
    operators: HashSet<String>,
    state: RwLock<State>,
    /// One change at a time is stored and applied, so none overwrites another.
    writing: tokio::sync::Mutex<()>,
    pub clock: Clock,
}

impl Moderation {
    pub fn new(operators: &[String], clock: Clock) -> Moderation {
        Moderation {
            operators: operators
                .iter()
                .map(|n| n.trim())
                .filter(|n| !n.is_empty())
                .map(user_key)
                .collect(),
            state: RwLock::new(State {
                next_id: 1,
                ..State::default()
            }),
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

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// `[MOD-3]`: a server operator is a registered account the configuration names.
    pub fn is_operator(&self, who: &Who) -> bool {
        who.registered && self.operators.contains(&who.key)
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

    /// `[MOD-7]`: may `who` join the room, which has `members` members?
    /// `Ok(true)` when it comes in on an invitation, which the join uses up
    /// (`[MOD-8]`, see [`Moderation::use_invitation`]).
    pub fn admit(&self, room: &str, who: &Who, members: u32) -> Result<bool, Refused> {
        let key = name_key(room).to_string();
        // spec: MOD-7 — operators and above are never refused these three.
        if self.rank(&key, who) >= Rank::Operator {
            return Ok(false);
        }
        let now = self.now();
        let state = self.read();
        let Some(settings) = state.rooms.get(&key) else {
            return Ok(false);
        };
        // spec: MOD-7, MOD-20 — BANNED, then INVITE_ONLY, then ROOM_FULL.
        if let Some(ban) = settings
            .bans
            .iter()
            .find(|b| b.matches(&who.key, who.ip, now))
        {
            return Err((
                ErrorCode::BANNED,
                format!("you are banned from {room}{}", until(ban.expires)),
            ));
        }
        let invited = settings
            .invites
            .iter()
            .any(|i| i.matches(&who.key, who.ip, now));
        if settings.modes & confab_protocol::frame::modes::INVITE_ONLY != 0 && !invited {
            return Err((
                ErrorCode::INVITE_ONLY,
                format!("{room} is invite-only: ask one of its operators to invite you"),
            ));
        }
        if settings.member_limit > 0 && members >= settings.member_limit {
            return Err((
                ErrorCode::ROOM_FULL,
                format!("{room} is full ({} members)", settings.member_limit),
            ));
        }
        Ok(invited)
    }

    /// `[MOD-9]`: may `who` speak in the room? The refusal says why.
    pub fn may_speak(&self, room: &str, who: &Who) -> Result<(), String> {
        let state = self.read();
        let Some(settings) = state.rooms.get(&name_key(room).to_string()) else {
            return Ok(());
        };
        let moderated = settings.modes & confab_protocol::frame::modes::MODERATED != 0;
        if settings.mutes.is_empty() && !moderated {
            return Ok(());
        }
        let rank = if self.is_operator(who) {
            Rank::ServerOperator
        } else {
            settings.rank(&who.key, who.registered)
        };
        let now = self.now();
        if let Some(mute) = settings
            .mutes
            .iter()
            .find(|m| m.matches(&who.key, who.ip, now))
        {
            // Operators are never muted (`[MOD-9]`): a mute left from
            // before they became one does not hold.
            if rank < Rank::Operator {
                return Err(format!("you are muted in {room}{}", until(mute.expires)));
            }
        }
        if moderated && rank < Rank::Voiced {
            return Err(format!(
                "{room} is moderated: only voiced members and operators speak"
            ));
        }
        Ok(())
    }

    /// `[MOD-13]`: the server ban on a name, if any, for its LOGIN.
    pub fn name_banned(&self, key: &str, now: u64) -> Option<Entry> {
        let unmatched: IpAddr = IpAddr::from([0u8; 16]);
        self.read()
            .server
            .bans
            .iter()
            .find(|b| b.pattern.is_none() && b.matches(key, unmatched, now))
            .cloned()
    }

    /// `[MOD-13]`: the server ban on an address, if any, for a new connection.
    pub fn address_banned(&self, ip: IpAddr) -> Option<Entry> {
        let now = self.now();
        let state = self.read();
        if state.server.bans.is_empty() {
            return None;
        }
        state
            .server
            .bans
            .iter()
            .find(|b| b.pattern.is_some() && b.matches("", ip, now))
            .cloned()
    }

    /// Applies one change to a scope: `change` edits a copy (refusing with
    /// `INVALID_TARGET` and the like), the result and its audit entry are
    /// stored, then take effect (`[MOD-15]`: a store failure changes
    /// nothing). Returns what `change` returned and the announced event.
    pub async fn apply<T>(
        &self,
        store: Option<&Store>,
        scope: &Scope,
        draft: Option<Draft>,
        change: impl FnOnce(&mut RoomMod, u64) -> Result<T, Refused>,
    ) -> Result<(T, Option<ModerationEvent>), Refused> {
        let _one_at_a_time = self.writing.lock().await;
        let now = self.now();
        let (mut copy, id) = {
            let state = self.read();
            let current = match scope {
                Scope::Server => Some(&state.server),
                Scope::Room { key, .. } => state.rooms.get(key),
            };
            let copy = current
                .cloned()
                .unwrap_or_else(|| RoomMod::new(scope.name()));
            (copy, state.next_id)
        };
        copy.purge(now);
        let out = change(&mut copy, now)?;
        let event = draft.map(|d| event(id, now, scope.name(), d));
        if let Some(store) = store {
            let rows = store_rows::change(scope.key(), &copy, event.as_ref(), id);
            store.save_moderation(rows).await.map_err(|e| {
                tracing::error!("cannot store a moderation change: {e}");
                (
                    ErrorCode::STORAGE_FAILURE,
                    "the moderation log is unavailable; nothing was changed".to_string(),
                )
            })?;
        }
        let mut state = self.write();
        match scope {
            Scope::Server => state.server = copy,
            Scope::Room { key, .. } if copy.is_empty() => {
                state.rooms.remove(key);
            }
            Scope::Room { key, .. } => {
                state.rooms.insert(key.clone(), copy);
            }
        }
        if let Some(event) = &event {
            state.next_id = id + 1;
            state.audit.push_back(event.clone());
            // spec: MOD-21 — the newest AUDIT_KEEP entries are kept.
            while state.audit.len() > AUDIT_KEEP {
                state.audit.pop_front();
            }
        }
        Ok((out, event))
    }

    /// Changes a scope in memory at once, for what a JOIN settles (a
    /// founder, an invitation used, `[MOD-3]`, `[MOD-8]`): no audit entry.
    /// [`Moderation::persist`] stores it after.
    pub fn update_now(&self, scope: &Scope, change: impl FnOnce(&mut RoomMod)) {
        let mut state = self.write();
        let target = match scope {
            Scope::Server => &mut state.server,
            Scope::Room { key, name } => state
                .rooms
                .entry(key.clone())
                .or_insert_with(|| RoomMod::new(name)),
        };
        change(target);
    }

    /// `[MOD-14]`: drops every expired ban, mute and invitation from
    /// memory (silently: no event, no audit entry); the scopes changed,
    /// for [`Moderation::persist`].
    pub fn purge_expired(&self) -> Vec<Scope> {
        let now = self.now();
        let mut state = self.write();
        let mut changed = Vec::new();
        if state.server.purge(now) {
            changed.push(Scope::Server);
        }
        for (key, room) in state.rooms.iter_mut() {
            if room.purge(now) {
                changed.push(Scope::Room {
                    key: key.clone(),
                    name: room.name.clone(),
                });
            }
        }
        state.rooms.retain(|_, room| !room.is_empty());
        changed
    }

    /// Stores a scope as it now stands (after `update_now`).
    pub async fn persist(&self, store: &Store, scope: &Scope) {
        let _one_at_a_time = self.writing.lock().await;
        let current = {
            let state = self.read();
            match scope {
                Scope::Server => Some(state.server.clone()),
                Scope::Room { key, .. } => state.rooms.get(key).cloned(),
            }
        };
        let current = current.unwrap_or_else(|| RoomMod::new(scope.name()));
        let rows = store_rows::change(scope.key(), &current, None, 0);
        if let Err(e) = store.save_moderation(rows).await {
            tracing::error!("cannot store the moderation of {:?}: {e}", scope.name());
        }
    }

    /// `[MOD-16]`: the latest `limit` entries below `before` (0: from the
    /// newest) of the room `room_key` (`None`: all), ascending; and whether
    /// older ones exist.
    pub fn audit(
        &self,
        room_key: Option<&str>,
        before: u64,
        limit: usize,
    ) -> (Vec<ModerationEvent>, bool) {
        let state = self.read();
        let mut page: Vec<ModerationEvent> = Vec::new();
        let mut older = false;
        for event in state.audit.iter().rev() {
            if before != 0 && event.id >= before {
                continue;
            }
            if room_key.is_some_and(|k| event.room.is_empty() || name_key(&event.room) != k) {
                continue;
            }
            if page.len() == limit {
                older = true;
                break;
            }
            page.push(event.clone());
        }
        page.reverse();
        (page, older)
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

/// The event of an accepted action (`[MOD-12]`).
fn event(id: u64, now: u64, room: &str, d: Draft) -> ModerationEvent {
    let expires = if d.action.takes_duration() && d.duration_ms > 0 {
        now.saturating_add(d.duration_ms)
    } else {
        0
    };
    ModerationEvent {
        id,
        time: now,
        action: d.action,
        room: Str8::truncated(room),
        actor: Str8::truncated(&d.actor),
        target: Str8::truncated(&d.target),
        expires,
        reason: Str16::truncated(&d.reason),
    }
}

#[cfg(test)]
mod tests;
