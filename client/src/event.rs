//! What the connection reports to the user interface.

use std::time::Duration;

use confab_protocol::frame::PresenceEvent;
use confab_protocol::ErrorCode;

use crate::moderation::{Asked, ListedRoom, Record, RoomSettings, SettingsCause};

/// Where an outgoing message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Room(String),
    User(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Room(room) => write!(f, "{room}"),
            Target::User(user) => write!(f, "{user}"),
        }
    }
}

/// One thing that happened, already translated from frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Trying to reach the server.
    Connecting {
        addr: String,
        attempt: u32,
    },
    /// The server greeted us.
    Connected {
        addr: String,
        server: String,
    },
    /// The server asks for a username (`[HANDSHAKE-3]`): answer with `Command::Login`.
    NameRequired {
        prompt: String,
        /// Why the previous name was refused, if one was.
        rejected: Option<String>,
    },
    /// A new account was made (the LoggedIn that follows logs in to it).
    Registered {
        name: String,
    },
    LoggedIn {
        name: String,
    },
    Joined {
        room: String,
        members: u32,
    },
    Left {
        room: String,
    },
    /// A room message. `own` marks our message, shown once acknowledged.
    Message {
        room: String,
        sender: String,
        body: String,
        time: u64,
        seq: u64,
        own: bool,
        history: bool,
        /// An action (`/me waves`, `[ACTION-1]`): shown as `* sender body`.
        action: bool,
    },
    Direct {
        from: String,
        to: String,
        body: String,
        time: u64,
        own: bool,
        history: bool,
        action: bool,
    },
    Presence {
        room: String,
        user: String,
        event: PresenceEvent,
        time: u64,
    },
    /// The room list: with modes and topics from a `MODERATION` server.
    Rooms(Vec<ListedRoom>),
    Who {
        room: String,
        users: Vec<String>,
    },
    /// The end of a history answer: how many messages it held.
    HistoryEnd {
        target: String,
        count: u16,
        more: bool,
        /// The replay of a room resumed after a reconnection: its messages
        /// were missed while away, not earlier ones.
        resumed: bool,
    },
    /// Messages the server says we missed (`[ROOM-3]`); the client fetches them itself.
    Missed {
        room: String,
        from: u64,
        to: u64,
    },
    Notice {
        text: String,
    },
    /// A room's settings (ROOM_INFO, `[MOD-6]`), and why they came.
    RoomSettings {
        settings: RoomSettings,
        cause: SettingsCause,
    },
    /// A moderation action announced (`[MOD-12]`).
    Moderation(Record),
    /// A whole answer to `/audit` (`[MOD-16]`), oldest first; `older`:
    /// earlier entries exist, for another `/audit`.
    Audit {
        room: String,
        entries: Vec<Record>,
        older: bool,
    },
    /// A moderation request, or a JOIN, refused (`[MOD-20]`); the
    /// connection goes on.
    Refused {
        asked: Asked,
        code: ErrorCode,
        message: String,
    },
    /// A request was refused; the connection goes on.
    Error {
        text: String,
    },
    /// The send queue changed (emitted only when these figures change).
    Outgoing {
        /// Messages taken but not yet acknowledged by the server.
        queued: usize,
        /// The number (see `NotSent::n`) of the oldest of them, or of the
        /// next message when none is queued: every message numbered below
        /// it is settled (acknowledged or reported with `NotSent`).
        oldest: u64,
    },
    /// A message that will not be delivered: the server refused it, or it
    /// could not be sent before the client gave up.
    NotSent {
        /// Numbers the room and direct messages the connection took, in
        /// order, from 1: plain mode maps it back to the input line.
        n: u64,
        target: Target,
        body: String,
        reason: String,
    },
    /// The connection ended; `retry_in` is set when the client reconnects.
    Disconnected {
        reason: String,
        retry_in: Option<Duration>,
    },
    /// The session is over for good.
    Closed {
        reason: String,
        clean: bool,
    },
}
