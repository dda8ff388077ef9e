//! The terminal UI drawn on ratatui's TestBackend: the input line stays
//! intact while messages arrive, resizing redraws, long lines wrap.

mod tui_support;

use confab_client::event::Event;
use confab_client::tui::{render, App};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use tui_support::{logged_in_app, now_millis, row, screen, type_text};

fn message(sender: &str, body: &str, n: u64) -> Event {
    Event::Message {
        room: "lobby".into(),
        sender: sender.into(),
        body: body.into(),
        time: now_millis() + n,
        seq: n,
        own: false,
        history: false,
        action: false,
    }
}

#[test]
fn the_input_line_survives_incoming_messages() {
    let mut terminal = Terminal::new(TestBackend::new(40, 8)).unwrap();
    let mut app = logged_in_app();
    type_text(&mut app, "half a sentence");
    for n in 0..50 {
        app.on_event(message("bob", &format!("message number {n}"), n));
        terminal.draw(|f| render(f, &app)).unwrap();
        assert_eq!(row(&terminal, 7), "> half a sentence", "after message {n}");
    }
    let screen = screen(&terminal);
    assert!(screen[5].ends_with("bob: message number 49"), "{screen:?}");
    assert!(screen[6].contains("#lobby · 2 here"), "{screen:?}");
    // The cursor sits after the typed text.
    terminal.backend_mut().assert_cursor_position((17, 7));
    // Enter sends exactly what was typed.
    let command = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        command,
        Some(confab_client::command::Command::Say {
            room: "lobby".into(),
            body: "half a sentence".into()
        })
    );
}

#[test]
fn long_lines_wrap_and_resize_redraws() {
    let mut terminal = Terminal::new(TestBackend::new(30, 8)).unwrap();
    let mut app = logged_in_app();
    let body = "a long message that cannot fit on one line of thirty columns";
    app.on_event(message("bob", body, 1));
    terminal.draw(|f| render(f, &app)).unwrap();
    let joined: String = screen(&terminal)[..6].join(" ");
    assert!(
        joined.contains(body),
        "wrapped text is all there: {:?}",
        screen(&terminal)
    );
    // Words are not cut: every row of the message ends at a word boundary.
    assert!(
        screen(&terminal).iter().any(|l| l == "of thirty columns"),
        "{:?}",
        screen(&terminal)
    );
    let wrapped_rows = screen(&terminal)[..6]
        .iter()
        .filter(|l| !l.is_empty())
        .count();
    // Wide enough for the room and member lists and the message on one row.
    terminal.backend_mut().resize(120, 8);
    terminal.draw(|f| render(f, &app)).unwrap();
    let wide = screen(&terminal);
    assert!(
        wide.iter().any(|l| l.contains(body)),
        "one row at 120 columns: {wide:?}"
    );
    // Rows of the message: those with its words (the side columns aside).
    let wide_rows = wide[..6].iter().filter(|l| l.contains("line")).count();
    assert!(
        wide_rows < wrapped_rows,
        "{wide_rows} rows wide vs {wrapped_rows} narrow"
    );
    assert_eq!(row(&terminal, 7), ">");
}

#[test]
fn escape_sequences_from_peers_are_neutralised() {
    // spec: SEC-5
    let mut terminal = Terminal::new(TestBackend::new(60, 6)).unwrap();
    let mut app = logged_in_app();
    app.on_event(message("mallory", "\u{1b}[2Jgotcha\u{7}", 1));
    terminal.draw(|f| render(f, &app)).unwrap();
    let text = screen(&terminal).concat();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
    assert!(
        text.contains("mallory: \u{FFFD}[2Jgotcha\u{FFFD}"),
        "{text}"
    );
}

#[test]
fn page_up_scrolls_back_and_name_prompt_logs_in() {
    let mut terminal = Terminal::new(TestBackend::new(40, 6)).unwrap();
    let mut app = App::new(None, false);
    app.on_event(Event::NameRequired {
        prompt: "Please send your username.".into(),
        rejected: None,
    });
    terminal.draw(|f| render(f, &app)).unwrap();
    assert_eq!(row(&terminal, 5), "name>");
    type_text(&mut app, "zoë");
    let command = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        command,
        Some(confab_client::command::Command::Login {
            name: "zoë".into(),
            account: None
        })
    );
    app.on_event(Event::LoggedIn {
        name: "zoë".into()
    });
    app.on_event(Event::Joined {
        room: "lobby".into(),
        members: 1,
    });
    for n in 0..30 {
        app.on_event(message("bob", &format!("line {n}"), n));
    }
    terminal.draw(|f| render(f, &app)).unwrap();
    assert!(row(&terminal, 3).ends_with("line 29"));
    app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    terminal.draw(|f| render(f, &app)).unwrap();
    assert!(
        row(&terminal, 3).ends_with("line 19"),
        "{:?}",
        screen(&terminal)
    );
    assert!(row(&terminal, 4).contains("↑10"));
    app.on_key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
    terminal.draw(|f| render(f, &app)).unwrap();
    assert!(row(&terminal, 3).ends_with("line 29"));
}

#[test]
fn ctrl_c_quits_and_history_recalls_sent_lines() {
    let mut app = logged_in_app();
    type_text(&mut app, "first");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    type_text(&mut app, "/who");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE));
    assert_eq!(app.input.text(), "/who");
    app.on_key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE));
    assert_eq!(app.input.text(), "first");
    app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    assert_eq!(app.input.text(), "/who");
    assert_eq!(
        app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(confab_client::command::Command::Quit)
    );
}

#[test]
fn register_at_the_name_prompt_asks_for_a_password_that_is_never_drawn() {
    let mut terminal = Terminal::new(TestBackend::new(50, 6)).unwrap();
    let mut app = App::new(None, false);
    app.on_event(Event::NameRequired {
        prompt: "Please send your username.".into(),
        rejected: None,
    });
    type_text(&mut app, "/register zoë");
    assert_eq!(
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        None
    );
    type_text(&mut app, "s3cret pass");
    terminal.draw(|f| render(f, &app)).unwrap();
    assert_eq!(row(&terminal, 5), "password>");
    assert!(!screen(&terminal).concat().contains("s3cret"));
    let command = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        command,
        Some(confab_client::command::Command::Login {
            name: "zoë".into(),
            account: Some(confab_client::command::Account {
                register: true,
                password: "s3cret pass".into()
            }),
        })
    );
    let debug = format!("{command:?}");
    assert!(
        !debug.contains("s3cret"),
        "passwords stay out of debug output: {debug}"
    );
    // The server made the account: the user is told so.
    app.on_event(Event::Registered {
        name: "zoë".into()
    });
    app.on_event(Event::LoggedIn {
        name: "zoë".into()
    });
    terminal.draw(|f| render(f, &app)).unwrap();
    let shown = screen(&terminal).concat();
    assert!(shown.contains("registered the account zoë"), "{shown}");
}

#[test]
fn emoji_sequences_are_drawn_whole_with_the_cursor_after_them() {
    let mut terminal = Terminal::new(TestBackend::new(40, 6)).unwrap();
    let mut app = logged_in_app();
    app.on_event(message("bob", "a family 👨‍👩‍👧 and a 👍🏽", 1));
    type_text(&mut app, "👍🏽👨‍👩‍👧x");
    terminal.draw(|f| render(f, &app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    // The input line: each cluster in one (wide) cell, the skin tone kept,
    // and the cursor right after what is drawn (not 2 + 6 + 4 columns on).
    assert_eq!(buffer[(2, 5)].symbol(), "👍🏽");
    assert_eq!(buffer[(4, 5)].symbol(), "👨‍👩‍👧");
    assert_eq!(buffer[(6, 5)].symbol(), "x");
    assert_eq!(row(&terminal, 5), "> 👍🏽👨‍👩‍👧x");
    terminal.backend_mut().assert_cursor_position((7, 5));
    let rows = screen(&terminal);
    assert!(
        rows.iter()
            .any(|r| r.ends_with("bob: a family 👨‍👩‍👧 and a 👍🏽")),
        "{rows:?}"
    );
}

#[test]
fn wrapping_never_cuts_a_cluster() {
    use ratatui::style::Style;
    // Ten columns hold the letters and the family (two columns), whole.
    let lines = confab_client::tui::wrap(&[("abcdefgh👨‍👩‍👧".into(), Style::new())], 10);
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(text, ["abcdefgh👨‍👩‍👧"]);
    let lines = confab_client::tui::wrap(&[("abcdefghi👍🏽".into(), Style::new())], 10);
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(text, ["abcdefghi", "👍🏽"]);
}

#[test]
fn scrolled_back_the_view_stays_put_and_counts_new_messages_below() {
    let mut terminal = Terminal::new(TestBackend::new(40, 8)).unwrap();
    let mut app = logged_in_app();
    for n in 0..30 {
        app.on_event(message("bob", &format!("line {n}"), n));
    }
    app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    terminal.draw(|f| render(f, &app)).unwrap();
    let before = screen(&terminal)[..6].to_vec();
    assert!(before[5].ends_with("line 19"), "{before:?}");
    // One short message and one that wraps to two lines arrive below.
    app.on_event(message("bob", "new one", 30));
    app.on_event(message("bob", &"long ".repeat(12), 31));
    terminal.draw(|f| render(f, &app)).unwrap();
    assert_eq!(screen(&terminal)[..6], before, "the view did not move");
    assert!(
        row(&terminal, 6).contains("2 new below"),
        "{:?}",
        screen(&terminal)
    );
    // Paging down shows them; at the bottom the count is gone.
    app.on_key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
    terminal.draw(|f| render(f, &app)).unwrap();
    let bottom = screen(&terminal);
    assert!(bottom[3].ends_with("bob: new one"), "{bottom:?}");
    assert!(!bottom[6].contains("new below"), "{bottom:?}");
}

#[test]
fn page_up_stops_at_the_oldest_line() {
    let mut terminal = Terminal::new(TestBackend::new(40, 8)).unwrap();
    let mut app = logged_in_app();
    for n in 0..12 {
        app.on_event(message("bob", &format!("line {n}"), n));
    }
    terminal.draw(|f| render(f, &app)).unwrap();
    for _ in 0..5 {
        app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
        terminal.draw(|f| render(f, &app)).unwrap();
    }
    let top = screen(&terminal);
    // The room's buffer begins with the join.
    assert!(top[0].contains("joined lobby"), "{top:?}");
    // One PageDown after more PageUps than there are lines moves the view at once.
    app.on_key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
    terminal.draw(|f| render(f, &app)).unwrap();
    assert_ne!(screen(&terminal)[..6], top[..6]);
}

#[test]
fn the_member_count_starts_afresh_after_a_reconnect() {
    use confab_protocol::frame::PresenceEvent;
    let mut terminal = Terminal::new(TestBackend::new(60, 4)).unwrap();
    let mut app = logged_in_app(); // lobby, 2 here: alice and bob
    for _restart in 0..3 {
        app.on_event(Event::Disconnected {
            reason: "the server closed the connection".into(),
            retry_in: Some(std::time::Duration::from_millis(500)),
        });
        app.on_event(Event::Connecting {
            addr: "127.0.0.1:7667".into(),
            attempt: 2,
        });
        app.on_event(Event::Connected {
            addr: "127.0.0.1:7667".into(),
            server: "confab-server".into(),
        });
        app.on_event(Event::LoggedIn {
            name: "alice".into(),
        });
        // alice is back first, then bob.
        app.on_event(Event::Joined {
            room: "lobby".into(),
            members: 1,
        });
        app.on_event(Event::Presence {
            room: "lobby".into(),
            user: "bob".into(),
            event: PresenceEvent::Joined,
            time: 1_795_615_387_250,
        });
    }
    terminal.draw(|f| render(f, &app)).unwrap();
    assert!(
        row(&terminal, 2).contains("#lobby · 2 here"),
        "{:?}",
        screen(&terminal)
    );
}

#[test]
fn the_status_bar_shows_messages_waiting_to_go_out() {
    let mut terminal = Terminal::new(TestBackend::new(60, 3)).unwrap();
    let mut app = logged_in_app();
    terminal.draw(|f| render(f, &app)).unwrap();
    assert!(!row(&terminal, 1).contains("queued"));
    app.on_event(Event::Outgoing {
        queued: 3,
        oldest: 0,
    });
    terminal.draw(|f| render(f, &app)).unwrap();
    assert!(
        row(&terminal, 1).starts_with(" ● connected │ 3 queued │"),
        "{:?}",
        screen(&terminal)
    );
}
