//! The terminal UI's input handling at the application level: pastes, keys
//! and the name prompt, fed events as the connection would.

use confab_client::command::Command;
use confab_client::event::Event;
use confab_client::tui::App;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn logged_in_app() -> App {
    let mut app = App::new(None, false);
    app.on_event(Event::Connected {
        addr: "127.0.0.1:7667".into(),
        server: "confab-server".into(),
    });
    app.on_event(Event::LoggedIn {
        name: "alice".into(),
    });
    app.on_event(Event::Joined {
        room: "lobby".into(),
        members: 2,
    });
    app
}

fn say(body: &str) -> Command {
    Command::Say {
        room: "lobby".into(),
        body: body.into(),
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
}

#[test]
fn a_pasted_block_is_sent_as_its_lines_in_order() {
    let mut app = logged_in_app();
    let block: String = (0..200).map(|i| format!("pasted line {i}\n")).collect();
    let commands = app.on_paste(&block);
    let expected: Vec<Command> = (0..200).map(|i| say(&format!("pasted line {i}"))).collect();
    assert_eq!(commands, expected);
    assert_eq!(app.input.text(), "");
}

#[test]
fn a_paste_continues_the_draft_and_leaves_its_last_line_to_edit() {
    let mut app = logged_in_app();
    type_text(&mut app, "draft: ");
    let commands = app.on_paste("one\r\ntwo\r\n\r\nthree");
    // The empty line sends nothing; "three" waits for Enter.
    assert_eq!(commands, vec![say("draft: one"), say("two")]);
    assert_eq!(app.input.text(), "three");
    assert_eq!(app.on_key(key(KeyCode::Enter)), Some(say("three")));
    // A paste without a line break is only inserted.
    assert_eq!(app.on_paste("just\ttext"), vec![]);
    assert_eq!(app.input.text(), "just text");
}
