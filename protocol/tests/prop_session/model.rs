//! The server model of spec section 6, one run of a scenario, and the transcript checks.

use super::*;

// ------------------------------------------------------------ the server model

pub(crate) fn is_ready_request(frame: &Frame) -> bool {
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

pub(crate) fn request_of(frame: &Frame) -> Option<Request> {
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
pub(crate) enum Want {
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

pub(crate) fn want(state: ServerState, min: u16, max: u16, frame: &Frame) -> Want {
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
pub(crate) fn ref_of(frame: &Frame) -> u32 {
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
pub(crate) fn check_error(
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
pub(crate) struct Run {
    /// The frames the server sends, in order.
    pub(crate) sent: Vec<Frame>,
    /// How many `accept_login` calls were made.
    pub(crate) accepts: usize,
    /// Requests handed to the application before WELCOME was sent.
    pub(crate) early_requests: usize,
}

pub(crate) fn run_server(p: &Params, events: &[Event]) -> Result<Run, TestCaseError> {
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
pub(crate) fn check_transcript(p: &Params, run: &Run) -> Result<(), TestCaseError> {
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
