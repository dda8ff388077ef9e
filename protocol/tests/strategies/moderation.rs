//! Strategies for the moderation frames of spec section 21 (1.2).

use super::*;

// -------------------------------------------------------------- moderation

/// Every value of `action` (spec section 21).
pub fn mod_action() -> BoxedStrategy<ModAction> {
    prop::sample::select(
        &[
            ModAction::Kick,
            ModAction::Ban,
            ModAction::Unban,
            ModAction::Mute,
            ModAction::Unmute,
            ModAction::Invite,
            ModAction::Op,
            ModAction::Deop,
            ModAction::Voice,
            ModAction::Devoice,
            ModAction::Disconnect,
            ModAction::ServerBan,
            ModAction::ServerUnban,
            ModAction::Announce,
            ModAction::Settings,
        ][..],
    )
    .boxed()
}

pub fn role() -> BoxedStrategy<Role> {
    prop::sample::select(
        &[
            Role::User,
            Role::Voiced,
            Role::Operator,
            Role::Founder,
            Role::ServerOperator,
        ][..],
    )
    .boxed()
}

pub fn moderate() -> BoxedStrategy<Frame> {
    (mod_action(), str8(), str8(), u64s(), str16())
        .prop_map(|(action, room, target, duration_ms, reason)| {
            Frame::Moderate(Moderate {
                action,
                room,
                target,
                duration_ms,
                reason,
            })
        })
        .boxed()
}

pub fn room_settings() -> BoxedStrategy<Frame> {
    (str8(), flags(), flags(), u32s(), str16())
        .prop_map(|(room, change, modes, member_limit, topic)| {
            Frame::RoomSettings(RoomSettings {
                room,
                change,
                modes,
                member_limit,
                topic,
            })
        })
        .boxed()
}

pub fn audit() -> BoxedStrategy<Frame> {
    (str8(), u64s(), u16s())
        .prop_map(|(room, before, limit)| {
            Frame::Audit(Audit {
                room,
                before,
                limit,
            })
        })
        .boxed()
}

pub fn room_info() -> BoxedStrategy<Frame> {
    (
        (str8(), flags(), u32s(), role(), str8()),
        (str8(), str8(), u64s(), str16()),
    )
        .prop_map(
            |(
                (room, modes, member_limit, role, founder),
                (changed_by, topic_by, topic_at, topic),
            )| {
                Frame::RoomInfo(RoomInfo {
                    room,
                    modes,
                    member_limit,
                    role,
                    founder,
                    changed_by,
                    topic_by,
                    topic_at,
                    topic,
                })
            },
        )
        .boxed()
}

/// A MODERATION_EVENT body, also an AUDIT_ENTRIES entry.
pub fn moderation_event_body(
    name: BoxedStrategy<Str8>,
    text: BoxedStrategy<Str16>,
) -> BoxedStrategy<ModerationEvent> {
    (
        (u64s(), u64s(), mod_action(), name.clone()),
        (name.clone(), name, u64s(), text),
    )
        .prop_map(
            |((id, time, action, room), (actor, target, expires, reason))| ModerationEvent {
                id,
                time,
                action,
                room,
                actor,
                target,
                expires,
                reason,
            },
        )
        .boxed()
}

pub fn moderation_event() -> BoxedStrategy<Frame> {
    moderation_event_body(str8(), str16())
        .prop_map(Frame::ModerationEvent)
        .boxed()
}

pub fn audit_entries() -> BoxedStrategy<Frame> {
    let small = || {
        moderation_event_body(
            tiny_str8(),
            prop_oneof![Just(Str16::empty()), str16()].boxed(),
        )
    };
    let entries = prop_oneof![
        1 => Just(Vec::new()),
        4 => vec(moderation_event_body(str8(), str16()), 1..4),
        2 => vec(small(), 1..40),
    ];
    (flags(), str8(), entries)
        .prop_map(|(flags, room, entries)| {
            Frame::AuditEntries(AuditEntries {
                flags,
                room,
                entries: List::new(entries).expect("few entries"),
            })
        })
        .boxed()
}

pub fn room_list_info() -> BoxedStrategy<Frame> {
    let entry = |name: BoxedStrategy<Str8>| {
        (name, u32s(), flags(), str16())
            .prop_map(|(name, members, modes, topic)| RoomInfoEntry {
                name,
                members,
                modes,
                topic,
            })
            .boxed()
    };
    let rooms = prop_oneof![
        1 => Just(Vec::new()),
        4 => vec(entry(str8()), 1..6),
    ];
    (flags(), rooms)
        .prop_map(|(flags, rooms)| {
            Frame::RoomListInfo(RoomListInfo {
                flags,
                rooms: List::new(rooms).expect("few entries"),
            })
        })
        .boxed()
}

/// Moderation requests (`C→S`, spec section 21).
pub fn moderation_request() -> BoxedStrategy<Frame> {
    Union::new(vec![moderate(), room_settings(), audit()]).boxed()
}

/// Moderation frames a server sends (`S→C`, spec section 21).
pub fn moderation_server_frame() -> BoxedStrategy<Frame> {
    Union::new(vec![
        room_info(),
        moderation_event(),
        audit_entries(),
        room_list_info(),
    ])
    .boxed()
}
