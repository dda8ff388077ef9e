//! The view-model's decisions, without a connection or a terminal.

use confab_protocol::frame::PresenceEvent;

use super::*;

fn say(body: &str) -> Command {
    Command::Say {
        room: String::new(),
        body: body.into(),
    }
}

#[test]
fn the_name_prompt_is_up_from_the_request_until_a_name_is_entered_or_accepted() {
    let mut view = View::new(None);
    assert!(!view.awaiting_name);
    view.name_required("name?", false);
    assert!(view.awaiting_name);
    view.name_entered();
    assert!(!view.awaiting_name);
    view.name_required("Choose another name (2 attempts left)", true);
    assert!(view.awaiting_name);
    view.logged_in("dora");
    assert!(!view.awaiting_name);
    assert_eq!(view.name(), Some("dora"));
}

#[test]
fn an_empty_prompt_asks_for_nothing() {
    // The last attempt was refused: the server closes, no name is read.
    let mut view = View::new(None);
    view.name_required("", true);
    assert!(!view.awaiting_name);
}

#[test]
fn the_first_room_the_asked_room_and_the_preferred_room_come_into_view() {
    let mut view = View::new(Some("Rust".into()));
    assert!(
        view.joined("lobby", true),
        "nothing in view: the first room"
    );
    assert!(view.joined("rust", false), "--room, whatever its case");
    assert!(
        !view.joined("rust", false),
        "--room brings it once, not at each rejoin"
    );
    assert!(!view.joined("go", false));
    view.join_asked("GO");
    assert!(view.joined("go", false), "/join brings the room into view");
    assert!(!view.joined("go", false), "once");
}

#[test]
fn a_message_goes_where_the_user_looks_or_nowhere() {
    let mut view = View::new(None);
    assert_eq!(
        view.aim(say("hi"), Focus::Room("rust")),
        Ok(Command::Say {
            room: "rust".into(),
            body: "hi".into()
        })
    );
    assert_eq!(
        view.aim(say("psst"), Focus::Direct("bob")),
        Ok(Command::Direct {
            to: "bob".into(),
            body: "psst".into()
        })
    );
    let wave = Command::Action {
        room: String::new(),
        body: "waves".into(),
    };
    assert_eq!(
        view.aim(wave.clone(), Focus::Direct("bob")),
        Ok(Command::DirectAction {
            to: "bob".into(),
            body: "waves".into()
        })
    );
    assert_eq!(view.aim(say("hi"), Focus::Nowhere), Err(Nowhere));
    assert_eq!(view.aim(wave, Focus::Nowhere), Err(Nowhere));
    // Other commands need no room in view, and a /join is remembered.
    let join = Command::Join { room: "go".into() };
    assert_eq!(view.aim(join.clone(), Focus::Nowhere), Ok(join));
    assert!(view.joined("go", false));
}

#[test]
fn the_exit_code_says_how_the_session_ended() {
    let mut view = View::new(None);
    assert_eq!(view.exit_code(true), 0);
    assert_eq!(view.exit_code(false), exit::UNREACHABLE);
    view.connected();
    assert_eq!(view.exit_code(false), exit::CONNECTION_LOST);
    view.name_required("", true);
    assert_eq!(view.exit_code(false), exit::NAME_REFUSED);
    view.logged_in("dora");
    assert_eq!(view.exit_code(false), exit::CONNECTION_LOST);
}

#[test]
fn only_the_first_failure_after_a_connection_is_a_disconnection() {
    let mut view = View::new(None);
    view.connected();
    assert!(view.disconnected());
    assert!(!view.disconnected(), "a failed retry");
    view.connected();
    assert!(view.disconnected());
}

#[test]
fn presence_reads_the_same_everywhere() {
    assert_eq!(
        presence("bob", PresenceEvent::Joined, "rust"),
        "bob joined rust"
    );
    assert_eq!(
        presence("bob", PresenceEvent::Left, "rust"),
        "bob left rust"
    );
    assert_eq!(
        presence("bob", PresenceEvent::Disconnected, "rust"),
        "bob disconnected from rust"
    );
    assert_eq!(joined("rust", 3), "joined rust (3 here)");
}
