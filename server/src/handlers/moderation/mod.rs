//! The requests of spec section 21 (MODERATE, ROOM_SETTINGS, AUDIT) and the
//! moderation checks of JOIN, SEND and LOGIN: thin glue between a
//! connection and `crate::moderation`, which holds the rules.

mod act;
mod announce;
mod settings;

pub use act::moderate;
pub use settings::{audit, room_settings};

use std::sync::Arc;

use bytes::Bytes;
use confab_protocol::frame::{code, Frame, Notice, NoticeLevel};
use confab_protocol::names::{name_key, normalize_name, user_key};
use confab_protocol::{ErrorCode, Str16};

use crate::connection::ConnState;
use crate::hub::Room;
use crate::moderation::{Scope, Who};

/// A room a moderation request names, in its canonical spelling, if it
/// exists: it has members, history or moderation (`[MOD-20]`).
async fn existing_room(state: &ConnState, room: &str) -> Option<String> {
    let shared = &state.shared;
    let name = normalize_name(room, usize::from(shared.limits.max_room_name)).ok()?;
    let stored = !super::load_if_stored(state, &name).await;
    if let Some(room) = shared.hub.room(&name) {
        return Some(room.name.to_string());
    }
    let key = name_key(&name).to_string();
    if let Some(settings) = shared.moderation.room(&key) {
        return Some(settings.name);
    }
    stored.then_some(name)
}

/// `[MOD-7]`: the moderation checks of a JOIN of a room `state` is not yet
/// in, after `[STATE-7]` checks 1–2. `Err` when refused (answered here);
/// else whether the join uses an invitation.
pub fn check_join(state: &ConnState, room: &str) -> Result<bool, ()> {
    let shared = &state.shared;
    let members = shared.hub.room(room).map_or(0, |r| r.member_count());
    let who = state.member().who();
    match shared.moderation.admit(room, &who, members) {
        Ok(invited) => Ok(invited),
        Err((code, message)) => {
            tracing::debug!(conn = state.id, user = %who.name, "join of {room:?} refused: {message}");
            state.reject(code, code::JOIN, 0, &message);
            Err(())
        }
    }
}

/// Settles what a JOIN changes in moderation — the founder of a room it
/// makes (`[MOD-3]`), the invitation it uses (`[MOD-8]`) — and returns what
/// goes right after JOINED: ROOM_INFO, or the topic as a NOTICE (`[MOD-6]`,
/// `[MOD-2]`). `created`: the JOIN makes the room.
pub fn joining(state: &ConnState, room: &Room, created: bool, invited: bool) -> Option<Bytes> {
    let shared = &state.shared;
    let member = state.member();
    let who = member.who();
    let scope = Scope::room(&room.name);
    let mut changed = false;
    // spec: MOD-3 — the registered account whose JOIN made the room; not
    // a guest, and not the default room.
    // A room with moderation kept (`[MOD-19]`) exists, though let go.
    let kept = shared.moderation.has_room(&name_key(&room.name));
    if created && !kept && who.registered && room.name.as_str() != shared.default_room {
        shared
            .moderation
            .update_now(&scope, |r| r.founder = who.name.clone());
        changed = true;
        tracing::info!(user = %who.name, room = %room.name, "founded the room");
    }
    if invited {
        // spec: MOD-8 — used up by the join.
        shared.moderation.update_now(&scope, |r| {
            r.invites.retain(|i| i.key != who.key);
        });
        changed = true;
    }
    if changed && shared.store.is_some() {
        // spec: MOD-19 — stored soon after; the join does not wait for the disk.
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            if let Some(store) = &shared.store {
                shared.moderation.persist(store, &scope).await;
            }
        });
    }
    if member.moderation.aware {
        let info = shared.moderation.room_info(&room.name, &who, "");
        return Some(Frame::RoomInfo(info).to_bytes());
    }
    // spec: MOD-2 — an older client hears of the topic as a NOTICE.
    let settings = shared.moderation.room(&name_key(&room.name))?;
    (!settings.topic.is_empty()).then(|| {
        let text = format!(
            "Topic of {}: {} (set by {})",
            room.name, settings.topic, settings.topic_by
        );
        notice(NoticeLevel::Info, &text)
    })
}

/// `[MOD-9]`: `Err` with the refusal when the member may not speak in `room`.
pub fn check_speak(state: &ConnState, room: &Room) -> Result<(), String> {
    state
        .shared
        .moderation
        .may_speak(&room.name, || state.member().who())
}

/// `[MOD-13]`: the server ban of a name, as LOGIN_REJECTED's code and message.
pub fn check_login(shared: &crate::shared::Shared, name: &str) -> Result<(), (ErrorCode, String)> {
    let now = shared.moderation.now();
    match shared.moderation.name_banned(&user_key(name), now) {
        Some(ban) => Err((
            ErrorCode::ACCOUNT_BANNED,
            format!(
                "{name} is banned from this server{}{}",
                crate::moderation::until(ban.expires),
                if ban.reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", ban.reason)
                }
            ),
        )),
        None => Ok(()),
    }
}

/// Forgets rooms moderation removed this connection from (`[MOD-11]`).
pub fn forget_removed_rooms(state: &mut ConnState) {
    let Some(member) = &state.member else {
        return;
    };
    if !member
        .moderation
        .removed
        .swap(false, std::sync::atomic::Ordering::AcqRel)
    {
        return;
    }
    let conn_id = member.conn_id;
    state.rooms.retain(|room| room.is_member(conn_id));
}

/// A NOTICE, encoded.
fn notice(level: NoticeLevel, text: &str) -> Bytes {
    Frame::Notice(Notice {
        level,
        text: Str16::truncated(text),
    })
    .to_bytes()
}

/// Who a member is, for moderation's questions.
fn who_of(state: &ConnState) -> Who {
    state.member().who()
}
