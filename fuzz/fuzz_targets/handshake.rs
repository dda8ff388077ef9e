//! A client's arbitrary bytes, decoded in chunks and driven through the
//! server's sans-IO `ServerSession`, with a tiny name registry standing in for
//! the server (spec sections 6, 7 and 15).
//!
//! Input layout:
//!
//! ```text
//! +--------------+------------+--------------------------------------+
//! | chunking: u8 | config: u8 | stream: the client's bytes            |
//! +--------------+------------+--------------------------------------+
//! ```
//!
//! `config` bits 0-1: `login_attempts` - 1; bit 2: the server also speaks
//! version 2; bit 3: `max_frame` 4,096 instead of 65,536.
//!
//! Invariants checked:
//! - nothing panics;
//! - the session reaches READY only through an accepted LOGIN, and hands out
//!   requests only when READY (`[STATE-3]`);
//! - LOGIN is offered for judgement only in AWAIT_LOGIN, and rejections count
//!   down to a fatal TOO_MANY_ATTEMPTS (`[HANDSHAKE-4]`);
//! - after `CloseWith`, `PeerClosed`, a fatal rejection or a decode error the
//!   session is closed and every further frame gives `Nothing` (`[STATE-4]`);
//! - every ERROR the server produces has its FATAL flag equal to the
//!   registry's fatality and no other flag bit (`[ERROR-1]`, `[TYPES-3]`), a
//!   fatal one only ever closes, a non-fatal one never does;
//! - an ERROR caused by a frame names its type and, for SEND and DIRECT, its
//!   `client_ref` (spec section 5.1);
//! - every frame the server produces travels server-to-client, fits
//!   `max_frame` and survives an encode/decode round trip.

#![no_main]

use std::time::Instant;

use bytes::BytesMut;
use confab_fuzz::chunks;
use confab_protocol::frame::{self, code, Route};
use confab_protocol::frame::{ErrorFrame, Goodbye, Hello, Join, Login, Ping, SendMessage, Unknown};
use confab_protocol::session::{ServerAction, ServerSession, ServerState, ServerTimers};
use confab_protocol::{CodecError, DecodeError, ErrorCode, Frame, FrameCodec, Str16, Str8};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};

use confab_fuzz::registry::Registry;

struct Harness {
    session: ServerSession,
    codec: FrameCodec,
    registry: Registry,
    max_version: u16,
    /// `accept_login` calls made.
    accepts: u32,
    /// What the server was told about attempts; mirrors the session's count.
    attempts_left: u8,
    /// Set when the harness saw the session end; the session must agree.
    closed: bool,
}

impl Harness {
    /// Checks one frame the server is about to send.
    fn check_out(&mut self, frame: &Frame) {
        assert!(
            matches!(frame.direction(), Some(Route::Both | Route::ServerToClient)),
            "the server sends {frame:?}"
        );
        if let Frame::ErrorFrame(error) = frame {
            // spec: ERROR-1, TYPES-3
            let expected = if error.code.is_fatal() {
                ErrorFrame::FATAL
            } else {
                0
            };
            assert_eq!(error.flags, expected, "{error:?}");
            assert!(error.code.name().is_some(), "unassigned code in {error:?}");
        }
        let mut wire = BytesMut::new();
        self.codec
            .encode(frame, &mut wire)
            .expect("server frames fit max_frame");
        assert_eq!(wire.len(), frame.encoded_len());
        let back = self.codec.decode(&mut wire).expect("server frames decode");
        assert_eq!(back.as_ref(), Some(frame));
        assert!(wire.is_empty());
    }

    fn feed(&mut self, frame: Frame) {
        let before = self.session.state();
        let action = self.session.handle(frame.clone());
        if self.closed {
            // spec: STATE-4
            assert_eq!(action, ServerAction::Nothing, "after close, {frame:?}");
            assert!(self.session.is_closed());
            return;
        }
        match action {
            ServerAction::Nothing => match (&frame, before) {
                (Frame::Hello(hello), ServerState::AwaitHello) => {
                    assert!((1..=self.max_version).contains(&hello.version));
                    assert_eq!(self.session.state(), ServerState::AwaitLogin);
                    assert_eq!(
                        self.session.auto_join(),
                        hello.flags & Hello::NO_AUTO_JOIN == 0
                    );
                }
                (Frame::Pong(_), ServerState::AwaitLogin | ServerState::Ready) => {}
                _ => panic!("{frame:?} in {before:?} was silently dropped"),
            },
            ServerAction::Reply(reply) => {
                self.check_out(&reply);
                assert_ne!(before, ServerState::AwaitHello, "{frame:?} -> {reply:?}");
                match (&frame, &reply) {
                    // spec: KEEPALIVE-1
                    (Frame::Ping(ping), Frame::Pong(pong)) => assert_eq!(ping.nonce, pong.nonce),
                    (_, Frame::ErrorFrame(error)) => {
                        assert!(!error.is_fatal(), "a fatal ERROR must close: {error:?}");
                        assert_eq!(error.frame_type, frame.frame_type());
                        assert_eq!(error.client_ref, client_ref_of(&frame));
                        // spec: MOD-1 — this session never set MODERATION,
                        // so the frames of section 21 are unknown to it.
                        let expected = match frame {
                            Frame::Unknown(_) => ErrorCode::UNKNOWN_FRAME_TYPE,
                            _ if frame::is_moderation(frame.frame_type()) => {
                                ErrorCode::UNKNOWN_FRAME_TYPE
                            }
                            _ => ErrorCode::UNEXPECTED_FRAME,
                        };
                        assert_eq!(error.code, expected);
                    }
                    _ => panic!("{frame:?} answered with {reply:?}"),
                }
            }
            ServerAction::CloseWith(last) => {
                self.check_out(&last);
                match &last {
                    Frame::ErrorFrame(error) => {
                        assert!(error.is_fatal(), "closing with a non-fatal {error:?}");
                        assert_eq!(error.frame_type, frame.frame_type());
                        assert_eq!(error.client_ref, client_ref_of(&frame));
                        assert_eq!(before, ServerState::AwaitHello);
                        // spec: STATE-1, HANDSHAKE-2
                        let expected = match frame {
                            Frame::Hello(_) => ErrorCode::UNSUPPORTED_VERSION,
                            _ => ErrorCode::NOT_CONFAB,
                        };
                        assert_eq!(error.code, expected);
                    }
                    _ => panic!("closing with {last:?}"),
                }
                self.closed = true;
            }
            ServerAction::PeerClosed(closed) => {
                match &frame {
                    Frame::Goodbye(goodbye) => assert_eq!(goodbye.reason, closed.reason),
                    Frame::ErrorFrame(error) if error.is_fatal() => {
                        assert_eq!(error.code, closed.reason)
                    }
                    _ => panic!("{frame:?} closed the session"),
                }
                self.closed = true;
            }
            ServerAction::PeerError(error) => {
                // spec: ERROR-2
                assert!(!error.is_fatal());
                assert_eq!(Frame::ErrorFrame(error), frame);
            }
            ServerAction::Login(login) => {
                assert_eq!(before, ServerState::AwaitLogin, "{login:?}");
                self.judge(login);
            }
            ServerAction::Request(request) => {
                // spec: STATE-3
                assert_eq!(before, ServerState::Ready, "{request:?}");
                assert_eq!(self.accepts, 1);
            }
        }
        self.check_state();
    }

    fn judge(&mut self, login: Login) {
        match self.registry.judge(&login) {
            Ok(name) => {
                let username = Str8::new(&name).expect("normalised names fit max_username");
                let welcome = self
                    .session
                    .accept_login(username, 0, 0)
                    .expect("the session handed out a LOGIN, so it awaits one");
                self.accepts += 1;
                self.registry.take(&name);
                self.check_out(&welcome);
                assert_eq!(self.session.state(), ServerState::Ready);
            }
            Err(code) => {
                let (rejected, fatal) = self
                    .session
                    .reject_login(code, "name refused")
                    .expect("the session handed out a LOGIN, so it awaits one");
                self.check_out(&rejected);
                self.attempts_left -= 1;
                match rejected {
                    Frame::LoginRejected(rejected) => {
                        assert_eq!(rejected.code, code);
                        assert_eq!(rejected.attempts_left, self.attempts_left);
                    }
                    other => panic!("a rejection produced {other:?}"),
                }
                // spec: HANDSHAKE-4
                match fatal {
                    Some(fatal) => {
                        assert_eq!(self.attempts_left, 0);
                        self.check_out(&fatal);
                        match &fatal {
                            Frame::ErrorFrame(error) => {
                                assert_eq!(error.code, ErrorCode::TOO_MANY_ATTEMPTS);
                                assert!(error.is_fatal());
                                assert_eq!(error.frame_type, code::LOGIN);
                            }
                            other => panic!("after the last rejection: {other:?}"),
                        }
                        self.closed = true;
                    }
                    None => assert!(self.attempts_left > 0),
                }
            }
        }
    }

    fn decode_failed(&mut self, error: &DecodeError) {
        if self.closed {
            // The server stopped reading at the close; nothing more to judge.
            return;
        }
        let fatal = self.session.decode_failed(error);
        self.check_out(&fatal);
        match &fatal {
            Frame::ErrorFrame(frame) => {
                assert!(frame.is_fatal());
                assert_eq!(frame.code, error.code());
                assert_eq!(frame.frame_type, error.frame_type());
            }
            other => panic!("decode error answered with {other:?}"),
        }
        self.closed = true;
        self.check_state();
    }

    fn check_state(&self) {
        assert_eq!(self.session.is_closed(), self.closed);
        // spec: STATE-3
        if self.session.state() == ServerState::Ready {
            assert_eq!(self.accepts, 1);
        }
        assert!(self.accepts <= 1);
    }

    /// Ends the connection the way a server would, then checks that the
    /// closed session ignores everything (`[STATE-4]`).
    fn finish(&mut self) {
        if !self.closed {
            match self.session.state() {
                ServerState::AwaitHello | ServerState::AwaitLogin => {
                    // spec: HANDSHAKE-8
                    let fatal = self
                        .session
                        .handshake_timed_out()
                        .expect("a handshake in progress can time out");
                    self.check_out(&fatal);
                    assert!(matches!(
                        &fatal,
                        Frame::ErrorFrame(e) if e.code == ErrorCode::HANDSHAKE_TIMEOUT && e.is_fatal()
                    ));
                }
                ServerState::Ready => {
                    assert_eq!(self.session.handshake_timed_out(), None);
                    let goodbye = self
                        .session
                        .goodbye(ErrorCode::SERVER_SHUTDOWN, "shutting down");
                    self.check_out(&goodbye);
                }
                ServerState::Closed => panic!("the session closed without telling"),
            }
            self.closed = true;
        }
        self.check_state();
        assert_eq!(self.session.handshake_timed_out(), None);
        for probe in probes() {
            self.feed(probe);
        }
    }
}

/// The `client_ref` an ERROR caused by `frame` must carry (spec section 5.1, ERROR).
fn client_ref_of(frame: &Frame) -> u32 {
    match frame {
        Frame::SendMessage(send) => send.client_ref,
        Frame::Direct(direct) => direct.client_ref,
        Frame::SendAction(send) => send.client_ref,
        Frame::DirectAction(direct) => direct.client_ref,
        _ => 0,
    }
}

/// One frame of each kind that moves a live session.
fn probes() -> Vec<Frame> {
    let name = |s: &str| Str8::new(s).unwrap();
    vec![
        Frame::Hello(Hello {
            version: 1,
            flags: 0,
            client: name("probe"),
        }),
        Frame::Login(Login::guest(name("carol"))),
        Frame::Ping(Ping { nonce: 7 }),
        Frame::Join(Join {
            room: name("lobby"),
            since_seq: 0,
            history: 0,
        }),
        Frame::SendMessage(SendMessage {
            client_ref: 1,
            room: name("lobby"),
            body: Str16::new("hi").unwrap(),
        }),
        Frame::Unknown(Unknown {
            frame_type: 0xA0,
            body: Default::default(),
        }),
        Frame::ErrorFrame(ErrorFrame::new(ErrorCode::INTERNAL_ERROR, 0, 0, "boom")),
        Frame::Goodbye(Goodbye::new(ErrorCode::NORMAL, "bye")),
    ]
}

fuzz_target!(|data: &[u8]| {
    let [chunk_mode, config, stream @ ..] = data else {
        return;
    };
    let login_attempts = (config & 0b11) + 1;
    let max_version = 1 + u16::from((config >> 2) & 1);
    let max_frame = if config & 0b1000 != 0 { 4096 } else { 65_536 };
    let mut harness = Harness {
        session: ServerSession::new(
            1,
            max_version,
            login_attempts,
            ServerTimers::default(),
            Instant::now(),
        ),
        codec: FrameCodec::new(max_frame),
        registry: Registry::new(),
        max_version,
        accepts: 0,
        attempts_left: login_attempts,
        closed: false,
    };

    let mut codec = FrameCodec::new(max_frame);
    let mut buf = BytesMut::new();
    let mut offset = 0;
    'stream: for size in chunks(*chunk_mode, stream.len()) {
        buf.extend_from_slice(&stream[offset..offset + size]);
        offset += size;
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => harness.feed(frame),
                Ok(None) => break,
                Err(CodecError::Decode(error)) => {
                    harness.decode_failed(&error);
                    break 'stream;
                }
                Err(other) => panic!("decoding reported {other:?}"),
            }
        }
    }
    harness.finish();
});
