//! Properties of the sans-IO session state machines (spec sections 6, 7, 15).
//!
//! Random client traffic — biased toward HELLO (good and bad versions, and
//! HELLO bytes without the magic), LOGIN, PING, SEND, JOIN, unknown frames
//! and GOODBYE — runs through `ServerSession`. A model name registry judges
//! each LOGIN the session hands out: `accept_login` when
//! `names::normalize_name` accepts the name and its key is not taken,
//! otherwise `reject_login(NAME_INVALID or NAME_TAKEN)`. Every action is
//! compared with a model of the spec's state machine, and the frames the
//! server would send are checked as a transcript.

mod strategies;

use std::collections::BTreeSet;
use std::time::Instant;

use bytes::BytesMut;
use confab_protocol::frame::{self, code, ErrorFrame, Goodbye, Login, Pong};
use confab_protocol::names::{name_key, normalize_name};
use confab_protocol::session::{
    ClientAction, ClientSession, ClientState, PeerClosed, Request, ServerAction, ServerSession,
    ServerState, ServerTimers, NOT_CONFAB_MESSAGE,
};
use confab_protocol::{DecodeError, ErrorCode, Frame, Str8, GREETING_MAX_FRAME, PROTOCOL_VERSION};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies as s;

// ------------------------------------------------------------ the registry

/// Names already logged in on other connections.
const TAKEN: &[&str] = &["Alice", "Émile", "日本"];

/// What the spec says about a requested name with `max_username` 32
/// (`[HANDSHAKE-5]`, `[SEC-3]`, `[SEC-4]`), given `TAKEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameStatus {
    Free,
    Taken,
    Invalid,
}

const POOL: &[(&str, NameStatus)] = &[
    ("bob", NameStatus::Free),
    ("Bob", NameStatus::Free),
    ("carol", NameStatus::Free),
    ("zoë", NameStatus::Free),
    ("x#y", NameStatus::Free),
    ("日本語", NameStatus::Free),
    ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NameStatus::Free), // 32 bytes
    // 16 decomposed é: 48 bytes raw, 32 after NFC.
    (
        "e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}",
        NameStatus::Free,
    ),
    ("alice", NameStatus::Taken),
    ("ALICE", NameStatus::Taken),
    ("Alice", NameStatus::Taken),
    ("émile", NameStatus::Taken),
    ("e\u{301}mile", NameStatus::Taken),
    ("E\u{301}MILE", NameStatus::Taken),
    ("日本", NameStatus::Taken),
    ("", NameStatus::Invalid),
    (" ", NameStatus::Invalid),
    ("a b", NameStatus::Invalid),
    ("a\u{3000}b", NameStatus::Invalid),
    ("tab\t", NameStatus::Invalid),
    ("bell\u{7}", NameStatus::Invalid),
    ("nel\u{85}", NameStatus::Invalid),
    ("evil\u{202E}txt", NameStatus::Invalid),
    ("rlm\u{200F}", NameStatus::Invalid),
    ("zero\u{200B}w", NameStatus::Invalid),
    ("\u{FEFF}bom", NameStatus::Invalid),
    ("#room", NameStatus::Invalid),
    ("@bob", NameStatus::Invalid),
    ("/me", NameStatus::Invalid),
    ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NameStatus::Invalid), // 33 bytes
    ("日日日日日日日日日日日", NameStatus::Invalid),             // 33 bytes
];

/// The model registry: the verdict `normalize_name` and `name_key` give.
struct Registry {
    max_username: usize,
    taken: BTreeSet<String>,
}

impl Registry {
    fn new(max_username: usize) -> Self {
        let taken = TAKEN
            .iter()
            .map(|name| name_key(&normalize_name(name, 255).expect("taken names are valid")))
            .collect();
        Registry {
            max_username,
            taken,
        }
    }

    /// `Ok(stored name)` or the rejection code.
    fn judge(&self, username: &str) -> Result<String, ErrorCode> {
        match normalize_name(username, self.max_username) {
            Err(_) => Err(ErrorCode::NAME_INVALID),
            Ok(name) if self.taken.contains(&name_key(&name)) => Err(ErrorCode::NAME_TAKEN),
            Ok(name) => Ok(name),
        }
    }
}

fn username() -> BoxedStrategy<Str8> {
    prop_oneof![
        1 => prop::sample::select(POOL)
            .prop_filter("free", |(_, v)| *v == NameStatus::Free)
            .prop_map(|(name, _)| Str8::new(name).expect("pool names fit")),
        3 => prop::sample::select(POOL).prop_map(|(name, _)| Str8::new(name).expect("pool names fit")),
        1 => s::str8(),
    ]
    .boxed()
}

// ------------------------------------------------------------ client traffic

/// One thing that happens to a server connection.
#[derive(Debug, Clone)]
enum Event {
    /// A decoded frame from the client.
    Frame(Frame),
    /// Bytes that do not decode: a HELLO with a damaged magic, or text.
    Bytes(Vec<u8>),
    /// The handshake deadline passes (`[HANDSHAKE-8]`).
    Timeout,
}

/// HELLO bytes with one magic byte changed (`[HANDSHAKE-2]`).
fn magicless_hello() -> BoxedStrategy<Event> {
    (s::hello(), 0usize..6, 1u8..=255)
        .prop_map(|(hello, at, mask)| {
            let mut wire = hello.to_bytes().to_vec();
            wire[frame::HEADER_LEN + at] ^= mask;
            Event::Bytes(wire)
        })
        .boxed()
}

/// A telnet user or an HTTP client (`[FRAMING-4]`, `[VERSION-5]`).
fn text_bytes() -> BoxedStrategy<Event> {
    prop_oneof![
        prop::sample::select(&["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "alice\r\n", "HELLO"][..])
            .prop_map(|t| t.as_bytes().to_vec()),
        (0x20u8..=0x7E, vec(any::<u8>(), 0..16)).prop_map(|(first, rest)| {
            let mut bytes = vec![first];
            bytes.extend(rest);
            bytes
        }),
    ]
    .prop_map(Event::Bytes)
    .boxed()
}

fn version_outside(min: u16, max: u16) -> BoxedStrategy<u16> {
    prop_oneof![
        Just(min.wrapping_sub(1)),
        Just(max.wrapping_add(1)),
        Just(0u16),
        Just(u16::MAX),
        any::<u16>(),
    ]
    .boxed()
}

/// Client traffic, biased toward the handshake. Events that close the
/// connection (GOODBYE, undecodable bytes, the handshake timeout) are kept
/// rare so that most sequences get past the login.
fn client_event(min: u16, max: u16) -> BoxedStrategy<Event> {
    let frame = |strategy: BoxedStrategy<Frame>| strategy.prop_map(Event::Frame).boxed();
    prop_oneof![
        3 => frame(s::hello_with_version((min..=max).boxed())),
        1 => frame(s::hello_with_version(version_outside(min, max))),
        10 => frame(s::login_with_name(username())),
        3 => frame(s::ping()),
        1 => frame(s::pong()),
        3 => frame(s::send()),
        3 => frame(s::join()),
        3 => frame(s::ready_request()),
        2 => frame(s::unknown()),
        2 => frame(s::error_frame()),
        2 => frame(s::server_only_frame()),
        2 => prop_oneof![
            frame(s::goodbye()),
            magicless_hello(),
            text_bytes(),
            Just(Event::Timeout),
        ],
    ]
    .boxed()
}

#[derive(Debug, Clone)]
struct Params {
    min_version: u16,
    max_version: u16,
    login_attempts: u8,
    max_username: usize,
}

fn params() -> impl Strategy<Value = Params> {
    (
        0u16..=3,
        0u16..=2,
        1u8..=4,
        prop::sample::select(&[1usize, 8, 32, 255][..]),
    )
        .prop_map(|(min_version, span, login_attempts, max_username)| Params {
            min_version,
            max_version: min_version + span,
            login_attempts,
            max_username,
        })
}

/// Parameters and client traffic; most sequences start with a HELLO of a
/// version the server speaks, some with one it does not.
fn scenario(len: std::ops::Range<usize>) -> impl Strategy<Value = (Params, Vec<Event>)> {
    params().prop_flat_map(move |p| {
        let hello = s::hello_with_version((p.min_version..=p.max_version).boxed());
        let bad_hello = s::hello_with_version(version_outside(p.min_version, p.max_version));
        let first = prop_oneof![
            6 => hello.prop_map(|h| Some(Event::Frame(h))),
            1 => bad_hello.prop_map(|h| Some(Event::Frame(h))),
            2 => Just(None),
        ];
        let rest = vec(client_event(p.min_version, p.max_version), len.clone());
        (Just(p), first, rest)
            .prop_map(|(p, first, rest)| (p, first.into_iter().chain(rest).collect::<Vec<_>>()))
    })
}

// ------------------------------------------------------------ the server model

fn is_ready_request(frame: &Frame) -> bool {
    matches!(
        frame,
        Frame::Join(_)
            | Frame::Leave(_)
            | Frame::ListRooms(_)
            | Frame::SendMessage(_)
            | Frame::Direct(_)
            | Frame::SendAction(_)
            | Frame::DirectAction(_)
            | Frame::Who(_)
            | Frame::History(_)
    )
}

fn request_of(frame: &Frame) -> Option<Request> {
    Some(match frame.clone() {
        Frame::Join(f) => Request::Join(f),
        Frame::Leave(f) => Request::Leave(f),
        Frame::ListRooms(_) => Request::ListRooms,
        Frame::SendMessage(f) => Request::SendMessage(f),
        Frame::Direct(f) => Request::Direct(f),
        Frame::SendAction(f) => Request::SendAction(f),
        Frame::DirectAction(f) => Request::DirectAction(f),
        Frame::Who(f) => Request::Who(f),
        Frame::History(f) => Request::History(f),
        _ => return None,
    })
}

/// What the spec says the server does with a frame.
#[derive(Debug)]
enum Want {
    Nothing,
    Reply(Frame),
    /// ERROR with this code about this frame type, with one of these
    /// client_refs; fatal ones close.
    Error(ErrorCode, u8, Vec<u32>),
    PeerClosed(PeerClosed),
    PeerError(ErrorFrame),
    Login(Login),
    Request(Request),
}

fn want(state: ServerState, min: u16, max: u16, frame: &Frame) -> Want {
    let peer_closed = |reason, message| Want::PeerClosed(PeerClosed { reason, message });
    match (state, frame) {
        // [STATE-4]
        (ServerState::Closed, _) => Want::Nothing,
        (_, Frame::Goodbye(g)) => peer_closed(g.reason, g.message.clone()),
        // [ERROR-2]: a fatal ERROR closes; a non-fatal one is logged.
        (_, Frame::ErrorFrame(e)) if e.flags & ErrorFrame::FATAL != 0 => {
            peer_closed(e.code, e.message.clone())
        }
        (_, Frame::ErrorFrame(e)) => Want::PeerError(e.clone()),
        // [HANDSHAKE-2]
        (ServerState::AwaitHello, Frame::Hello(h)) if (min..=max).contains(&h.version) => {
            Want::Nothing
        }
        (ServerState::AwaitHello, Frame::Hello(_)) => {
            Want::Error(ErrorCode::UNSUPPORTED_VERSION, code::HELLO, vec![0])
        }
        // [STATE-1]
        // (client_ref: a SEND or DIRECT first is not from a Confab client, so 0
        // is accepted as well as its client_ref.)
        (ServerState::AwaitHello, other) => Want::Error(
            ErrorCode::NOT_CONFAB,
            other.frame_type(),
            vec![0, ref_of(other)],
        ),
        // [KEEPALIVE-1]
        (_, Frame::Ping(p)) => Want::Reply(Frame::Pong(Pong { nonce: p.nonce })),
        (_, Frame::Pong(_)) => Want::Nothing,
        // [VERSION-3]
        (_, Frame::Unknown(u)) => Want::Error(ErrorCode::UNKNOWN_FRAME_TYPE, u.frame_type, vec![0]),
        (ServerState::AwaitLogin, Frame::Login(login)) => Want::Login(login.clone()),
        (ServerState::Ready, f) if is_ready_request(f) => {
            Want::Request(request_of(f).expect("a request"))
        }
        // [STATE-2], [STATE-3]
        (_, other) => Want::Error(
            ErrorCode::UNEXPECTED_FRAME,
            other.frame_type(),
            vec![ref_of(other)],
        ),
    }
}

/// The `client_ref` an ERROR caused by `frame` carries (spec 5.1: that of
/// the SEND or DIRECT that caused it, or 0).
fn ref_of(frame: &Frame) -> u32 {
    match frame {
        Frame::SendMessage(send) => send.client_ref,
        Frame::Direct(direct) => direct.client_ref,
        Frame::SendAction(send) => send.client_ref,
        Frame::DirectAction(direct) => direct.client_ref,
        _ => 0,
    }
}

/// An ERROR as spec section 15 wants it: the registry's fatality in bit 0,
/// no other flag bit (`[TYPES-3]`), the frame type, and one of the allowed
/// `client_ref`s.
fn check_error(
    frame: &Frame,
    code: ErrorCode,
    frame_type: u8,
    client_refs: &[u32],
) -> Result<(), TestCaseError> {
    let Frame::ErrorFrame(error) = frame else {
        return Err(TestCaseError::fail(format!(
            "expected ERROR {code:?}, got {frame:?}"
        )));
    };
    prop_assert_eq!(error.code, code);
    let fatal = code.registry_fatal().expect("registry code");
    prop_assert_eq!(error.flags, if fatal { ErrorFrame::FATAL } else { 0 });
    prop_assert_eq!(error.frame_type, frame_type);
    prop_assert!(
        client_refs.contains(&error.client_ref),
        "client_ref {} of {:?}, want one of {:?}",
        error.client_ref,
        code,
        client_refs
    );
    if code == ErrorCode::NOT_CONFAB {
        // [VERSION-5]: a plain-English message for a person.
        prop_assert_eq!(error.message.as_str(), NOT_CONFAB_MESSAGE);
        prop_assert!(error.message.contains("Confab"));
    }
    Ok(())
}

/// Everything one run of a scenario produced.
#[derive(Debug, Default)]
struct Run {
    /// The frames the server sends, in order.
    sent: Vec<Frame>,
    /// How many `accept_login` calls were made.
    accepts: usize,
    /// Requests handed to the application before WELCOME was sent.
    early_requests: usize,
}

fn run_server(p: &Params, events: &[Event]) -> Result<Run, TestCaseError> {
    let registry = Registry::new(p.max_username);
    let mut session = ServerSession::new(
        p.min_version,
        p.max_version,
        p.login_attempts,
        ServerTimers::default(),
        Instant::now(),
    );
    let mut state = ServerState::AwaitHello;
    let mut attempts_left = p.login_attempts;
    let mut auto_join = true;
    let mut run = Run::default();

    for event in events {
        let before = state;
        match event {
            Event::Frame(frame) => {
                let action = session.handle(frame.clone());
                match (want(state, p.min_version, p.max_version, frame), action) {
                    (Want::Nothing, ServerAction::Nothing) => {
                        if let (ServerState::AwaitHello, Frame::Hello(h)) = (state, frame) {
                            state = ServerState::AwaitLogin;
                            auto_join = h.flags & frame::Hello::NO_AUTO_JOIN == 0;
                        }
                    }
                    (Want::Reply(w), ServerAction::Reply(got)) => {
                        prop_assert_eq!(&got, &w);
                        run.sent.push(got);
                    }
                    (Want::Error(code, ft, refs), ServerAction::Reply(got)) if !code.is_fatal() => {
                        check_error(&got, code, ft, &refs)?;
                        run.sent.push(got);
                    }
                    (Want::Error(code, ft, refs), ServerAction::CloseWith(got))
                        if code.is_fatal() =>
                    {
                        check_error(&got, code, ft, &refs)?;
                        run.sent.push(got);
                        state = ServerState::Closed;
                    }
                    (Want::PeerClosed(w), ServerAction::PeerClosed(got)) => {
                        prop_assert_eq!(got, w);
                        state = ServerState::Closed;
                    }
                    (Want::PeerError(w), ServerAction::PeerError(got)) => prop_assert_eq!(got, w),
                    (Want::Request(w), ServerAction::Request(got)) => {
                        prop_assert_eq!(got, w);
                        if run.accepts == 0 {
                            run.early_requests += 1;
                        }
                    }
                    (Want::Login(w), ServerAction::Login(login)) => {
                        prop_assert_eq!(&login, &w);
                        match registry.judge(&login.username) {
                            Ok(name) => {
                                let stored = Str8::new(&name).expect("within max_username");
                                let welcome = session
                                    .accept_login(stored.clone(), 0, 42)
                                    .expect("a login was awaited");
                                prop_assert!(
                                    matches!(&welcome, Frame::Welcome(w) if w.username == stored),
                                    "accept_login gave {:?}",
                                    welcome
                                );
                                run.sent.push(welcome);
                                run.accepts += 1;
                                state = ServerState::Ready;
                            }
                            Err(code) => {
                                let (rejected, fatal) = session
                                    .reject_login(code, "refused")
                                    .expect("a login was awaited");
                                attempts_left -= 1;
                                prop_assert!(
                                    matches!(&rejected, Frame::LoginRejected(r)
                                        if r.code == code && r.attempts_left == attempts_left),
                                    "reject_login gave {:?}, {} attempts left",
                                    rejected,
                                    attempts_left
                                );
                                run.sent.push(rejected);
                                if attempts_left == 0 {
                                    let fatal = fatal.ok_or_else(|| {
                                        TestCaseError::fail(
                                            "no TOO_MANY_ATTEMPTS after the last attempt",
                                        )
                                    })?;
                                    check_error(
                                        &fatal,
                                        ErrorCode::TOO_MANY_ATTEMPTS,
                                        code::LOGIN,
                                        &[0],
                                    )?;
                                    run.sent.push(fatal);
                                    state = ServerState::Closed;
                                } else {
                                    prop_assert_eq!(fatal, None);
                                }
                            }
                        }
                    }
                    (w, got) => prop_assert!(
                        false,
                        "in {:?}, {} should give {:?}, got {:?}",
                        state,
                        frame.name(),
                        w,
                        got
                    ),
                }
            }
            Event::Bytes(bytes) => {
                let mut buf = BytesMut::from(&bytes[..]);
                let error = match frame::decode(&mut buf, 65_536) {
                    Err(error) => error,
                    other => {
                        return Err(TestCaseError::fail(format!(
                            "{bytes:?} decoded as {other:?}"
                        )))
                    }
                };
                prop_assert_eq!(error.code(), ErrorCode::NOT_CONFAB);
                let frame_type = match error {
                    DecodeError::BadMagic { frame_type } => frame_type,
                    DecodeError::AsciiFrameType { .. } => 0,
                    ref other => return Err(TestCaseError::fail(format!("{other:?}"))),
                };
                // A closed connection reads nothing more ([STATE-4]).
                if state != ServerState::Closed {
                    let fatal = session.decode_failed(&error);
                    check_error(&fatal, ErrorCode::NOT_CONFAB, frame_type, &[0])?;
                    run.sent.push(fatal);
                    state = ServerState::Closed;
                }
            }
            Event::Timeout => {
                let fatal = session.handshake_timed_out();
                if matches!(state, ServerState::AwaitHello | ServerState::AwaitLogin) {
                    let fatal = fatal.ok_or_else(|| TestCaseError::fail("no HANDSHAKE_TIMEOUT"))?;
                    check_error(&fatal, ErrorCode::HANDSHAKE_TIMEOUT, 0, &[0])?;
                    run.sent.push(fatal);
                    state = ServerState::Closed;
                } else {
                    prop_assert_eq!(fatal, None);
                }
            }
        }
        prop_assert_eq!(session.state(), state, "after {:?} in {:?}", event, before);
        prop_assert_eq!(session.is_closed(), state == ServerState::Closed);
        if state != ServerState::AwaitHello && state != ServerState::Closed {
            prop_assert_eq!(session.auto_join(), auto_join);
        }
        // [STATE-3]: READY only through accept_login.
        if session.state() == ServerState::Ready {
            prop_assert!(run.accepts > 0, "READY without accept_login");
        }
    }
    Ok(run)
}

/// Checks on what the server sent, independent of the model.
fn check_transcript(p: &Params, run: &Run) -> Result<(), TestCaseError> {
    let sent = &run.sent;
    // [STATE-3]: no request before WELCOME, and one WELCOME at most.
    prop_assert_eq!(run.early_requests, 0);
    prop_assert!(run.accepts <= 1);
    let welcomes = sent
        .iter()
        .filter(|f| matches!(f, Frame::Welcome(_)))
        .count();
    prop_assert_eq!(welcomes, run.accepts);

    // [HANDSHAKE-4]: at most login_attempts rejections, counting down, the
    // one with 0 left followed by a fatal TOO_MANY_ATTEMPTS.
    let rejections: Vec<(usize, u8)> = sent
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f {
            Frame::LoginRejected(r) => Some((i, r.attempts_left)),
            _ => None,
        })
        .collect();
    prop_assert!(rejections.len() <= usize::from(p.login_attempts));
    for (n, (i, left)) in rejections.iter().enumerate() {
        prop_assert_eq!(usize::from(*left), usize::from(p.login_attempts) - n - 1);
        if *left == 0 {
            let next = sent.get(i + 1);
            prop_assert!(
                matches!(next, Some(Frame::ErrorFrame(e)) if e.code == ErrorCode::TOO_MANY_ATTEMPTS && e.is_fatal()),
                "after the last LOGIN_REJECTED: {:?}",
                next
            );
        }
    }

    // [ERROR-1]: every FATAL flag follows the registry.
    // [STATE-4]: nothing is sent after a fatal ERROR.
    for (i, f) in sent.iter().enumerate() {
        if let Frame::ErrorFrame(e) = f {
            prop_assert_eq!(Some(e.is_fatal()), e.code.registry_fatal(), "{:?}", e);
            if e.is_fatal() {
                prop_assert_eq!(i + 1, sent.len(), "frames sent after a fatal ERROR");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(s::config(192))]

    // Random client traffic against the model of spec section 6.
    // spec: STATE-1, STATE-2, STATE-3, STATE-4, HANDSHAKE-2, HANDSHAKE-3, HANDSHAKE-4
    // spec: HANDSHAKE-8, ERROR-1, ERROR-2, KEEPALIVE-1, VERSION-3
    #[test]
    fn server_session_follows_the_state_machine((p, events) in scenario(0..24)) {
        let run = run_server(&p, &events)?;
        check_transcript(&p, &run)?;
    }

    // Before READY, every READY-only request (SEND, JOIN, ...) gets exactly
    // a non-fatal UNEXPECTED_FRAME naming its type, and changes nothing;
    // after the login is accepted the same requests reach the application.
    // spec: STATE-2, STATE-3, ERROR-1
    #[test]
    fn ready_requests_before_welcome_are_unexpected(
        p in params(),
        early in vec(prop_oneof![4 => s::ready_request(), 1 => s::ping(), 1 => s::unknown()], 1..12),
        late in vec(s::ready_request(), 1..4),
    ) {
        let mut session = ServerSession::new(p.min_version, p.max_version, p.login_attempts, ServerTimers::default(), Instant::now());
        let hello = Frame::Hello(frame::Hello {
            version: p.min_version,
            flags: 0,
            client: Str8::empty(),
        });
        prop_assert_eq!(session.handle(hello), ServerAction::Nothing);
        for frame in early {
            let action = session.handle(frame.clone());
            if is_ready_request(&frame) {
                let ServerAction::Reply(error) = action else {
                    return Err(TestCaseError::fail(format!("{} before READY gave {action:?}", frame.name())));
                };
                check_error(&error, ErrorCode::UNEXPECTED_FRAME, frame.frame_type(), &[ref_of(&frame)])?;
                prop_assert_eq!(error.frame_type(), code::ERROR);
            }
            prop_assert_eq!(session.state(), ServerState::AwaitLogin);
        }
        let ServerAction::Login(_) = session.handle(Frame::Login(Login::guest(Str8::new("bob").unwrap()))) else {
            return Err(TestCaseError::fail("LOGIN not handed out"));
        };
        session
            .accept_login(Str8::new("bob").unwrap(), 0, 0)
            .expect("a login was awaited");
        for frame in late {
            prop_assert_eq!(session.handle(frame.clone()), ServerAction::Request(request_of(&frame).unwrap()));
        }
    }

}

proptest! {
    #![proptest_config(s::config(128))]

    // Anything but HELLO first — a known frame of either direction, an
    // unknown frame, a HELLO without the magic, text — is a fatal
    // NOT_CONFAB; GOODBYE and ERROR are the exceptions the AWAIT_HELLO row
    // of the table allows. After closing, every frame gives Nothing.
    // spec: STATE-1, STATE-4, HANDSHAKE-2, FRAMING-4, VERSION-5, ERROR-3
    #[test]
    fn anything_but_hello_first_is_not_confab(
        first in prop_oneof![
            4 => prop_oneof![s::client_frame(), s::server_only_frame(), s::unknown()]
                .prop_filter("HELLO, GOODBYE and ERROR are legal first", |f| {
                    !matches!(f, Frame::Hello(_) | Frame::Goodbye(_) | Frame::ErrorFrame(_))
                })
                .prop_map(Event::Frame),
            1 => magicless_hello(),
            1 => text_bytes(),
        ],
        after in vec(s::any_frame(), 0..10),
    ) {
        let mut session = ServerSession::new(1, 1, 3, ServerTimers::default(), Instant::now());
        let (fatal, frame_type, refs) = match &first {
            Event::Frame(frame) => match session.handle(frame.clone()) {
                ServerAction::CloseWith(fatal) => (fatal, frame.frame_type(), vec![0, ref_of(frame)]),
                other => return Err(TestCaseError::fail(format!("{} first gave {other:?}", frame.name()))),
            },
            Event::Bytes(bytes) => {
                let error = frame::decode(&mut BytesMut::from(&bytes[..]), 65_536)
                    .expect_err("undecodable by construction");
                let frame_type = if matches!(error, DecodeError::BadMagic { .. }) { code::HELLO } else { 0 };
                (session.decode_failed(&error), frame_type, vec![0])
            }
            Event::Timeout => unreachable!(),
        };
        check_error(&fatal, ErrorCode::NOT_CONFAB, frame_type, &refs)?;
        prop_assert!(session.is_closed());
        for frame in after {
            prop_assert_eq!(session.handle(frame), ServerAction::Nothing);
            prop_assert_eq!(session.handshake_timed_out(), None);
        }
    }

    // LOGIN after LOGIN: names are judged by the spec's rules (normalised,
    // compared case-insensitively), at most login_attempts are rejected, the
    // last rejection says 0 attempts left and is followed by a fatal
    // TOO_MANY_ATTEMPTS, and the first accepted name ends the handshake.
    // spec: HANDSHAKE-3, HANDSHAKE-4, HANDSHAKE-5, SEC-3, SEC-4
    #[test]
    fn login_attempts_are_bounded(
        attempts in 1u8..=5,
        names in vec(prop_oneof![
            3 => prop::sample::select(POOL).prop_filter("mostly refused", |(_, v)| *v != NameStatus::Free),
            1 => prop::sample::select(POOL),
        ], 1..10),
        extra in vec(
            s::client_frame().prop_filter("no further LOGIN", |f| !matches!(f, Frame::Login(_))),
            0..4,
        ),
    ) {
        let registry = Registry::new(32);
        for (name, verdict) in &names {
            let judged = match registry.judge(name) {
                Ok(_) => NameStatus::Free,
                Err(ErrorCode::NAME_TAKEN) => NameStatus::Taken,
                Err(_) => NameStatus::Invalid,
            };
            prop_assert_eq!(judged, *verdict, "{:?}", name);
        }

        let p = Params { min_version: 1, max_version: 1, login_attempts: attempts, max_username: 32 };
        let mut events = vec![Event::Frame(Frame::Hello(frame::Hello {
            version: 1,
            flags: frame::Hello::NO_AUTO_JOIN,
            client: Str8::empty(),
        }))];
        events.extend(names.iter().map(|(name, _)| {
            Event::Frame(Frame::Login(Login::guest(Str8::new(name).unwrap())))
        }));
        events.extend(extra.into_iter().map(Event::Frame));
        let run = run_server(&p, &events)?;
        check_transcript(&p, &run)?;

        let refused_first = names.iter().take_while(|(_, v)| *v != NameStatus::Free).count();
        let rejected = run.sent.iter().filter(|f| matches!(f, Frame::LoginRejected(_))).count();
        prop_assert_eq!(rejected, refused_first.min(usize::from(attempts)));
        prop_assert_eq!(run.accepts, usize::from(refused_first < usize::from(attempts) && refused_first < names.len()));
    }
}

// ------------------------------------------------------------ the client

/// Server traffic for a client, biased toward the handshake.
fn server_event() -> BoxedStrategy<Frame> {
    let greeting = s::greeting_with_versions(
        prop_oneof![
            3 => (0u16..=1, 1u16..=4),
            1 => (s::u16s(), s::u16s()),
        ]
        .boxed(),
    );
    prop_oneof![
        4 => greeting,
        3 => s::welcome(),
        2 => s::login_rejected(),
        2 => s::ping(),
        1 => s::pong(),
        1 => s::notice(),
        2 => s::error_frame(),
        2 => s::server_limits(),
        1 => s::goodbye(),
        3 => s::server_only_frame(),
        2 => s::client_only_frame(),
        1 => s::unknown(),
    ]
    .boxed()
}

/// The action hands `frame` to the application, typed.
fn is_event(action: &ClientAction, frame: &Frame) -> bool {
    matches!(action, ClientAction::Event(event) if Frame::from(event.clone()) == *frame)
}

fn is_client_to_server(frame: &Frame) -> bool {
    let code = frame.frame_type();
    (0x10..=0x1F).contains(&code) && s::is_assigned(code)
}

proptest! {
    #![proptest_config(s::config(160))]

    // The client's mirror of the state machine: READY only through a WELCOME
    // received after a GREETING it accepted; a GREETING without version 1
    // is answered GOODBYE UNSUPPORTED_VERSION; 4,096 is the frame limit
    // until the GREETING, then the advertised one; frames not legal in the
    // current state (client-to-server ones, unknown ones) are ignored; after
    // GOODBYE or a fatal ERROR, nothing.
    // spec: STATE-2, STATE-4, VERSION-1, VERSION-3, VERSION-4, KEEPALIVE-1, LIMITS-3
    #[test]
    fn client_session_follows_the_state_machine(frames in vec(server_event(), 0..20)) {
        let mut client = ClientSession::new();
        match client.hello(0, Str8::empty()) {
            Frame::Hello(hello) => prop_assert_eq!(hello.version, PROTOCOL_VERSION),
            other => prop_assert!(false, "hello() gave {:?}", other),
        }
        prop_assert_eq!(PROTOCOL_VERSION, 1);
        let mut state = ClientState::AwaitGreeting;
        let mut max_frame = GREETING_MAX_FRAME;
        let mut limits_seen = false;
        prop_assert_eq!(client.max_frame(), 4096);
        for frame in frames {
            let before = state;
            let action = client.handle(frame.clone());
            let fatal_error = matches!(&frame, Frame::ErrorFrame(e) if e.flags & ErrorFrame::FATAL != 0);
            match (state, &frame) {
                (ClientState::Closed, _) => prop_assert_eq!(action, ClientAction::Nothing),
                (_, Frame::Goodbye(g)) => {
                    prop_assert_eq!(action, ClientAction::PeerClosed(PeerClosed { reason: g.reason, message: g.message.clone() }));
                    state = ClientState::Closed;
                }
                (_, Frame::ErrorFrame(e)) if fatal_error => {
                    prop_assert_eq!(action, ClientAction::PeerClosed(PeerClosed { reason: e.code, message: e.message.clone() }));
                    state = ClientState::Closed;
                }
                (_, f) if is_client_to_server(f) || matches!(f, Frame::Unknown(_)) => {
                    prop_assert_eq!(action, ClientAction::Ignored(frame.clone()));
                }
                (ClientState::AwaitGreeting, Frame::Greeting(g)) => {
                    if (g.min_version..=g.max_version).contains(&1) {
                        prop_assert_eq!(action, ClientAction::Greeted(g.clone()));
                        state = ClientState::AwaitWelcome;
                        // A client never lets a server size its buffers past the spec's bounds.
                        max_frame = g
                            .limits
                            .max_frame
                            .clamp(GREETING_MAX_FRAME, frame::MAX_FRAME_BOUNDS.1);
                    } else {
                        let ClientAction::CloseWith(Frame::Goodbye(Goodbye { reason, .. })) = action else {
                            return Err(TestCaseError::fail(format!("unsupported GREETING gave {action:?}")));
                        };
                        prop_assert_eq!(reason, ErrorCode::UNSUPPORTED_VERSION);
                        state = ClientState::Closed;
                    }
                }
                // A non-fatal ERROR before the GREETING cannot come from a
                // conforming server; ignoring it or reporting it are both fine.
                (ClientState::AwaitGreeting, Frame::ErrorFrame(_)) => prop_assert!(
                    matches!(action, ClientAction::Ignored(_) | ClientAction::Event(_)),
                    "{:?}",
                    action
                ),
                (ClientState::AwaitGreeting, _) => prop_assert_eq!(action, ClientAction::Ignored(frame.clone())),
                (_, Frame::Ping(ping)) => prop_assert_eq!(action, ClientAction::Reply(Frame::Pong(Pong { nonce: ping.nonce }))),
                (_, Frame::Pong(_)) => prop_assert_eq!(action, ClientAction::Nothing),
                (ClientState::AwaitWelcome, Frame::Welcome(w)) => {
                    prop_assert_eq!(action, ClientAction::Welcomed(w.clone()));
                    state = ClientState::Ready;
                }
                (ClientState::AwaitWelcome, Frame::LoginRejected(r)) => {
                    prop_assert_eq!(action, ClientAction::Rejected(r.clone()));
                }
                (ClientState::AwaitWelcome, Frame::Notice(_) | Frame::ErrorFrame(_)) => {
                    prop_assert!(is_event(&action, &frame), "{:?}", action);
                }
                // LIMITS: taken once, in AWAIT_WELCOME only.
                (ClientState::AwaitWelcome, Frame::ServerLimits(l)) if !limits_seen => {
                    prop_assert_eq!(action, ClientAction::Limits(l.clone()));
                    limits_seen = true;
                }
                (ClientState::AwaitWelcome, _) => prop_assert_eq!(action, ClientAction::Ignored(frame.clone())),
                (ClientState::Ready, Frame::Greeting(_) | Frame::ServerLimits(_) | Frame::Welcome(_) | Frame::LoginRejected(_)) => {
                    prop_assert_eq!(action, ClientAction::Ignored(frame.clone()));
                }
                (ClientState::Ready, _) => prop_assert!(is_event(&action, &frame), "{:?}", action),
            }
            prop_assert_eq!(client.state(), state, "after {} in {:?}", frame.name(), before);
            prop_assert_eq!(client.max_frame(), max_frame);
        }
    }

}

proptest! {
    #![proptest_config(s::config(128))]

    // Wherever the client is, a client-to-server frame from the server is
    // ignored: `Ignored` with the frame itself, and the state does not move.
    // spec: STATE-2
    #[test]
    fn client_ignores_client_to_server_frames(
        steps in 0usize..3,
        greeting in s::greeting_with_versions(Just((1u16, 1u16)).boxed()),
        welcome in s::welcome(),
        frames in vec(s::client_only_frame(), 1..8),
    ) {
        let mut client = ClientSession::new();
        if steps >= 1 {
            prop_assert!(matches!(client.handle(greeting), ClientAction::Greeted(_)));
        }
        if steps >= 2 {
            prop_assert!(matches!(client.handle(welcome), ClientAction::Welcomed(_)));
        }
        let state = client.state();
        prop_assert_eq!(state, [ClientState::AwaitGreeting, ClientState::AwaitWelcome, ClientState::Ready][steps]);
        for frame in frames {
            prop_assert_eq!(client.handle(frame.clone()), ClientAction::Ignored(frame));
            prop_assert_eq!(client.state(), state);
        }
    }
}
