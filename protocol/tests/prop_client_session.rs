//! Properties of what the client session hands the application: every
//! frame it passes on is typed (`Incoming`) and is the frame received, and
//! the session knows when the server waits for a name (spec sections 6, 7).

mod strategies;

use confab_protocol::frame::{self, Login};
use confab_protocol::session::{ClientAction, ClientSession, ClientState, Incoming};
use confab_protocol::{Frame, Str8};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;
use strategies as s;

/// The frames a READY client hands the application (`[STATE-2]`): the
/// server-to-client frames that are not part of the handshake, and
/// non-fatal errors.
fn is_application_frame(frame: &Frame) -> bool {
    match frame {
        Frame::ErrorFrame(error) => !error.is_fatal(),
        Frame::Greeting(_)
        | Frame::Welcome(_)
        | Frame::LoginRejected(_)
        | Frame::ServerLimits(_)
        | Frame::Unknown(_) => false,
        other => other.direction() == Some(frame::Route::ServerToClient),
    }
}

/// A client logged in with this GREETING (version 1) and WELCOME.
fn ready(greeting: Frame, welcome: Frame) -> ClientSession {
    let mut client = ClientSession::new();
    assert!(matches!(client.handle(greeting), ClientAction::Greeted(_)));
    assert!(matches!(client.handle(welcome), ClientAction::Welcomed(_)));
    client
}

/// One step of a login: a frame from the server, or a name sent.
#[derive(Debug, Clone)]
enum Step {
    Receive(Frame),
    SendLogin,
}

fn login_step() -> BoxedStrategy<Step> {
    let greeting = s::greeting_with_versions(Just((1u16, 1u16)).boxed());
    prop_oneof![
        2 => greeting.prop_map(Step::Receive),
        4 => Just(Step::SendLogin),
        4 => s::login_rejected().prop_map(Step::Receive),
        1 => s::welcome().prop_map(Step::Receive),
        1 => s::notice().prop_map(Step::Receive),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(s::config(256))]

    // In READY, a frame is an event exactly when the application handles
    // it, and the event is that frame, typed: nothing is lost or changed on
    // the way, and the application needs no second match on `Frame`.
    // spec: STATE-2
    #[test]
    fn a_ready_client_types_exactly_the_application_frames(
        greeting in s::greeting_with_versions(Just((1u16, 1u16)).boxed()),
        welcome in s::welcome(),
        frames in vec(Union::new(s::variants().into_iter().map(|(_, f)| f)), 1..24),
    ) {
        let mut client = ready(greeting, welcome);
        for frame in frames {
            let application = is_application_frame(&frame);
            match client.handle(frame.clone()) {
                ClientAction::Event(incoming) => {
                    prop_assert!(application, "{} became an event", frame.name());
                    if let Incoming::Error(error) = &incoming {
                        prop_assert!(!error.is_fatal());
                    }
                    prop_assert_eq!(Frame::from(incoming), frame);
                }
                other => prop_assert!(!application, "{} gave {:?}", frame.name(), other),
            }
            if client.state() == ClientState::Closed {
                break;
            }
        }
    }

    // A name is owed from the GREETING until one is sent, and again after
    // a refusal that leaves attempts; never before the GREETING nor once
    // logged in. `login_sent` remembers any LOGIN of the connection.
    // spec: HANDSHAKE-3, HANDSHAKE-5
    #[test]
    fn the_session_knows_when_a_name_is_owed(steps in vec(login_step(), 0..16)) {
        let mut client = ClientSession::new();
        let mut owed = false;
        let mut sent = false;
        for step in steps {
            let before = client.state();
            match step {
                Step::SendLogin => {
                    let _ = client.login(Login::guest(Str8::truncated("dora")));
                    owed = false;
                    sent = true;
                }
                Step::Receive(frame) => {
                    let action = client.handle(frame.clone());
                    match (&action, &frame) {
                        (ClientAction::Greeted(_), _) => owed = true,
                        (ClientAction::Rejected(_), Frame::LoginRejected(r)) => {
                            owed = r.attempts_left > 0;
                        }
                        _ => {}
                    }
                }
            }
            let awaiting = client.state() == ClientState::AwaitWelcome;
            prop_assert_eq!(client.login_owed(), owed && awaiting, "in {:?}, now {:?}", before, client.state());
            prop_assert_eq!(client.login_sent(), sent);
        }
    }
}
