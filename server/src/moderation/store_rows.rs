//! Between moderation's state and the store's rows (`crate::store::moderation`).

use std::collections::HashMap;

use confab_protocol::frame::{ModAction, ModerationEvent};
use confab_protocol::moderation::AddressPattern;
use confab_protocol::{Str16, Str8};

use super::state::{Entry, Kind, RoomMod};
use super::AUDIT_KEEP;
use crate::store::moderation::{AuditRow, Change, EntryRow, RoomRow};

const KINDS: [Kind; 5] = [Kind::Ban, Kind::Mute, Kind::Invite, Kind::Op, Kind::Voice];

/// The rows of `room` (scope `scope`) as they now are, and `event`'s entry.
pub fn change(scope: &str, room: &RoomMod, event: Option<&ModerationEvent>, id: u64) -> Change {
    let settings = (!scope.is_empty() && !room.is_empty()).then(|| RoomRow {
        room_key: scope.to_string(),
        room: room.name.clone(),
        founder: room.founder.clone(),
        topic: room.topic.clone(),
        topic_by: room.topic_by.clone(),
        topic_at: room.topic_at,
        modes: room.modes,
        member_limit: room.member_limit,
    });
    let entries = KINDS
        .iter()
        .flat_map(|kind| {
            room.list(*kind).iter().map(move |e| EntryRow {
                scope: scope.to_string(),
                kind: *kind as i64,
                key: e.key.clone(),
                target: e.target.clone(),
                expires: e.expires,
                reason: e.reason.clone(),
            })
        })
        .collect();
    Change {
        scope: scope.to_string(),
        room: settings,
        entries,
        audit: event.map(|e| AuditRow {
            id: e.id,
            time: e.time,
            action: e.action as u8,
            room: e.room.to_string(),
            actor: e.actor.to_string(),
            target: e.target.to_string(),
            expires: e.expires,
            reason: e.reason.to_string(),
        }),
        audit_floor: if event.is_some() {
            id.saturating_sub(AUDIT_KEEP as u64)
        } else {
            0
        },
    }
}

/// Rooms and server bans from their rows.
pub fn restore(
    rooms: &mut HashMap<String, RoomMod>,
    server: &mut RoomMod,
    room_rows: Vec<RoomRow>,
    entry_rows: Vec<EntryRow>,
) {
    for r in room_rows {
        rooms.insert(
            r.room_key,
            RoomMod {
                name: r.room,
                founder: r.founder,
                topic: r.topic,
                topic_by: r.topic_by,
                topic_at: r.topic_at,
                modes: r.modes,
                member_limit: r.member_limit,
                ..RoomMod::default()
            },
        );
    }
    for row in entry_rows {
        let Some(kind) = Kind::from_number(row.kind) else {
            continue;
        };
        let pattern = if AddressPattern::is_pattern(&row.target) {
            match row.target.parse::<AddressPattern>() {
                Ok(p) => Some(p),
                Err(_) => continue,
            }
        } else {
            None
        };
        let entry = Entry {
            target: row.target,
            key: row.key,
            pattern,
            expires: row.expires,
            reason: row.reason,
        };
        let holder = if row.scope.is_empty() {
            &mut *server
        } else {
            // A room with entries but no settings row: its settings are the defaults.
            rooms
                .entry(row.scope.clone())
                .or_insert_with(|| RoomMod::new(&row.scope))
        };
        holder.list_mut(kind).push(entry);
    }
}

/// An audit row as the event it recorded; `None` for an unknown action.
pub fn event_of(row: AuditRow) -> Option<ModerationEvent> {
    Some(ModerationEvent {
        id: row.id,
        time: row.time,
        action: ModAction::try_from(row.action).ok()?,
        room: Str8::truncated(&row.room),
        actor: Str8::truncated(&row.actor),
        target: Str8::truncated(&row.target),
        expires: row.expires,
        reason: Str16::truncated(&row.reason),
    })
}
