//! Strategies for the frames a server sends, and the GREETING limits block.

use super::*;

/// The GREETING limits block, every field at its boundaries (not only
/// within the bounds of spec section 16: the codec must carry any value).
pub fn limits() -> BoxedStrategy<Limits> {
    (
        (u32s(), u8s(), u8s(), u16s(), u16s(), u32s(), u32s(), u32s()),
        (u32s(), u32s(), u32s(), u32s(), u32s(), u8s(), u16s()),
    )
        .prop_map(
            |(
                (
                    max_frame,
                    max_username,
                    max_room_name,
                    max_body,
                    max_rooms,
                    msg_rate,
                    msg_burst,
                    byte_rate,
                ),
                (
                    byte_burst,
                    queue_depth,
                    ping_interval_ms,
                    ping_timeout_ms,
                    handshake_timeout_ms,
                    login_attempts,
                    history_max,
                ),
            )| Limits {
                max_frame,
                max_username,
                max_room_name,
                max_body,
                max_rooms,
                msg_rate,
                msg_burst,
                byte_rate,
                byte_burst,
                queue_depth,
                ping_interval_ms,
                ping_timeout_ms,
                handshake_timeout_ms,
                login_attempts,
                history_max,
            },
        )
        .boxed()
}

pub fn greeting_with_versions(versions: BoxedStrategy<(u16, u16)>) -> BoxedStrategy<Frame> {
    (versions, flags(), str8(), limits(), str8(), str16())
        .prop_map(
            |((min_version, max_version), flags, server, limits, default_room, prompt)| {
                Frame::Greeting(Greeting {
                    min_version,
                    max_version,
                    flags,
                    server,
                    limits,
                    default_room,
                    prompt,
                })
            },
        )
        .boxed()
}

pub fn greeting() -> BoxedStrategy<Frame> {
    greeting_with_versions((u16s(), u16s()).boxed())
}

pub fn welcome() -> BoxedStrategy<Frame> {
    (str8(), flags(), u64s())
        .prop_map(|(username, flags, server_time)| {
            Frame::Welcome(Welcome {
                username,
                flags,
                server_time,
            })
        })
        .boxed()
}

pub fn login_rejected() -> BoxedStrategy<Frame> {
    (error_code(), u8s(), str16())
        .prop_map(|(code, attempts_left, message)| {
            Frame::LoginRejected(LoginRejected {
                code,
                attempts_left,
                message,
            })
        })
        .boxed()
}

pub fn message() -> BoxedStrategy<Frame> {
    (u64s(), u64s(), u64s(), flags(), str8(), str8(), str16())
        .prop_map(|(id, seq, time, flags, room, sender, body)| {
            Frame::Message(Message {
                id,
                seq,
                time,
                flags,
                room,
                sender,
                body,
            })
        })
        .boxed()
}

pub fn ack() -> BoxedStrategy<Frame> {
    (u32s(), u64s(), u64s(), u64s())
        .prop_map(|(client_ref, id, seq, time)| {
            Frame::Ack(Ack {
                client_ref,
                id,
                seq,
                time,
            })
        })
        .boxed()
}

pub fn direct_message() -> BoxedStrategy<Frame> {
    (u64s(), u64s(), flags(), str8(), str8(), str16())
        .prop_map(|(id, time, flags, from, to, body)| {
            Frame::DirectMessage(DirectMessage {
                id,
                time,
                flags,
                from,
                to,
                body,
            })
        })
        .boxed()
}

pub fn joined() -> BoxedStrategy<Frame> {
    (str8(), u64s(), u32s())
        .prop_map(|(room, next_seq, members)| {
            Frame::Joined(Joined {
                room,
                next_seq,
                members,
            })
        })
        .boxed()
}

pub fn left() -> BoxedStrategy<Frame> {
    str8().prop_map(|room| Frame::Left(Left { room })).boxed()
}

pub fn room_entry(name: BoxedStrategy<Str8>) -> BoxedStrategy<RoomEntry> {
    (name, u32s())
        .prop_map(|(name, members)| RoomEntry { name, members })
        .boxed()
}

pub fn room_list() -> BoxedStrategy<Frame> {
    (flags(), list(room_entry(str8()), room_entry(tiny_str8())))
        .prop_map(|(flags, rooms)| Frame::RoomList(RoomList { flags, rooms }))
        .boxed()
}

pub fn who_list() -> BoxedStrategy<Frame> {
    (flags(), str8(), list(str8(), tiny_str8()))
        .prop_map(|(flags, room, users)| Frame::WhoList(WhoList { flags, room, users }))
        .boxed()
}

pub fn presence_event() -> BoxedStrategy<PresenceEvent> {
    prop::sample::select(
        &[
            PresenceEvent::Joined,
            PresenceEvent::Left,
            PresenceEvent::Disconnected,
        ][..],
    )
    .boxed()
}

pub fn presence() -> BoxedStrategy<Frame> {
    (presence_event(), str8(), str8(), u64s())
        .prop_map(|(event, room, username, time)| {
            Frame::Presence(Presence {
                event,
                room,
                username,
                time,
            })
        })
        .boxed()
}

pub fn history_end() -> BoxedStrategy<Frame> {
    (history_kind(), str8(), u16s(), flags())
        .prop_map(|(kind, target, count, flags)| {
            Frame::HistoryEnd(HistoryEnd {
                kind,
                target,
                count,
                flags,
            })
        })
        .boxed()
}

pub fn missed() -> BoxedStrategy<Frame> {
    (str8(), u64s(), u64s())
        .prop_map(|(room, from_seq, to_seq)| {
            Frame::Missed(Missed {
                room,
                from_seq,
                to_seq,
            })
        })
        .boxed()
}

pub fn notice_level() -> BoxedStrategy<NoticeLevel> {
    prop::sample::select(&[NoticeLevel::Info, NoticeLevel::Warning][..]).boxed()
}

pub fn notice() -> BoxedStrategy<Frame> {
    (notice_level(), str16())
        .prop_map(|(level, text)| Frame::Notice(Notice { level, text }))
        .boxed()
}

/// LIMITS (`[LIMITS-2]`): known and unknown ids, any value, in any order
/// and repeated (what a receiver must read), up to more than a server sends.
pub fn server_limits() -> BoxedStrategy<Frame> {
    let entry = (u16s(), u64s()).prop_map(|(id, value)| LimitEntry { id, value });
    prop_oneof![
        1 => Just(Vec::new()),
        4 => vec(entry.clone(), 1..8),
        1 => vec(entry, 60..70),
    ]
    .prop_map(|entries| {
        Frame::ServerLimits(ServerLimits {
            entries: List::new(entries).expect("few entries"),
        })
    })
    .boxed()
}
