//! Properties of `ServerSession` against the model.

use super::*;

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
