//! Writing and noticing in the terminal UI, on ratatui's TestBackend:
//! mentions, Tab completion, /query and /reply, case-insensitive commands,
//! multi-line messages and underlined URLs.

mod tui_support;

use confab_client::command::Command;
use confab_client::event::Event;
use confab_client::tui::{render, App};
use confab_protocol::frame::PresenceEvent;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Modifier;
use ratatui::Terminal;
use tui_support::{enter, joined, key, now_millis, type_text};

/// alice in lobby (with bob, bernard and carol; in view) and rust.
fn logged_in() -> App {
    let mut app = App::new(None, false);
    app.on_event(Event::LoggedIn {
        name: "alice".into(),
    });
    joined(&mut app, "lobby", 4);
    joined(&mut app, "rust", 1);
    app.on_event(Event::Who {
        room: "lobby".into(),
        users: vec![
            "alice".into(),
            "bob".into(),
            "Bernard".into(),
            "carol".into(),
        ],
    });
    app.ring = false;
    app
}

fn said(room: &str, sender: &str, body: &str, seq: u64) -> Event {
    Event::Message {
        room: room.into(),
        sender: sender.into(),
        body: body.into(),
        time: now_millis(),
        seq,
        own: false,
        history: false,
        action: false,
    }
}

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render(f, app)).unwrap();
    terminal
}

/// The row of the screen holding `text`, and the column where it starts.
fn find(terminal: &Terminal<TestBackend>, text: &str) -> (u16, u16) {
    let buffer = terminal.backend().buffer();
    for y in 0..buffer.area.height {
        let row: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        if let Some(at) = row.find(text) {
            return (y, row[..at].chars().count() as u16);
        }
    }
    panic!("{text:?} is not on the screen: {:?}", buffer);
}

#[test]
fn a_mention_is_highlighted_marked_and_rings_the_bell() {
    let mut app = logged_in();
    app.on_event(said("lobby", "bob", "nothing for malice", 1));
    assert!(!app.ring, "malice is not alice");
    app.on_event(said("lobby", "bob", "Alice, lunch?", 2));
    assert!(app.ring, "a mention rings the bell");
    let terminal = draw(&app, 80, 8);
    let buffer = terminal.backend().buffer();
    let (y, x) = find(&terminal, "bob: Alice");
    assert!(buffer[(x, y)].modifier.contains(Modifier::REVERSED));
    let (y, x) = find(&terminal, "bob: nothing");
    assert!(!buffer[(x, y)].modifier.contains(Modifier::REVERSED));

    // In another room it marks the room; the bell can be turned off.
    app.ring = false;
    app.bell = false;
    app.on_event(said("rust", "bob", "ping alice", 1));
    assert!(!app.ring, "--no-bell");
    let rust = app.buffers.iter().find(|b| b.name == "rust").unwrap();
    assert!(rust.mention && rust.unread == 1);
}

#[test]
fn a_direct_message_counts_as_a_mention_and_reply_answers_it() {
    let mut app = logged_in();
    app.on_event(Event::Direct {
        from: "carol".into(),
        to: "alice".into(),
        body: "psst".into(),
        time: now_millis(),
        own: false,
        history: false,
        action: false,
    });
    assert!(app.ring);
    let dm = app.buffers.iter().find(|b| b.name == "carol").unwrap();
    assert!(dm.mention && dm.unread == 1);
    assert_eq!(app.room(), Some("lobby"), "a DM does not steal the view");
    assert_eq!(
        enter(&mut app, "/r sure"),
        Some(Command::Direct {
            to: "carol".into(),
            body: "sure".into()
        })
    );
    assert_eq!(
        enter(&mut app, "/REPLY again"),
        Some(Command::Direct {
            to: "carol".into(),
            body: "again".into()
        })
    );
}

#[test]
fn query_opens_a_conversation_where_lines_go_to_that_user() {
    let mut app = logged_in();
    assert_eq!(enter(&mut app, "/query bob"), None);
    assert_eq!(app.room(), None);
    let terminal = draw(&app, 80, 6);
    find(&terminal, "@bob");
    assert_eq!(
        enter(&mut app, "hello"),
        Some(Command::Direct {
            to: "bob".into(),
            body: "hello".into()
        })
    );
    // /leave closes it; the buffer before it comes into view.
    assert_eq!(enter(&mut app, "/leave"), None);
    assert!(app.buffers.iter().all(|b| b.name != "bob"));
    assert_eq!(app.room(), Some("rust"));
}

#[test]
fn commands_are_case_insensitive() {
    let mut app = logged_in();
    assert_eq!(
        enter(&mut app, "/JOIN go"),
        Some(Command::Join { room: "go".into() })
    );
    assert_eq!(enter(&mut app, "/HELP"), None);
    let help = app
        .entries()
        .iter()
        .any(|e| format!("{e:?}").contains("/query USER"));
    assert!(help, "/HELP shows the help");
}

#[test]
fn tab_completes_names_commands_and_rooms_and_cycles() {
    let mut app = logged_in();
    type_text(&mut app, "b");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "Bernard: ", "at the line start: `name: `");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "bob: ", "again: the next one");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "Bernard: ", "round the list");
    type_text(&mut app, "see c");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "Bernard: see carol ");
    // The user is never offered.
    app.input.take();
    type_text(&mut app, "al");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "al");

    app.input.take();
    type_text(&mut app, "/jo");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "/join ");
    type_text(&mut app, "#r");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "/join #rust ");

    // Names from presence count too.
    app.on_event(Event::Presence {
        room: "lobby".into(),
        user: "zoë".into(),
        event: PresenceEvent::Joined,
        time: now_millis(),
    });
    app.input.take();
    type_text(&mut app, "/msg Z");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "/msg zoë ");
}

#[test]
fn alt_enter_writes_a_multi_line_message_shown_indented_under_its_header() {
    let mut app = logged_in();
    type_text(&mut app, "first");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT));
    type_text(&mut app, "second");
    let terminal = draw(&app, 60, 6);
    find(&terminal, "> first⏎second");
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(Command::Say {
            room: "lobby".into(),
            body: "first\nsecond".into()
        })
    );
    // Shift-Enter too, where the terminal reports it.
    type_text(&mut app, "a");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT));
    type_text(&mut app, "b");
    assert_eq!(app.input.text(), "a\nb");
    app.input.take();
    app.on_event(said("lobby", "bob", "one\ntwo\r\nthree\u{1b}[2J", 1));
    let terminal = draw(&app, 60, 8);
    let (y, x) = find(&terminal, "bob: one");
    let (y2, x2) = find(&terminal, "two");
    let (y3, x3) = find(&terminal, "three\u{FFFD}[2J");
    assert_eq!((y2, y3), (y + 1, y + 2), "each line on its own row");
    // Indented under the header: where the sender's name starts.
    assert_eq!((x2, x3), (x, x));
}

#[test]
fn urls_are_underlined() {
    let mut app = logged_in();
    app.on_event(said("lobby", "bob", "see https://example.org/x now", 1));
    let terminal = draw(&app, 80, 6);
    let buffer = terminal.backend().buffer();
    let (y, x) = find(&terminal, "https://");
    assert!(buffer[(x, y)].modifier.contains(Modifier::UNDERLINED));
    assert!(buffer[(x + 20, y)].modifier.contains(Modifier::UNDERLINED));
    let (y, x) = find(&terminal, "now");
    assert!(!buffer[(x, y)].modifier.contains(Modifier::UNDERLINED));
}

#[test]
fn me_sends_an_action_shown_as_star_sender_text() {
    // spec: ACTION-1
    let mut app = logged_in();
    assert_eq!(
        enter(&mut app, "/me waves"),
        Some(Command::Action {
            room: "lobby".into(),
            body: "waves".into()
        })
    );
    enter(&mut app, "/query bob");
    assert_eq!(
        enter(&mut app, "/ME nods"),
        Some(Command::DirectAction {
            to: "bob".into(),
            body: "nods".into()
        })
    );
    app.on_key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::ALT));
    app.on_event(Event::Message {
        room: "lobby".into(),
        sender: "carol".into(),
        body: "juggles".into(),
        time: now_millis(),
        seq: 1,
        own: false,
        history: false,
        action: true,
    });
    let terminal = draw(&app, 60, 6);
    let (y, x) = find(&terminal, "* carol juggles");
    let buffer = terminal.backend().buffer();
    assert!(buffer[(x + 8, y)].modifier.contains(Modifier::ITALIC));
}
