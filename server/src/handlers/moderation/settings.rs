//! ROOM_SETTINGS (`[MOD-5]`, `[MOD-6]`) and AUDIT (`[MOD-16]`), their
//! checks in the order of `[MOD-20]`.

use std::sync::Arc;

use confab_protocol::frame::{code, modes, Audit, AuditEntries, Frame, ModAction, RoomSettings};
use confab_protocol::moderation::MOD_TEXT_MAX;
use confab_protocol::names::name_key;
use confab_protocol::{ErrorCode, List, Str8};

use crate::connection::ConnState;
use crate::moderation::policy::{self, Actor, Rank};
use crate::moderation::{Draft, Scope};

pub async fn room_settings(state: &mut ConnState, request: RoomSettings) {
    let refuse = |code: ErrorCode, message: String| (code, message);
    let result = async {
        // spec: MOD-20 ROOM_SETTINGS check 1, MOD-18
        if request.change & RoomSettings::TOPIC != 0 && request.topic.len() > MOD_TEXT_MAX {
            return Err(refuse(
                ErrorCode::TEXT_TOO_LONG,
                format!("the topic is longer than {MOD_TEXT_MAX} bytes"),
            ));
        }
        // spec: MOD-20 check 2
        let Some(room) = super::existing_room(state, &request.room).await else {
            let name = request.room.as_str();
            return Err(refuse(ErrorCode::NO_SUCH_ROOM, format!("no room {name:?}")));
        };
        Ok(room)
    }
    .await;
    let room = match result {
        Ok(room) => room,
        Err((code, message)) => {
            return state
                .reject_in_order(code, code::ROOM_SETTINGS, 0, &message)
                .await
        }
    };
    let shared = Arc::clone(&state.shared);
    let me = super::who_of(state);
    // spec: MOD-5 — change 0 asks, and needs no role and no membership.
    if request.change == 0 {
        let info = shared.moderation.room_info(&room, &me, "");
        state.unacked.settled().await;
        state.send(Frame::RoomInfo(info));
        return;
    }
    // spec: MOD-20 check 3, MOD-3
    let actor = Actor {
        rank: shared.moderation.rank(&name_key(&room), &me),
        guest: !me.registered,
    };
    if let Some(why) = policy::lacks("changing the settings", &room, Rank::Operator, actor) {
        return state
            .reject_in_order(ErrorCode::NOT_PERMITTED, code::ROOM_SETTINGS, 0, &why)
            .await;
    }
    let scope = Scope::room(&room);
    let draft = Draft {
        action: ModAction::Settings,
        actor: me.name.clone(),
        target: String::new(),
        duration_ms: 0,
        reason: describe(&request),
    };
    let by = me.name.clone();
    // spec: MOD-20 check 4, MOD-15 — stored before it takes effect.
    let applied = shared
        .moderation
        .apply(shared.store.as_ref(), &scope, Some(draft), |r, now| {
            if request.change & RoomSettings::TOPIC != 0 {
                r.topic = if confab_protocol::names::is_blank(&request.topic) {
                    String::new()
                } else {
                    request.topic.to_string()
                };
                r.topic_by = by.clone();
                r.topic_at = now;
            }
            if request.change & RoomSettings::MODES != 0 {
                r.modes = request.modes & (modes::INVITE_ONLY | modes::MODERATED);
            }
            if request.change & RoomSettings::MEMBER_LIMIT != 0 {
                // spec: MOD-5 — lowering it removes nobody.
                r.member_limit = request.member_limit;
            }
            Ok(())
        })
        .await;
    let event = match applied {
        Ok((_, event)) => event.expect("a change has an audit entry"),
        Err((code, message)) => {
            return state
                .reject_in_order(code, code::ROOM_SETTINGS, 0, &message)
                .await
        }
    };
    tracing::info!(id = event.id, time = event.time, actor = %event.actor, room = %event.room, reason = %event.reason, "room settings changed");
    // spec: MOD-6 — the requester's answer, then every member that reads ROOM_INFO.
    state.unacked.settled().await;
    state.send(Frame::RoomInfo(
        shared.moderation.room_info(&room, &me, &me.name),
    ));
    if let Some(hub_room) = shared.hub.room(&room) {
        for member in hub_room.members() {
            if member.conn_id == state.id || !member.moderation.aware {
                continue;
            }
            let info = shared.moderation.room_info(&room, &member.who(), &me.name);
            let _ = member.outbox.push(Frame::RoomInfo(info).to_bytes());
        }
    }
}

/// `[MOD-6]`: what changed, in plain English, for the audit entry.
fn describe(request: &RoomSettings) -> String {
    let on = |bit| {
        if request.modes & bit != 0 {
            "on"
        } else {
            "off"
        }
    };
    let mut parts = Vec::new();
    if request.change & RoomSettings::TOPIC != 0 {
        parts.push(if confab_protocol::names::is_blank(&request.topic) {
            "topic cleared".to_string()
        } else {
            "topic".to_string()
        });
    }
    if request.change & RoomSettings::MODES != 0 {
        parts.push(format!("invite-only {}", on(modes::INVITE_ONLY)));
        parts.push(format!("moderated {}", on(modes::MODERATED)));
    }
    if request.change & RoomSettings::MEMBER_LIMIT != 0 {
        parts.push(match request.member_limit {
            0 => "no member limit".to_string(),
            n => format!("member limit {n}"),
        });
    }
    parts.join(", ")
}

/// Bytes of an AUDIT_ENTRIES body besides its entries: flags, room, count.
fn overhead(room: &str) -> usize {
    1 + 1 + room.len() + 2
}

pub async fn audit(state: &mut ConnState, request: Audit) {
    let shared = Arc::clone(&state.shared);
    let me = super::who_of(state);
    let refuse = |code, message: String| (code, message);
    let judged = async {
        if request.room.is_empty() {
            // spec: MOD-20 AUDIT check 1
            if !shared.moderation.is_operator(&me) {
                let actor = Actor {
                    rank: Rank::None,
                    guest: !me.registered,
                };
                let why = policy::lacks(
                    "reading the whole audit log",
                    "",
                    Rank::ServerOperator,
                    actor,
                );
                return Err(refuse(ErrorCode::NOT_PERMITTED, why.unwrap_or_default()));
            }
            return Ok(String::new());
        }
        // spec: MOD-20 AUDIT checks 2 and 3
        let Some(room) = super::existing_room(state, &request.room).await else {
            let name = request.room.as_str();
            return Err(refuse(ErrorCode::NO_SUCH_ROOM, format!("no room {name:?}")));
        };
        let actor = Actor {
            rank: shared.moderation.rank(&name_key(&room), &me),
            guest: !me.registered,
        };
        if let Some(why) = policy::lacks("reading the audit log", &room, Rank::Operator, actor) {
            return Err(refuse(ErrorCode::NOT_PERMITTED, why));
        }
        Ok(room)
    }
    .await;
    let room = match judged {
        Ok(room) => room,
        Err((code, message)) => return state.reject_in_order(code, code::AUDIT, 0, &message).await,
    };
    // spec: MOD-16 — min(limit, history_max); 0: history_max.
    let max = usize::from(shared.limits.history_max);
    let limit = match usize::from(request.limit) {
        0 => max,
        n => n.min(max),
    };
    let key = name_key(&room).to_string();
    let room_key = (!room.is_empty()).then_some(key.as_str());
    let (entries, older) = shared.moderation.audit(room_key, request.before, limit);
    let budget = shared.limits.max_frame as usize - overhead(&room);
    let entry_len = |e: &confab_protocol::frame::ModerationEvent| {
        8 + 8
            + 1
            + 1
            + e.room.len()
            + 1
            + e.actor.len()
            + 1
            + e.target.len()
            + 8
            + 2
            + e.reason.len()
    };
    let pages = super::super::pages(entries, entry_len, budget);
    let last = pages.len() - 1;
    state.unacked.settled().await;
    for (i, page) in pages.into_iter().enumerate() {
        let flags = if i < last {
            AuditEntries::MORE
        } else if older {
            AuditEntries::OLDER
        } else {
            0
        };
        let entries = List::new(page).expect("pages hold at most u16::MAX entries");
        state
            .send_paced(Frame::AuditEntries(AuditEntries {
                flags,
                room: Str8::truncated(&room),
                entries,
            }))
            .await;
    }
}
