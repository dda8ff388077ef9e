//! The client's view of the connection: AWAIT_GREETING → AWAIT_WELCOME →
//! READY (spec sections 6 and 7).

use super::{error_frame, PeerClosed};
use crate::error::{DecodeError, ErrorCode};
use crate::frame::{
    Ack, AuditEntries, DirectMessage, ErrorFrame, Frame, Goodbye, Greeting, Hello, HistoryEnd,
    Joined, Left, Login, LoginRejected, Message, Missed, ModerationEvent, Notice, Pong, Presence,
    RoomInfo, RoomList, RoomListInfo, ServerLimits, Welcome, WhoList,
};
use crate::wire::Str8;
use crate::{GREETING_MAX_FRAME, PROTOCOL_VERSION};

/// Client states of spec section 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    AwaitGreeting,
    AwaitWelcome,
    Ready,
    Closed,
}

/// What the client must do with a received frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAction {
    /// Nothing to do.
    Nothing,
    /// The server asks for a username: send `hello()` and `login()` if not yet sent.
    Greeted(Greeting),
    /// Limits beyond the GREETING's (`[LIMITS-1]`): the LIMITS that follows
    /// it. A server that sends none (1.0) advertises none of them.
    Limits(ServerLimits),
    /// Logged in.
    Welcomed(Welcome),
    /// The name was refused; another `login()` may follow while attempts are left.
    Rejected(LoginRejected),
    /// Send this frame (a PONG).
    Reply(Frame),
    /// A frame for the application: anything legal in READY, or a NOTICE or
    /// non-fatal ERROR while the login is judged.
    Event(Incoming),
    /// Send this frame, then close. The session is now closed.
    CloseWith(Frame),
    /// The server ended the session with GOODBYE or a fatal ERROR.
    PeerClosed(PeerClosed),
    /// A frame not legal now, or unknown: ignored, worth a log line (`[STATE-2]`, `[VERSION-3]`).
    Ignored(Frame),
}

/// What the server tells the application, the client's mirror of the
/// server's `Request`: every frame `ClientAction::Event` may carry, typed,
/// so that the application matches once and never meets a handshake frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Message(Message),
    Ack(Ack),
    Direct(DirectMessage),
    Joined(Joined),
    Left(Left),
    RoomList(RoomList),
    WhoList(WhoList),
    Presence(Presence),
    HistoryEnd(HistoryEnd),
    Missed(Missed),
    Notice(Notice),
    /// A non-fatal ERROR: a request was refused, the session goes on (`[ERROR-2]`).
    Error(ErrorFrame),
    /// A room's settings (`[MOD-6]`); from a `MODERATION` server only.
    RoomInfo(RoomInfo),
    /// A moderation action announced (`[MOD-12]`).
    Moderation(ModerationEvent),
    /// A frame of an AUDIT answer (`[MOD-16]`).
    AuditEntries(AuditEntries),
    /// A page of LIST_ROOMS with topics (`[MOD-17]`).
    RoomListInfo(RoomListInfo),
}

impl Incoming {
    /// A READY frame as the application gets it: an event, or ignored when
    /// it is none (handshake, client-to-server and unknown frames; PING,
    /// PONG, GOODBYE and fatal errors are judged before).
    fn judge(frame: Frame) -> ClientAction {
        ClientAction::Event(match frame {
            Frame::Message(m) => Incoming::Message(m),
            Frame::Ack(a) => Incoming::Ack(a),
            Frame::DirectMessage(d) => Incoming::Direct(d),
            Frame::Joined(j) => Incoming::Joined(j),
            Frame::Left(l) => Incoming::Left(l),
            Frame::RoomList(r) => Incoming::RoomList(r),
            Frame::WhoList(w) => Incoming::WhoList(w),
            Frame::Presence(p) => Incoming::Presence(p),
            Frame::HistoryEnd(h) => Incoming::HistoryEnd(h),
            Frame::Missed(m) => Incoming::Missed(m),
            Frame::Notice(n) => Incoming::Notice(n),
            Frame::ErrorFrame(e) if !e.is_fatal() => Incoming::Error(e),
            Frame::RoomInfo(r) => Incoming::RoomInfo(r),
            Frame::ModerationEvent(m) => Incoming::Moderation(m),
            Frame::AuditEntries(a) => Incoming::AuditEntries(a),
            Frame::RoomListInfo(r) => Incoming::RoomListInfo(r),
            other => return ClientAction::Ignored(other),
        })
    }
}

impl From<Incoming> for Frame {
    fn from(incoming: Incoming) -> Frame {
        match incoming {
            Incoming::Message(m) => Frame::Message(m),
            Incoming::Ack(a) => Frame::Ack(a),
            Incoming::Direct(d) => Frame::DirectMessage(d),
            Incoming::Joined(j) => Frame::Joined(j),
            Incoming::Left(l) => Frame::Left(l),
            Incoming::RoomList(r) => Frame::RoomList(r),
            Incoming::WhoList(w) => Frame::WhoList(w),
            Incoming::Presence(p) => Frame::Presence(p),
            Incoming::HistoryEnd(h) => Frame::HistoryEnd(h),
            Incoming::Missed(m) => Frame::Missed(m),
            Incoming::Notice(n) => Frame::Notice(n),
            Incoming::Error(e) => Frame::ErrorFrame(e),
            Incoming::RoomInfo(r) => Frame::RoomInfo(r),
            Incoming::Moderation(m) => Frame::ModerationEvent(m),
            Incoming::AuditEntries(a) => Frame::AuditEntries(a),
            Incoming::RoomListInfo(r) => Frame::RoomListInfo(r),
        }
    }
}

/// One connection's protocol state, client side.
#[derive(Debug, Clone)]
pub struct ClientSession {
    state: ClientState,
    version: u16,
    max_frame: u32,
    /// A LIMITS was taken: any later one is ignored (`[LIMITS-3]`).
    limits_seen: bool,
    /// The server waits for a LOGIN and none is on its way: a name may be
    /// sent now (after the GREETING, and after a refusal with attempts left).
    login_owed: bool,
    /// A LOGIN was sent on this connection.
    login_sent: bool,
}

impl Default for ClientSession {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientSession {
    pub fn new() -> Self {
        ClientSession {
            state: ClientState::AwaitGreeting,
            version: PROTOCOL_VERSION,
            max_frame: GREETING_MAX_FRAME,
            limits_seen: false,
            login_owed: false,
            login_sent: false,
        }
    }

    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The largest body to accept now: 4,096 before the GREETING, the
    /// advertised `max_frame` after it (`[HANDSHAKE-1]`).
    pub fn max_frame(&self) -> u32 {
        self.max_frame
    }

    /// The HELLO frame (may be sent before the GREETING arrives, `[STATE-5]`).
    pub fn hello(&self, flags: u8, client: Str8) -> Frame {
        Frame::Hello(Hello {
            version: self.version,
            flags,
            client,
        })
    }

    /// A LOGIN frame.
    pub fn login(&mut self, login: Login) -> Frame {
        self.login_owed = false;
        self.login_sent = true;
        Frame::Login(login)
    }

    /// Whether the server waits for a name that has not been sent: after
    /// the GREETING until a `login()`, and again after a refusal that
    /// leaves attempts (`[HANDSHAKE-3]`, `[HANDSHAKE-5]`).
    pub fn login_owed(&self) -> bool {
        self.login_owed && self.state == ClientState::AwaitWelcome
    }

    /// Whether a LOGIN was sent on this connection: a TOO_MANY_ATTEMPTS
    /// then answers names this client tried.
    pub fn login_sent(&self) -> bool {
        self.login_sent
    }

    /// GOODBYE for a normal quit (`[CLOSE-1]`).
    pub fn goodbye(&mut self, message: &str) -> Frame {
        self.state = ClientState::Closed;
        Frame::Goodbye(Goodbye::new(ErrorCode::NORMAL, message))
    }

    /// The server's bytes could not be decoded: the fatal ERROR to send before closing.
    pub fn decode_failed(&mut self, error: &DecodeError) -> Frame {
        self.state = ClientState::Closed;
        error_frame(error.code(), error.frame_type(), &error.to_string())
    }

    /// Judges one received frame.
    pub fn handle(&mut self, frame: Frame) -> ClientAction {
        match (self.state, frame) {
            // spec: STATE-4
            (ClientState::Closed, _) => ClientAction::Nothing,
            (_, Frame::Goodbye(goodbye)) => {
                self.state = ClientState::Closed;
                ClientAction::PeerClosed(PeerClosed {
                    reason: goodbye.reason,
                    message: goodbye.message,
                })
            }
            (_, Frame::ErrorFrame(error)) if error.is_fatal() => {
                self.state = ClientState::Closed;
                ClientAction::PeerClosed(PeerClosed {
                    reason: error.code,
                    message: error.message,
                })
            }
            (ClientState::AwaitGreeting, Frame::Greeting(greeting)) => {
                if !greeting.supports(self.version) {
                    // spec: VERSION-4
                    self.state = ClientState::Closed;
                    let message = format!(
                        "this client speaks protocol version {}; the server offers {}..={}",
                        self.version, greeting.min_version, greeting.max_version
                    );
                    return ClientAction::CloseWith(Frame::Goodbye(Goodbye::new(
                        ErrorCode::UNSUPPORTED_VERSION,
                        &message,
                    )));
                }
                // Never trust a server to size our buffers past the spec's bound.
                self.max_frame = greeting
                    .limits
                    .max_frame
                    .clamp(GREETING_MAX_FRAME, crate::frame::MAX_FRAME_BOUNDS.1);
                self.state = ClientState::AwaitWelcome;
                self.login_owed = true;
                ClientAction::Greeted(greeting)
            }
            (ClientState::AwaitGreeting, other) => ClientAction::Ignored(other),
            (_, Frame::Ping(ping)) => ClientAction::Reply(Frame::Pong(Pong { nonce: ping.nonce })),
            (_, Frame::Pong(_)) => ClientAction::Nothing,
            (ClientState::AwaitWelcome, Frame::Welcome(welcome)) => {
                self.state = ClientState::Ready;
                ClientAction::Welcomed(welcome)
            }
            (ClientState::AwaitWelcome, Frame::LoginRejected(rejected)) => {
                // With no attempt left the server closes (TOO_MANY_ATTEMPTS).
                self.login_owed = rejected.attempts_left > 0;
                ClientAction::Rejected(rejected)
            }
            // spec: LIMITS-3 — legal once, in AWAIT_WELCOME; elsewhere ignored.
            (ClientState::AwaitWelcome, Frame::ServerLimits(limits)) if !self.limits_seen => {
                self.limits_seen = true;
                ClientAction::Limits(limits)
            }
            (ClientState::AwaitWelcome, Frame::Notice(notice)) => {
                ClientAction::Event(Incoming::Notice(notice))
            }
            (ClientState::AwaitWelcome, Frame::ErrorFrame(error)) => {
                ClientAction::Event(Incoming::Error(error))
            }
            // Handshake frames, client-to-server and unknown ones are not events.
            (ClientState::Ready, frame) => Incoming::judge(frame),
            (_, other) => ClientAction::Ignored(other),
        }
    }
}
