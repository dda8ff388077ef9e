//! Properties of `ClientSession` against server traffic.

use super::*;

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
