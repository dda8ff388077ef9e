//! Buffers per room and per conversation, drawn on ratatui's TestBackend:
//! the room list with unread counts and mention marks, switching keys, the
//! member list, the read marker and the day-change line.

mod tui_support;

use confab_client::command::Command;
use confab_client::event::Event;
use confab_client::tui::{render, App, READ_MARKER};
use confab_protocol::frame::PresenceEvent;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use tui_support::{enter, joined, key, logged_in_app, now_millis, screen};

/// alice, logged in, in lobby (in view), rust and ops.
fn three_rooms() -> App {
    let mut app = logged_in_app();
    joined(&mut app, "rust", 3);
    joined(&mut app, "ops", 2);
    app
}

fn said(room: &str, sender: &str, body: &str, seq: u64, history: bool) -> Event {
    Event::Message {
        room: room.into(),
        sender: sender.into(),
        body: body.into(),
        time: now_millis(),
        seq,
        own: false,
        history,
        action: false,
    }
}

fn alt(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT)
}

fn draw(app: &App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render(f, app)).unwrap();
    screen(&terminal)
}

#[test]
fn the_room_list_shows_unread_counts_and_mention_marks() {
    let mut app = three_rooms();
    for seq in 1..=3 {
        app.on_event(said("rust", "bob", &format!("borrowck {seq}"), seq, false));
    }
    app.on_event(said("ops", "carol", "ALICE: the pager is yours", 7, false));
    app.on_event(said("lobby", "bob", "in view, so read", 4, false));
    let rows = draw(&app, 80, 8);
    assert!(rows[0].starts_with(" 1 status      │"), "{rows:#?}");
    assert!(rows[1].starts_with(" 2 #lobby      │"), "{rows:#?}");
    assert!(rows[2].starts_with(" 3 #rust      3│"), "{rows:#?}");
    assert!(rows[3].starts_with(" 4 #ops      1!│"), "{rows:#?}");
    assert!(rows[5].ends_with("bob: in view, so read"), "{rows:#?}");
    assert!(rows[6].contains("#lobby · 2 here"), "{rows:#?}");

    // Alt-3 shows rust: its messages, and its count is gone.
    app.on_key(alt('3'));
    let rows = draw(&app, 80, 8);
    assert!(rows[2].starts_with(" 3 #rust       │"), "{rows:#?}");
    assert!(rows[5].ends_with("bob: borrowck 3"), "{rows:#?}");
    assert!(!rows.concat().contains("in view, so read"), "{rows:#?}");
    assert!(rows[6].contains("#rust · 3 here"), "{rows:#?}");

    // On a narrow terminal the status bar lists the buffers with activity.
    let rows = draw(&app, 50, 8);
    assert!(rows[6].contains("act 4!"), "{rows:#?}");
}

#[test]
fn unread_counts_come_from_sequence_numbers_and_are_exact_after_a_reconnect() {
    let mut app = three_rooms();
    // The backlog replayed on the first join is not "unread".
    for seq in 1..=5 {
        app.on_event(said("rust", "bob", "old", seq, true));
    }
    for seq in 6..=8 {
        app.on_event(said("rust", "bob", "live", seq, false));
    }
    let unread = |app: &App| app.buffers.iter().nth(2).unwrap().unread;
    assert_eq!(unread(&app), 3);
    // A reconnect: rejoined, the server replays from our last seq, one of
    // which (8) the client already had, and then live messages go on.
    app.on_event(Event::Disconnected {
        reason: "the server closed the connection".into(),
        retry_in: None,
    });
    joined(&mut app, "lobby", 2);
    joined(&mut app, "rust", 3);
    for seq in 8..=10 {
        app.on_event(said("rust", "bob", "missed", seq, true));
    }
    app.on_event(said("rust", "bob", "live again", 11, false));
    assert_eq!(unread(&app), 6, "6, 7, 8 live; 9, 10 replayed; 11 live");
    // The reconnect did not take the user out of the room in view.
    assert_eq!(app.room(), Some("lobby"));
}

#[test]
fn alt_digits_alt_arrows_and_ctrl_n_p_switch_buffers() {
    let mut app = three_rooms();
    assert_eq!(app.room(), Some("lobby"));
    app.on_key(alt('4'));
    assert_eq!(app.room(), Some("ops"));
    app.on_key(KeyEvent::new(KeyCode::Left, KeyModifiers::ALT));
    assert_eq!(app.room(), Some("rust"));
    app.on_key(KeyEvent::new(KeyCode::Right, KeyModifiers::ALT));
    assert_eq!(app.room(), Some("ops"));
    app.on_key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL));
    assert_eq!(app.room(), None, "round the list to the status buffer");
    app.on_key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL));
    assert_eq!(app.room(), Some("ops"));
    app.on_key(alt('9'));
    assert_eq!(app.room(), Some("ops"), "no buffer 9: nothing changes");
    // What is typed goes to the room in view.
    app.on_key(alt('3'));
    for c in "hi".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(Command::Say {
            room: "rust".into(),
            body: "hi".into()
        })
    );
}

#[test]
fn join_brings_the_room_into_view() {
    let mut app = three_rooms();
    assert_eq!(
        enter(&mut app, "/join go"),
        Some(Command::Join { room: "go".into() })
    );
    assert_eq!(app.room(), Some("lobby"), "not yet joined");
    joined(&mut app, "go", 1);
    assert_eq!(app.room(), Some("go"));
    // A room already joined comes into view without asking the server.
    assert_eq!(enter(&mut app, "/join rust"), None);
    assert_eq!(app.room(), Some("rust"));
    // Leaving closes the buffer.
    app.on_event(Event::Left {
        room: "rust".into(),
    });
    assert!(app.buffers.iter().all(|b| b.name != "rust"));
}

#[test]
fn the_member_list_agrees_with_the_status_bar_and_follows_presence() {
    let mut app = three_rooms();
    // The UI asks for each joined room's members itself, and does not print the answer.
    assert!(app.requests.contains(&Command::Members {
        room: "lobby".into()
    }));
    app.on_event(Event::Who {
        room: "lobby".into(),
        users: vec!["alice".into(), "bob".into()],
    });
    // Listed once in the room, as a line, not as an answer to a /who.
    let text = format!("{:?}", app.entries());
    assert!(text.contains("here: alice, bob"), "{text}");
    let presence = |user: &str, event| Event::Presence {
        room: "lobby".into(),
        user: user.into(),
        event,
        time: now_millis(),
    };
    app.on_event(presence("carol", PresenceEvent::Joined));
    app.on_event(presence("dave", PresenceEvent::Joined));
    app.on_event(presence("bob", PresenceEvent::Disconnected));
    // Another join of a name already listed (a second connection) adds nobody.
    app.on_event(presence("carol", PresenceEvent::Joined));
    let rows = draw(&app, 100, 8);
    assert!(rows[6].contains("#lobby · 3 here"), "{rows:#?}");
    let list: Vec<&str> = rows[..4]
        .iter()
        .map(|r| r.rsplit('│').next().unwrap().trim())
        .collect();
    assert_eq!(list, ["3 here", "alice", "carol", "dave"], "{rows:#?}");
    assert!(!rows.concat().contains("in lobby (2)"), "{rows:#?}");

    // F2 hides it; narrow terminals never show it.
    app.on_key(key(KeyCode::F(2)));
    let rows = draw(&app, 100, 8);
    assert!(!rows[1].ends_with("alice"), "{rows:#?}");
    app.on_key(key(KeyCode::F(2)));
    let rows = draw(&app, 70, 8);
    assert!(!rows[1].ends_with("alice"), "{rows:#?}");
}

#[test]
fn the_read_marker_shows_what_arrived_since_the_user_last_looked() {
    let mut app = three_rooms();
    app.on_key(alt('3'));
    app.on_event(said("rust", "bob", "seen before", 1, false));
    app.on_key(alt('2')); // away from rust
    app.on_event(said("rust", "bob", "new while away", 2, false));
    app.on_key(alt('3'));
    let rows = draw(&app, 60, 8);
    let at = |text: &str| rows.iter().position(|r| r.contains(text)).unwrap();
    assert!(at("seen before") < at(READ_MARKER), "{rows:#?}");
    assert!(at(READ_MARKER) < at("new while away"), "{rows:#?}");
    // Looked at and left again: nothing new, no marker.
    app.on_key(alt('2'));
    app.on_key(alt('3'));
    let rows = draw(&app, 60, 8);
    assert!(!rows.concat().contains(READ_MARKER), "{rows:#?}");
}

#[test]
fn a_day_change_line_separates_days_and_old_messages_show_their_date() {
    let mut app = three_rooms();
    // 2026-11-24 23:59 and 2026-11-25 00:01 UTC, replayed (--utc for a fixed zone).
    let mut app_utc = App::new(None, true);
    app_utc.on_event(Event::LoggedIn {
        name: "alice".into(),
    });
    joined(&mut app_utc, "lobby", 2);
    for (seq, time, body) in [
        (1, 1_795_564_740_000, "late"),
        (2, 1_795_564_860_000, "early"),
    ] {
        app_utc.on_event(Event::Message {
            room: "lobby".into(),
            sender: "bob".into(),
            body: body.into(),
            time,
            seq,
            own: false,
            history: true,
            action: false,
        });
    }
    let rows = draw(&app_utc, 80, 8);
    let at = |text: &str| rows.iter().position(|r| r.contains(text)).unwrap();
    assert!(
        at("late") < at("── Wednesday 25 November 2026 ──"),
        "{rows:#?}"
    );
    assert!(at("Wednesday") < at("early"), "{rows:#?}");
    assert!(rows[at("late")].contains("2026-11-24T23:59:00.000Z"));

    // Local time: today's message shows the time only, an older one the date.
    app.on_event(Event::Message {
        room: "lobby".into(),
        sender: "bob".into(),
        body: "three days ago".into(),
        time: now_millis() - 3 * 86_400_000,
        seq: 1,
        own: false,
        history: true,
        action: false,
    });
    app.on_event(said("lobby", "bob", "just now", 2, false));
    let rows = draw(&app, 80, 8);
    let old = rows.iter().find(|r| r.contains("three days ago")).unwrap();
    let new = rows.iter().find(|r| r.contains("just now")).unwrap();
    let date = |r: &str| r.split('│').nth(1).unwrap().trim().to_string();
    assert!(
        date(old).chars().nth(4) == Some('-'),
        "{old}: starts with the date"
    );
    assert_eq!(date(new).chars().nth(2), Some(':'), "{new}: the time only");
    assert!(
        rows.iter().any(|r| r.contains("──")),
        "a day change between them"
    );
}
