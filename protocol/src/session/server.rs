//! The server's view of one connection: AWAIT_HELLO → AWAIT_LOGIN → READY
//! (spec sections 6 and 7), with its timers (sections 7 and 12): the driver
//! asks `poll_timeout` when to call `handle_timeout(now)`, and passes the
//! instant each frame was received at to `decode`.

use std::time::Instant;

use bytes::BytesMut;

use super::request::{client_ref_of, ready_action, unexpected, Request};
use super::timers::{Clock, Expired, ServerTimers};
use super::{error_frame, PeerClosed, NOT_CONFAB_MESSAGE};
use crate::error::{DecodeError, ErrorCode};
use crate::frame::{
    self, code, route_of, ErrorFrame, Frame, Login, LoginRejected, Ping, Pong, Route, Welcome,
};
use crate::wire::{Str16, Str8};

mod endings;

/// States of spec section 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    AwaitHello,
    AwaitLogin,
    Ready,
    Closed,
}

/// What the server must do with a received frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAction {
    /// Nothing to send.
    Nothing,
    /// Send this frame; the connection stays open.
    Reply(Frame),
    /// Send this fatal frame, then close. The session is now closed.
    CloseWith(Frame),
    /// The peer ended the session: close without a reply (`[STATE-4]`).
    PeerClosed(PeerClosed),
    /// A non-fatal ERROR from the client, to be logged (`[ERROR-2]`).
    PeerError(ErrorFrame),
    /// A login attempt to judge: answer with `accept_login` or `reject_login`.
    Login(Login),
    /// A READY request for the application.
    Request(Request),
}

/// One connection's protocol state, server side.
#[derive(Debug, Clone)]
pub struct ServerSession {
    state: ServerState,
    min_version: u16,
    max_version: u16,
    attempts_left: u8,
    /// `AUTO_JOIN`, `CLIENT_MODERATION`, `MODERATION` and `PINGED` below,
    /// in one byte: every connection holds a session, and the four flags as
    /// `bool`s took it past 40 bytes.
    flags: u8,
    clock: Clock,
}

/// The client wants the default room after WELCOME (`[HANDSHAKE-7]`).
const AUTO_JOIN: u8 = 1;
/// The client set HELLO `MODERATION` (`[MOD-2]`).
const CLIENT_MODERATION: u8 = 2;
/// The GREETING set `MODERATION`: the frames of spec section 21 are known
/// (`[MOD-1]`); without it they are unknown frames.
const MODERATION: u8 = 4;
/// A PING is out, unanswered by any frame (`[KEEPALIVE-2]`).
const PINGED: u8 = 8;

impl ServerSession {
    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    /// A session for a connection accepted at `accepted_at`, after GREETING was sent.
    pub fn new(
        min_version: u16,
        max_version: u16,
        login_attempts: u8,
        timers: ServerTimers,
        accepted_at: Instant,
    ) -> Self {
        ServerSession {
            state: ServerState::AwaitHello,
            min_version,
            max_version,
            attempts_left: login_attempts.max(1),
            flags: AUTO_JOIN,
            clock: Clock::new(timers, accepted_at),
        }
    }

    /// The session of a server whose GREETING sets `MODERATION` (`[MOD-1]`).
    pub fn with_moderation(mut self, moderation: bool) -> Self {
        self.set(MODERATION, moderation);
        self
    }

    /// Whether a type code is known on this connection: the frames of spec
    /// section 21 are unknown unless the server set `MODERATION` (`[MOD-1]`).
    fn knows(&self, frame_type: u8) -> bool {
        route_of(frame_type).is_some()
            && (self.has(MODERATION) || !frame::is_moderation(frame_type))
    }

    pub fn state(&self) -> ServerState {
        self.state
    }

    pub fn is_closed(&self) -> bool {
        self.state == ServerState::Closed
    }

    /// Whether the client wants the default room after WELCOME (`[HANDSHAKE-7]`).
    pub fn auto_join(&self) -> bool {
        self.has(AUTO_JOIN)
    }

    /// Whether the client set HELLO `MODERATION`: it reads the
    /// server-to-client frames of section 21 (`[MOD-2]`).
    pub fn client_moderation(&self) -> bool {
        self.has(CLIENT_MODERATION)
    }

    /// Whether the body of a frame of this type is examined in the current
    /// state (`[STATE-6]`): before HELLO only HELLO, GOODBYE and ERROR are;
    /// afterwards every type a client may send. A server-to-client type
    /// is judged by its type alone, whatever its body holds.
    pub fn parses(&self, frame_type: u8) -> bool {
        match self.state {
            ServerState::AwaitHello => {
                matches!(frame_type, code::HELLO | code::GOODBYE | code::ERROR)
            }
            _ => {
                self.knows(frame_type)
                    && matches!(
                        route_of(frame_type),
                        Some(Route::Both | Route::ClientToServer)
                    )
            }
        }
    }

    /// The next whole frame of `src`, received at `now`, decoded as this
    /// state requires: a TLS record opening the connection is refused before
    /// its length is read (`[TRANSPORT-4]`), and bodies are examined only as
    /// `parses` says. A whole frame, whatever it holds, is a sign of life;
    /// bytes dribbled into one are not (`[KEEPALIVE-2]`, `[SEC-7]`).
    pub fn decode(
        &mut self,
        src: &mut BytesMut,
        max_frame: u32,
        now: Instant,
    ) -> Result<Option<Frame>, DecodeError> {
        if self.state == ServerState::AwaitHello && src.starts_with(&[code::DIRECT, 0x03]) {
            // spec: TRANSPORT-4 — as a Confab header this declares > 50 MB.
            return Err(DecodeError::TlsRecord);
        }
        let decoded = frame::decode_with(src, max_frame, |t| self.parses(t));
        if let Ok(Some(_)) = decoded {
            // spec: KEEPALIVE-2 — any received frame counts.
            self.clock.received(now);
            self.set(PINGED, false);
        }
        decoded
    }

    /// When `handle_timeout` is next due; `None` once closed. Before WELCOME
    /// the handshake deadline counts (`[HANDSHAKE-8]`); from AWAIT_LOGIN on,
    /// keepalive (`[KEEPALIVE-2]`).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let (handshaking, keepalive) = self.timers_running();
        self.clock.next(handshaking, keepalive, self.has(PINGED))
    }

    /// A timer fired at `now`: `Nothing`, `Reply` with a PING to send, or
    /// `CloseWith` a fatal HANDSHAKE_TIMEOUT or IDLE_TIMEOUT. After it,
    /// `poll_timeout` is later than `now`, or `None`.
    pub fn handle_timeout(&mut self, now: Instant) -> ServerAction {
        let (handshaking, keepalive) = self.timers_running();
        match self
            .clock
            .expire(now, handshaking, keepalive, self.has(PINGED))
        {
            Expired::Nothing => ServerAction::Nothing,
            // spec: HANDSHAKE-8, AUTH-2 — absolute, whatever is pending.
            Expired::Handshake => self.fatal_action(
                ErrorCode::HANDSHAKE_TIMEOUT,
                0,
                "no successful login within the handshake timeout",
            ),
            // spec: KEEPALIVE-2
            Expired::Ping(nonce) => {
                self.set(PINGED, true);
                ServerAction::Reply(Frame::Ping(Ping { nonce }))
            }
            Expired::Idle => self.fatal_action(ErrorCode::IDLE_TIMEOUT, 0, "no answer to PING"),
        }
    }

    /// The handshake deadline, while the handshake lasts: a login being
    /// judged ends there too (`[AUTH-2]`).
    pub fn handshake_deadline(&self) -> Option<Instant> {
        self.timers_running()
            .0
            .then(|| self.clock.handshake_deadline())
    }

    /// Which timers run in this state: the handshake deadline until READY,
    /// keepalive in AWAIT_LOGIN and READY (`[KEEPALIVE-2]`).
    fn timers_running(&self) -> (bool, bool) {
        match self.state {
            ServerState::AwaitHello => (true, false),
            ServerState::AwaitLogin => (true, true),
            ServerState::Ready => (false, true),
            ServerState::Closed => (false, false),
        }
    }

    /// Judges one received frame.
    pub fn handle(&mut self, frame: Frame) -> ServerAction {
        match self.state {
            // spec: STATE-4
            ServerState::Closed => ServerAction::Nothing,
            ServerState::AwaitHello => self.handle_first(frame),
            ServerState::AwaitLogin | ServerState::Ready => self.handle_open(frame),
        }
    }

    fn handle_first(&mut self, frame: Frame) -> ServerAction {
        match frame {
            Frame::Hello(hello) => {
                if !(self.min_version..=self.max_version).contains(&hello.version) {
                    // spec: HANDSHAKE-2
                    let message = format!(
                        "protocol version {} is not supported; this server speaks {}..={}",
                        hello.version, self.min_version, self.max_version
                    );
                    return self.fatal_action(
                        ErrorCode::UNSUPPORTED_VERSION,
                        code::HELLO,
                        &message,
                    );
                }
                self.set(
                    AUTO_JOIN,
                    hello.flags & crate::frame::Hello::NO_AUTO_JOIN == 0,
                );
                self.set(
                    CLIENT_MODERATION,
                    hello.flags & crate::frame::Hello::MODERATION != 0,
                );
                self.state = ServerState::AwaitLogin;
                ServerAction::Nothing
            }
            Frame::Goodbye(_) | Frame::ErrorFrame(_) => self.handle_open(frame),
            // spec: STATE-1
            other => {
                self.state = ServerState::Closed;
                ServerAction::CloseWith(Frame::ErrorFrame(ErrorFrame::new(
                    ErrorCode::NOT_CONFAB,
                    other.frame_type(),
                    client_ref_of(&other),
                    NOT_CONFAB_MESSAGE,
                )))
            }
        }
    }

    fn handle_open(&mut self, frame: Frame) -> ServerAction {
        let ready = self.state == ServerState::Ready;
        match frame {
            // spec: KEEPALIVE-1
            Frame::Ping(ping) => ServerAction::Reply(Frame::Pong(Pong { nonce: ping.nonce })),
            Frame::Pong(_) => ServerAction::Nothing,
            Frame::Goodbye(goodbye) => {
                self.state = ServerState::Closed;
                ServerAction::PeerClosed(PeerClosed {
                    reason: goodbye.reason,
                    message: goodbye.message,
                })
            }
            // spec: ERROR-2
            Frame::ErrorFrame(error) if error.is_fatal() => {
                self.state = ServerState::Closed;
                ServerAction::PeerClosed(PeerClosed {
                    reason: error.code,
                    message: error.message,
                })
            }
            Frame::ErrorFrame(error) => ServerAction::PeerError(error),
            // spec: STATE-6 — a known type left unparsed travels the other way.
            Frame::Unknown(unknown) if self.knows(unknown.frame_type) => {
                ServerAction::Reply(error_frame(
                    ErrorCode::UNEXPECTED_FRAME,
                    unknown.frame_type,
                    &format!(
                        "{} is a server-to-client frame; frame ignored",
                        frame::name_of(unknown.frame_type)
                    ),
                ))
            }
            // spec: VERSION-3
            Frame::Unknown(unknown) => ServerAction::Reply(error_frame(
                ErrorCode::UNKNOWN_FRAME_TYPE,
                unknown.frame_type,
                "unknown frame type; frame skipped",
            )),
            // spec: MOD-1 — without MODERATION its frames are unknown, even
            // when handed over already parsed.
            known if !self.knows(known.frame_type()) => ServerAction::Reply(error_frame(
                ErrorCode::UNKNOWN_FRAME_TYPE,
                known.frame_type(),
                "unknown frame type; frame skipped",
            )),
            Frame::Login(login) if !ready => ServerAction::Login(login),
            other if ready => ready_action(other),
            other => unexpected(&other),
        }
    }

    /// The login was accepted: WELCOME, and the session is READY
    /// (`[HANDSHAKE-3]`). `None` unless a login was awaited: a session closed
    /// meanwhile (say by the handshake timer) stays closed (`[STATE-4]`).
    pub fn accept_login(&mut self, username: Str8, flags: u8, server_time: u64) -> Option<Frame> {
        if self.state != ServerState::AwaitLogin {
            return None;
        }
        self.state = ServerState::Ready;
        Some(Frame::Welcome(Welcome {
            username,
            flags,
            server_time,
        }))
    }

    /// The login was refused: LOGIN_REJECTED, followed by a fatal
    /// TOO_MANY_ATTEMPTS when none is left (`[HANDSHAKE-4]`).
    /// `None` unless a login was awaited (`[STATE-4]`).
    pub fn reject_login(
        &mut self,
        code: ErrorCode,
        message: &str,
    ) -> Option<(Frame, Option<Frame>)> {
        if self.state != ServerState::AwaitLogin {
            return None;
        }
        self.attempts_left = self.attempts_left.saturating_sub(1);
        let rejected = Frame::LoginRejected(LoginRejected {
            code,
            attempts_left: self.attempts_left,
            message: Str16::truncated(message),
        });
        let fatal = (self.attempts_left == 0).then(|| {
            self.fatal(
                ErrorCode::TOO_MANY_ATTEMPTS,
                code::LOGIN,
                "too many rejected login attempts",
            )
        });
        Some((rejected, fatal))
    }
}
