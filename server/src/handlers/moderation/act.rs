//! MODERATE (`[MOD-10]`–`[MOD-13]`), its checks in the order of `[MOD-20]`.

use std::sync::Arc;

use confab_protocol::frame::{code, Frame, ModAction, Moderate, NoticeLevel};
use confab_protocol::moderation::{AddressPattern, MOD_TEXT_MAX};
use confab_protocol::names::{is_blank, name_key, normalize_name, user_key};
use confab_protocol::ErrorCode;
use tracing::info;

use super::announce::{self, Announcement};
use crate::account_book::Accounts;
use crate::connection::Peer;
use crate::hub::Member;
use crate::moderation::policy::{self, Actor, Rank};
use crate::moderation::state::Entry;
use crate::moderation::{Draft, Refused, Scope};
use crate::services::Services;

/// The target as `[MOD-10]` reads it.
enum Target {
    /// ANNOUNCE: none.
    Nobody,
    /// A username, normalised, and its key.
    Name(String, String),
    /// An address pattern and its canonical text.
    Pattern(AddressPattern, String),
}

impl Target {
    fn key(&self) -> String {
        match self {
            Target::Nobody => String::new(),
            Target::Name(_, key) => key.clone(),
            Target::Pattern(_, text) => text.clone(),
        }
    }
}

pub async fn moderate(
    services: &Services,
    accounts: &Accounts,
    member: &Arc<Member>,
    peer: &mut Peer,
    m: Moderate,
) {
    match judge_and_apply(services, accounts, member, peer, &m).await {
        Ok(()) => {}
        Err((code, message)) => {
            tracing::debug!(conn = peer.id, "MODERATE refused: {code} {message}");
            peer.reject_in_order(code, code::MODERATE, 0, &message)
                .await;
        }
    }
}

fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Refused> {
    Err((code, message.into()))
}

/// `[MOD-20]` check 2: the target in the form the action takes.
fn parse_target(services: &Services, m: &Moderate) -> Result<Target, Refused> {
    let invalid = |why: &str| refuse(ErrorCode::INVALID_TARGET, why.to_string());
    let target = m.target.as_str();
    match m.action {
        ModAction::Settings => invalid("SETTINGS is an event, not a request"),
        ModAction::Announce if !target.is_empty() => invalid("ANNOUNCE takes no target"),
        ModAction::Announce if is_blank(&m.reason) => invalid("ANNOUNCE needs a text"),
        ModAction::Announce => Ok(Target::Nobody),
        action if AddressPattern::is_pattern(target) => {
            if !action.takes_pattern() {
                return invalid("this action takes a username, not an address pattern");
            }
            match target.parse::<AddressPattern>() {
                Ok(pattern) => Ok(Target::Pattern(pattern, pattern.to_string())),
                Err(e) => invalid(&format!("{target:?}: {e}")),
            }
        }
        _ => {
            let max = usize::from(services.limits.max_username);
            match normalize_name(target, max) {
                Ok(name) => {
                    let key = user_key(&name);
                    Ok(Target::Name(name, key))
                }
                Err(e) => invalid(&format!("{target:?} is no username: {e}")),
            }
        }
    }
}

async fn judge_and_apply(
    services: &Services,
    accounts: &Accounts,
    member: &Arc<Member>,
    peer: &mut Peer,
    m: &Moderate,
) -> Result<(), Refused> {
    let moderation = &services.moderation;
    // spec: MOD-20 check 1, MOD-18
    if m.reason.len() > MOD_TEXT_MAX {
        return refuse(
            ErrorCode::TEXT_TOO_LONG,
            format!("the reason is longer than {MOD_TEXT_MAX} bytes"),
        );
    }
    // spec: MOD-20 check 2, MOD-10
    let target = parse_target(services, m)?;
    // spec: MOD-20 check 3, MOD-13 — server-wide actions ignore `room`.
    let scope = if m.action.is_server_wide() {
        Scope::Server
    } else {
        match super::existing_room(services, &m.room).await {
            Some(name) => Scope::room(&name),
            None => {
                return refuse(
                    ErrorCode::NO_SUCH_ROOM,
                    format!("no room {:?}", m.room.as_str()),
                )
            }
        }
    };
    let (room_key, room_name) = match &scope {
        Scope::Room { key, name } => (key.clone(), name.clone()),
        Scope::Server => (String::new(), String::new()),
    };
    // spec: MOD-20 check 4, MOD-3, MOD-4
    let me = member.who();
    let my_rank = moderation.rank(&room_key, &me);
    let acted_on = match &target {
        Target::Name(name, key) if policy::acts_on_person(m.action, false) => {
            let rank = moderation.rank_of_name(&room_key, name, accounts.is_registered(name));
            Some((name.as_str(), rank, *key == me.key))
        }
        _ => None,
    };
    let actor = Actor {
        rank: my_rank,
        guest: !me.registered,
    };
    policy::check(m.action, &room_name, actor, acted_on)
        .or_else(|why| refuse(ErrorCode::NOT_PERMITTED, why))?;
    // spec: MOD-20 check 5
    let room = services
        .hub
        .room(&room_name)
        .filter(|_| !room_name.is_empty());
    let user: Option<Arc<Member>> = match &target {
        Target::Name(name, _) => services.hub.user(name),
        _ => None,
    };
    match m.action {
        ModAction::Kick => {
            let member_here = user
                .as_ref()
                .zip(room.as_ref())
                .is_some_and(|(u, r)| r.is_member(u.conn_id));
            if !member_here {
                return refuse(
                    ErrorCode::NO_SUCH_USER,
                    format!("{} is not in {room_name}", m.target.as_str()),
                );
            }
        }
        ModAction::Invite | ModAction::Disconnect if user.is_none() => {
            return refuse(
                ErrorCode::NO_SUCH_USER,
                format!("{} is not logged in", m.target.as_str()),
            );
        }
        ModAction::Op | ModAction::Deop | ModAction::Voice | ModAction::Devoice => {
            let Target::Name(name, _) = &target else {
                return refuse(ErrorCode::INVALID_TARGET, "a role needs an account");
            };
            if !accounts.is_registered(name) {
                return refuse(
                    ErrorCode::INVALID_TARGET,
                    format!("{name} is no registered account: guests hold no roles"),
                );
            }
        }
        _ => {}
    }
    let canonical = canonical_target(services, accounts, &target, user.as_deref()).await;
    let draft = Draft {
        action: m.action,
        actor: me.name.clone(),
        target: canonical.clone(),
        duration_ms: m.duration_ms,
        reason: m.reason.to_string(),
    };
    let entry_key = target.key();
    let pattern = match &target {
        Target::Pattern(p, _) => Some(*p),
        _ => None,
    };
    let (action, duration, reason) = (m.action, m.duration_ms, m.reason.to_string());
    let place = room_name.clone();
    // spec: MOD-20 check 5 (removal of nothing) and 6 (STORAGE_FAILURE), MOD-15
    let (_, event) = moderation
        .apply(
            services.store.as_ref(),
            &scope,
            Some(draft),
            move |r, now| {
                let entry = Entry {
                    target: canonical.clone(),
                    key: entry_key.clone(),
                    pattern,
                    expires: if duration > 0 {
                        now.saturating_add(duration)
                    } else {
                        0
                    },
                    reason,
                };
                crate::moderation::actions::change(r, action, entry, &place, now)
            },
        )
        .await?;
    let event = event.expect("an action has an audit entry");
    // spec: MOD-12 — the answer, in request order.
    peer.unacked.settled().await;
    peer.send(Frame::ModerationEvent(event.clone()));
    info!(
        id = event.id,
        time = event.time,
        actor = %event.actor,
        action = ?event.action,
        room = %event.room,
        target = %event.target,
        expires = event.expires,
        reason = %event.reason,
        "moderation"
    );
    let mut heard = Announcement::new(&event, peer.id);
    effects(
        services,
        peer,
        &mut heard,
        room.as_ref(),
        user.as_ref(),
        pattern,
    );
    Ok(())
}

/// `[NAMES-1]`: the target's canonical spelling.
async fn canonical_target(
    services: &Services,
    accounts: &Accounts,
    target: &Target,
    user: Option<&Member>,
) -> String {
    match target {
        Target::Nobody => String::new(),
        Target::Pattern(_, text) => text.clone(),
        Target::Name(name, _) => {
            if let Some(user) = user {
                return user.name.to_string();
            }
            match &services.store {
                Some(store) if accounts.is_registered(name) => store
                    .account_name(name_key(name).to_string())
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| name.clone()),
                _ => name.clone(),
            }
        }
    }
}

/// `[MOD-11]`–`[MOD-13]`: the effects of an accepted action and who hears of it.
fn effects(
    services: &Services,
    peer: &Peer,
    heard: &mut Announcement<'_>,
    room: Option<&Arc<crate::hub::Room>>,
    user: Option<&Arc<Member>>,
    pattern: Option<AddressPattern>,
) {
    let event = heard.event;
    let now = crate::clock::now_millis();
    let action = event.action;
    match action {
        ModAction::Disconnect => {
            if let Some(user) = user {
                heard.tell(user, true);
                announce::disconnect(user, &event.actor, &event.reason);
            }
            return;
        }
        ModAction::ServerBan => {
            // spec: MOD-13 — every logged-in connection it matches, server operators aside.
            let key = user_key(&event.target);
            for member in services.hub.members() {
                let who = member.who();
                let matched = match pattern {
                    Some(p) => p.matches(who.ip),
                    None => who.key == key,
                };
                if matched && member.conn_id != peer.id && !services.moderation.is_operator(&who) {
                    heard.tell(&member, true);
                    announce::disconnect(&member, &event.actor, &event.reason);
                }
            }
            return;
        }
        ModAction::Announce => {
            // spec: MOD-13 — every client understands NOTICE.
            let notice = Arc::new(super::notice(NoticeLevel::Warning, &event.reason));
            for member in services.hub.members() {
                let _ = member.outbox.push(Arc::clone(&notice));
            }
            return;
        }
        ModAction::ServerUnban => return,
        _ => {}
    }
    let Some(room) = room else {
        // A room with no one in it: only the target may hear.
        if let Some(user) = user.filter(|_| targets_hear(action)) {
            heard.tell(user, personal(action));
        }
        return;
    };
    let members = room.members();
    let removed: Vec<Arc<Member>> = match action {
        ModAction::Kick => user.cloned().into_iter().collect(),
        // spec: MOD-11 — a ban removes every member it matches (operators
        // and above pass bans, `[MOD-7]`, and stay).
        ModAction::Ban => members
            .iter()
            .filter(|m| m.conn_id != peer.id)
            .filter(|m| {
                let who = m.who();
                let matched = match pattern {
                    Some(p) => p.matches(who.ip),
                    None => who.key == user_key(&event.target),
                };
                matched && services.moderation.rank(&name_key(&room.name), &who) < Rank::Operator
            })
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    for member in &removed {
        heard.tell(member, true);
    }
    if let Some(user) = user.filter(|_| targets_hear(action)) {
        heard.tell(user, personal(action));
    }
    for member in &members {
        heard.tell(member, false);
    }
    for member in &removed {
        announce::remove_from_room(room, member, now);
    }
    if !removed.is_empty() {
        super::super::let_go_if_idle(services, room);
    }
}

/// `[MOD-12]`: the actions whose logged-in target hears of them.
fn targets_hear(action: ModAction) -> bool {
    !matches!(
        action,
        ModAction::Unban | ModAction::ServerUnban | ModAction::Announce
    )
}

/// `[MOD-2]`: the actions an older client is told of as NOTICE.
fn personal(action: ModAction) -> bool {
    matches!(
        action,
        ModAction::Kick | ModAction::Ban | ModAction::Mute | ModAction::Invite
    )
}
