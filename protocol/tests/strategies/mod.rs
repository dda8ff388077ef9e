//! Hand-written proptest strategies for every Confab frame (spec section 5),
//! shared by the `prop_*` integration tests through `mod strategies;`.
//!
//! Every field strategy is biased toward the field's boundary values:
//!
//! - integers: 0, 1, MAX - 1, MAX, every single bit, and anything;
//! - flags: 0, 0xFF, every single bit (defined or not, `[TYPES-3]`), anything;
//! - `str8` / `str16`: empty, short, filled right up to the byte limit with
//!   1-, 2-, 3- or 4-byte characters and cut on a character boundary (so a
//!   multi-byte character that does not fit is dropped whole), exactly the
//!   limit in ASCII. `str16` reaches its 65,535-byte limit only occasionally
//!   (the raw text is up to ~70 kB before the cut) to keep the runtime sane;
//! - lists: empty, a few entries, and (rarely) the `u16` maximum of 65,535
//!   tiny entries;
//! - unknown frames: every type code that spec section 5 does not assign and
//!   that is not printable ASCII (`[FRAMING-4]`, `[FRAMING-5]`).
//!
//! The assigned type codes are copied from the spec here rather than taken
//! from the crate, so the tests do not trust the code they test.

#![allow(dead_code)]

use std::borrow::Cow;

use bytes::Bytes;
use confab_protocol::frame::{
    Ack, Audit, AuditEntries, Direct, DirectAction, DirectMessage, Direction, ErrorFrame, Goodbye,
    Greeting, Hello, History, HistoryEnd, HistoryKind, Join, Joined, Leave, Left, LimitEntry,
    ListRooms, Login, LoginMode, LoginRejected, Message, Missed, ModAction, Moderate,
    ModerationEvent, Notice, NoticeLevel, Ping, Pong, Presence, PresenceEvent, Role, RoomEntry,
    RoomInfo, RoomInfoEntry, RoomList, RoomListInfo, RoomSettings, SendAction, SendMessage,
    ServerLimits, Unknown, Welcome, Who, WhoList,
};
use confab_protocol::{ErrorCode, Frame, Limits, List, Str16, Str8};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;

/// A proptest config running `cases` cases, unless the `PROPTEST_CASES`
/// environment variable asks for another number (for long exploratory runs:
/// `PROPTEST_CASES=5000 cargo test -p confab-protocol --test prop_garbage`).
pub fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

pub const STR8_MAX: usize = 255;
pub const STR16_MAX: usize = 65_535;
pub const LIST_MAX: usize = 65_535;
pub const HEADER_LEN: usize = 5;

/// Type codes of spec section 5, with their catalogue names.
pub const ASSIGNED: &[(u8, &str)] = &[
    (0x01, "PING"),
    (0x02, "PONG"),
    (0x03, "GOODBYE"),
    (0x04, "ERROR"),
    (0x10, "HELLO"),
    (0x11, "LOGIN"),
    (0x12, "JOIN"),
    (0x13, "LEAVE"),
    (0x14, "LIST_ROOMS"),
    (0x15, "SEND"),
    (0x16, "DIRECT"),
    (0x17, "WHO"),
    (0x18, "HISTORY"),
    (0x1A, "SEND_ACTION"),
    (0x1B, "DIRECT_ACTION"),
    (0x1C, "MODERATE"),
    (0x1D, "ROOM_SETTINGS"),
    (0x1E, "AUDIT"),
    (0x80, "GREETING"),
    (0x81, "WELCOME"),
    (0x82, "LOGIN_REJECTED"),
    (0x83, "MESSAGE"),
    (0x84, "ACK"),
    (0x85, "DIRECT_MESSAGE"),
    (0x86, "JOINED"),
    (0x87, "LEFT"),
    (0x88, "ROOM_LIST"),
    (0x89, "WHO_LIST"),
    (0x8A, "PRESENCE"),
    (0x8B, "HISTORY_END"),
    (0x8C, "MISSED"),
    (0x8D, "NOTICE"),
    (0x8E, "LIMITS"),
    (0x8F, "ROOM_INFO"),
    (0x90, "MODERATION_EVENT"),
    (0x91, "AUDIT_ENTRIES"),
    (0x92, "ROOM_LIST_INFO"),
];

/// The type codes of spec section 21 (1.2), known only on a connection
/// whose server set GREETING flag `MODERATION` (`[MOD-1]`).
pub const MODERATION_CODES: &[u8] = &[0x1C, 0x1D, 0x1E, 0x8F, 0x90, 0x91, 0x92];

/// Whether spec section 5 assigns the type code.
pub fn is_assigned(code: u8) -> bool {
    ASSIGNED.iter().any(|(c, _)| *c == code)
}

/// `[FRAMING-4]`: printable ASCII is never a frame type.
pub fn is_ascii_type(code: u8) -> bool {
    (0x20..=0x7E).contains(&code)
}

/// Every type code a version-1 peer must treat as an unknown frame.
pub fn unknown_codes() -> Vec<u8> {
    (0..=255u8)
        .filter(|c| !is_assigned(*c) && !is_ascii_type(*c))
        .collect()
}

// ---------------------------------------------------------------- integers

macro_rules! boundary_int {
    ($name:ident, $t:ty) => {
        /// 0, 1, MAX - 1, MAX, single bits, or anything.
        pub fn $name() -> BoxedStrategy<$t> {
            prop_oneof![
                2 => Just(0 as $t),
                2 => Just(<$t>::MAX),
                1 => Just(1 as $t),
                1 => Just(<$t>::MAX - 1),
                1 => (0..<$t>::BITS).prop_map(|bit| (1 as $t) << bit),
                4 => any::<$t>(),
            ]
            .boxed()
        }
    };
}

boundary_int!(u8s, u8);
boundary_int!(u16s, u16);
boundary_int!(u32s, u32);
boundary_int!(u64s, u64);

/// A `flags` byte: none, all, each single bit, or anything.
pub fn flags() -> BoxedStrategy<u8> {
    prop_oneof![
        2 => Just(0u8),
        2 => Just(0xFFu8),
        2 => (0..8u32).prop_map(|bit| 1u8 << bit),
        3 => any::<u8>(),
    ]
    .boxed()
}

/// An error code: a registry code, or any `u16` (unassigned ones included).
pub fn error_code() -> BoxedStrategy<ErrorCode> {
    prop_oneof![
        3 => prop::sample::select(ErrorCode::ALL),
        1 => u16s().prop_map(ErrorCode),
    ]
    .boxed()
}

// ------------------------------------------------------------------ strings

/// Characters at the edges of the UTF-8 encoding widths, and some that the
/// name rules care about.
pub const EDGE_CHARS: &[char] = &[
    '\u{0}',
    '\u{7F}',
    '\u{80}',
    '\u{7FF}',
    '\u{800}',
    '\u{D7FF}',
    '\u{E000}',
    '\u{FFFD}',
    '\u{FFFF}',
    '\u{10000}',
    '\u{10FFFF}',
    'é',
    '€',
    '日',
    '😀',
    '\u{301}',
    '\u{202E}',
    '\u{200B}',
    ' ',
    '\t',
];

/// Any character, spread over the four UTF-8 encoding widths.
pub fn utf8_char() -> BoxedStrategy<char> {
    prop_oneof![
        4 => prop::char::range('!', '~'),
        1 => prop::char::range('\u{0}', '\u{7F}'),
        2 => prop::char::range('\u{80}', '\u{7FF}'),
        2 => prop::char::ranges(Cow::Owned(vec!['\u{800}'..='\u{D7FF}', '\u{E000}'..='\u{FFFF}'])),
        2 => prop::char::range('\u{10000}', '\u{10FFFF}'),
        1 => prop::sample::select(EDGE_CHARS),
    ]
    .boxed()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary (written here, independently of `Text::truncated`).
pub fn cut_to(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Text of at most `max` bytes. `full` weighs the strings that fill the
/// field to (or within 3 bytes of) its limit.
pub fn text(max: usize, full: u32) -> BoxedStrategy<String> {
    let medium_chars = max.min(80);
    prop_oneof![
        2 => Just(String::new()),
        8 => vec(utf8_char(), 1..12)
            .prop_map(move |chars| cut_to(chars.into_iter().collect(), max)),
        2 => vec(utf8_char(), 0..=medium_chars)
            .prop_map(move |chars| cut_to(chars.into_iter().collect(), max)),
        // A few leading characters, then one character repeated past the
        // limit (up to max + 4500 bytes, ~70 kB for str16), cut on a
        // character boundary: reaches exactly `max` for 1-byte characters
        // and for widths that divide what is left, else max - 1..=max - 3.
        full => (vec(utf8_char(), 0..4), utf8_char(), 0..4500usize).prop_map(move |(lead, fill, extra)| {
            let mut s: String = lead.into_iter().collect();
            let missing = (max + 1 + extra.min(max)).saturating_sub(s.len());
            s.push_str(&fill.to_string().repeat(missing / fill.len_utf8() + 1));
            cut_to(s, max)
        }),
        full => prop::sample::select((1..=4usize).filter(|w| *w <= max).collect::<Vec<_>>()).prop_map(move |width| {
            // Exactly `max` bytes ending in a character of the given width.
            let last = ['a', 'é', '€', '😀'][width - 1];
            let mut s = "a".repeat(max - width);
            s.push(last);
            s
        }),
    ]
    .boxed()
}

/// A `str8` over its whole range.
pub fn str8() -> BoxedStrategy<Str8> {
    text(STR8_MAX, 3)
        .prop_map(|s| Str8::new(&s).expect("strategy keeps str8 within 255 bytes"))
        .boxed()
}

/// A `str16` over its whole range; near-limit values are rare.
pub fn str16() -> BoxedStrategy<Str16> {
    text(STR16_MAX, 1)
        .prop_map(|s| Str16::new(&s).expect("strategy keeps str16 within 65,535 bytes"))
        .boxed()
}

/// A short `str8` (0 to 3 bytes), for lists with the maximum entry count.
pub fn tiny_str8() -> BoxedStrategy<Str8> {
    text(3, 1)
        .prop_map(|s| Str8::new(&s).expect("tiny"))
        .boxed()
}

// -------------------------------------------------------------------- lists

/// Empty, a few entries, or (rarely) the `u16` maximum of tiny entries.
pub fn list<T>(entry: BoxedStrategy<T>, tiny: BoxedStrategy<T>) -> BoxedStrategy<List<T>>
where
    T: Clone + std::fmt::Debug + 'static,
{
    prop_oneof![
        3 => Just(Vec::new()),
        8 => vec(entry, 1..8),
        1 => tiny.prop_map(|item| vec![item; LIST_MAX]),
    ]
    .prop_map(|items| List::new(items).expect("at most 65,535 entries"))
    .boxed()
}

// ------------------------------------------------------------------- frames

pub fn ping() -> BoxedStrategy<Frame> {
    u64s().prop_map(|nonce| Frame::Ping(Ping { nonce })).boxed()
}

pub fn pong() -> BoxedStrategy<Frame> {
    u64s().prop_map(|nonce| Frame::Pong(Pong { nonce })).boxed()
}

pub fn goodbye() -> BoxedStrategy<Frame> {
    (error_code(), str16())
        .prop_map(|(reason, message)| Frame::Goodbye(Goodbye { reason, message }))
        .boxed()
}

pub fn error_frame() -> BoxedStrategy<Frame> {
    (error_code(), flags(), u8s(), u32s(), str16())
        .prop_map(|(code, flags, frame_type, client_ref, message)| {
            Frame::ErrorFrame(ErrorFrame {
                code,
                flags,
                frame_type,
                client_ref,
                message,
            })
        })
        .boxed()
}

pub fn hello_with_version(version: BoxedStrategy<u16>) -> BoxedStrategy<Frame> {
    (version, flags(), str8())
        .prop_map(|(version, flags, client)| {
            Frame::Hello(Hello {
                version,
                flags,
                client,
            })
        })
        .boxed()
}

pub fn hello() -> BoxedStrategy<Frame> {
    hello_with_version(u16s())
}

pub fn login_mode() -> BoxedStrategy<LoginMode> {
    prop::sample::select(&[LoginMode::Guest, LoginMode::Login, LoginMode::Register][..]).boxed()
}

pub fn login_with_name(username: BoxedStrategy<Str8>) -> BoxedStrategy<Frame> {
    (login_mode(), username, str8())
        .prop_map(|(mode, username, password)| {
            Frame::Login(Login {
                mode,
                username,
                password,
            })
        })
        .boxed()
}

pub fn login() -> BoxedStrategy<Frame> {
    login_with_name(str8())
}

pub fn join() -> BoxedStrategy<Frame> {
    (str8(), u64s(), u16s())
        .prop_map(|(room, since_seq, history)| {
            Frame::Join(Join {
                room,
                since_seq,
                history,
            })
        })
        .boxed()
}

pub fn leave() -> BoxedStrategy<Frame> {
    str8().prop_map(|room| Frame::Leave(Leave { room })).boxed()
}

pub fn list_rooms() -> BoxedStrategy<Frame> {
    Just(Frame::ListRooms(ListRooms {})).boxed()
}

pub fn send() -> BoxedStrategy<Frame> {
    (u32s(), str8(), str16())
        .prop_map(|(client_ref, room, body)| {
            Frame::SendMessage(SendMessage {
                client_ref,
                room,
                body,
            })
        })
        .boxed()
}

pub fn direct() -> BoxedStrategy<Frame> {
    (u32s(), str8(), str16())
        .prop_map(|(client_ref, to, body)| {
            Frame::Direct(Direct {
                client_ref,
                to,
                body,
            })
        })
        .boxed()
}

pub fn send_action() -> BoxedStrategy<Frame> {
    (u32s(), str8(), str16())
        .prop_map(|(client_ref, room, body)| {
            Frame::SendAction(SendAction {
                client_ref,
                room,
                body,
            })
        })
        .boxed()
}

pub fn direct_action() -> BoxedStrategy<Frame> {
    (u32s(), str8(), str16())
        .prop_map(|(client_ref, to, body)| {
            Frame::DirectAction(DirectAction {
                client_ref,
                to,
                body,
            })
        })
        .boxed()
}

pub fn who() -> BoxedStrategy<Frame> {
    str8().prop_map(|room| Frame::Who(Who { room })).boxed()
}

pub fn history_kind() -> BoxedStrategy<HistoryKind> {
    prop::sample::select(&[HistoryKind::Room, HistoryKind::Direct][..]).boxed()
}

pub fn direction() -> BoxedStrategy<Direction> {
    prop::sample::select(&[Direction::Before, Direction::After][..]).boxed()
}

pub fn history() -> BoxedStrategy<Frame> {
    (history_kind(), str8(), direction(), u64s(), u16s())
        .prop_map(|(kind, target, direction, anchor, limit)| {
            Frame::History(History {
                kind,
                target,
                direction,
                anchor,
                limit,
            })
        })
        .boxed()
}

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

/// A type code no version-1 frame uses and that is not printable ASCII,
/// with the range edges (0x00, 0x7F, 0x1F, 0x93, 0x9F, 0xA0, 0xFF) favoured.
pub fn unknown_code() -> BoxedStrategy<u8> {
    prop_oneof![
        1 => prop::sample::select(&[0x00u8, 0x05, 0x0F, 0x19, 0x1F, 0x7F, 0x93, 0x9F, 0xA0, 0xFF][..]),
        2 => prop::sample::select(unknown_codes()),
    ]
    .boxed()
}

/// An unknown frame's body: opaque bytes, empty to ~70 kB.
pub fn unknown_body() -> BoxedStrategy<Bytes> {
    prop_oneof![
        2 => Just(Bytes::new()),
        6 => vec(any::<u8>(), 1..64).prop_map(Bytes::from),
        1 => (any::<u8>(), 60_000usize..70_000).prop_map(|(byte, len)| Bytes::from(vec![byte; len])),
    ]
    .boxed()
}

pub fn unknown() -> BoxedStrategy<Frame> {
    (unknown_code(), unknown_body())
        .prop_map(|(frame_type, body)| Frame::Unknown(Unknown { frame_type, body }))
        .boxed()
}

/// One strategy per `Frame` variant, with the variant's catalogue name.
pub fn variants() -> Vec<(&'static str, BoxedStrategy<Frame>)> {
    vec![
        ("PING", ping()),
        ("PONG", pong()),
        ("GOODBYE", goodbye()),
        ("ERROR", error_frame()),
        ("HELLO", hello()),
        ("LOGIN", login()),
        ("JOIN", join()),
        ("LEAVE", leave()),
        ("LIST_ROOMS", list_rooms()),
        ("SEND", send()),
        ("DIRECT", direct()),
        ("WHO", who()),
        ("HISTORY", history()),
        ("SEND_ACTION", send_action()),
        ("DIRECT_ACTION", direct_action()),
        ("GREETING", greeting()),
        ("WELCOME", welcome()),
        ("LOGIN_REJECTED", login_rejected()),
        ("MESSAGE", message()),
        ("ACK", ack()),
        ("DIRECT_MESSAGE", direct_message()),
        ("JOINED", joined()),
        ("LEFT", left()),
        ("ROOM_LIST", room_list()),
        ("WHO_LIST", who_list()),
        ("PRESENCE", presence()),
        ("HISTORY_END", history_end()),
        ("MISSED", missed()),
        ("NOTICE", notice()),
        ("LIMITS", server_limits()),
        ("MODERATE", moderate()),
        ("ROOM_SETTINGS", room_settings()),
        ("AUDIT", audit()),
        ("ROOM_INFO", room_info()),
        ("MODERATION_EVENT", moderation_event()),
        ("AUDIT_ENTRIES", audit_entries()),
        ("ROOM_LIST_INFO", room_list_info()),
        ("UNKNOWN", unknown()),
    ]
}

/// Any frame, every variant equally likely.
pub fn any_frame() -> BoxedStrategy<Frame> {
    Union::new(variants().into_iter().map(|(_, s)| s)).boxed()
}

/// Frames a client sends (`C→S` and `both` in spec section 5).
pub fn client_frame() -> BoxedStrategy<Frame> {
    Union::new(vec![
        ping(),
        pong(),
        goodbye(),
        error_frame(),
        hello(),
        login(),
        join(),
        leave(),
        list_rooms(),
        send(),
        direct(),
        who(),
        history(),
        send_action(),
        direct_action(),
    ])
    .boxed()
}

/// Frames only a client sends (`C→S`).
pub fn client_only_frame() -> BoxedStrategy<Frame> {
    Union::new(vec![
        hello(),
        login(),
        join(),
        leave(),
        list_rooms(),
        send(),
        direct(),
        who(),
        history(),
        send_action(),
        direct_action(),
    ])
    .boxed()
}

/// Frames only a server sends (`S→C`).
pub fn server_only_frame() -> BoxedStrategy<Frame> {
    Union::new(vec![
        greeting(),
        welcome(),
        login_rejected(),
        message(),
        ack(),
        direct_message(),
        joined(),
        left(),
        room_list(),
        who_list(),
        presence(),
        history_end(),
        missed(),
        notice(),
        server_limits(),
    ])
    .boxed()
}

/// Requests legal only in the READY state (spec section 6).
pub fn ready_request() -> BoxedStrategy<Frame> {
    Union::new(vec![
        join(),
        leave(),
        list_rooms(),
        send(),
        direct(),
        who(),
        history(),
        send_action(),
        direct_action(),
    ])
    .boxed()
}
