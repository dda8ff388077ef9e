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

mod fields;
mod moderation;
mod replies;
mod requests;

pub use fields::*;
pub use moderation::*;
pub use replies::*;
pub use requests::*;

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

// ------------------------------------------------------------ unknown frames

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
