//! The client's view of the connection: AWAIT_GREETING → AWAIT_WELCOME →
//! READY (spec sections 6 and 7).

use super::{error_frame, PeerClosed};
use crate::error::{DecodeError, ErrorCode};
use crate::frame::{
    Frame, Goodbye, Greeting, Hello, Login, LoginRejected, Pong, ServerLimits, Welcome,
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
    /// A READY-state frame for the application (messages, acks, presence, lists,
    /// non-fatal errors...).
    Event(Frame),
    /// Send this frame, then close. The session is now closed.
    CloseWith(Frame),
    /// The server ended the session with GOODBYE or a fatal ERROR.
    PeerClosed(PeerClosed),
    /// A frame not legal now, or unknown: ignored, worth a log line (`[STATE-2]`, `[VERSION-3]`).
    Ignored(Frame),
}

/// One connection's protocol state, client side.
#[derive(Debug, Clone)]
pub struct ClientSession {
    state: ClientState,
    version: u16,
    max_frame: u32,
    /// A LIMITS was taken: any later one is ignored (`[LIMITS-3]`).
    limits_seen: bool,
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
    pub fn login(&self, login: Login) -> Frame {
        Frame::Login(login)
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
                ClientAction::Rejected(rejected)
            }
            // spec: LIMITS-3 — legal once, in AWAIT_WELCOME; elsewhere ignored.
            (ClientState::AwaitWelcome, Frame::ServerLimits(limits)) if !self.limits_seen => {
                self.limits_seen = true;
                ClientAction::Limits(limits)
            }
            (ClientState::AwaitWelcome, frame @ (Frame::Notice(_) | Frame::ErrorFrame(_))) => {
                ClientAction::Event(frame)
            }
            (ClientState::Ready, frame) => match frame {
                Frame::Greeting(_)
                | Frame::ServerLimits(_)
                | Frame::Welcome(_)
                | Frame::LoginRejected(_)
                | Frame::Unknown(_) => ClientAction::Ignored(frame),
                frame if frame.direction() == Some(crate::frame::Dir::ClientToServer) => {
                    ClientAction::Ignored(frame)
                }
                frame => ClientAction::Event(frame),
            },
            (_, other) => ClientAction::Ignored(other),
        }
    }
}
