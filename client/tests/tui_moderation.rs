//! Moderation in the terminal UI on ratatui's TestBackend: the topic in the
//! room's header, actions and refusals as lines in the right buffer, a
//! kick of the user said once its room closes, and Tab for the commands.

mod tui_support;

use confab_client::command::{Command, Moderation};
use confab_client::event::Event;
use confab_client::moderation::{Asked, ModAction, Record, Role, RoomSettings, SettingsCause};
use confab_client::tui::{render, App, Entry};
use confab_protocol::ErrorCode;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::Terminal;
use tui_support::{enter, key, logged_in_app, row, screen, type_text};

fn settings(topic: &str, modes: u8, role: Role) -> RoomSettings {
    RoomSettings {
        room: "lobby".into(),
        topic: topic.into(),
        topic_by: "carol".into(),
        topic_at: 1_795_615_387_250,
        modes,
        member_limit: 0,
        role,
        founder: "carol".into(),
    }
}

fn kick(actor: &str, target: &str, reason: &str) -> Event {
    Event::Moderation(Record {
        id: 1,
        time: 1_795_615_387_250,
        action: ModAction::Kick,
        room: "lobby".into(),
        actor: actor.into(),
        target: target.into(),
        expires: 0,
        reason: reason.into(),
    })
}

/// The texts of the system lines of the buffer in view.
fn lines(app: &App) -> Vec<String> {
    app.entries()
        .iter()
        .filter_map(|e| match e {
            Entry::System { text, .. } => Some(text.clone()),
            Entry::Chat { .. } => None,
        })
        .collect()
}

#[test]
fn the_topic_heads_the_room_once_the_server_says_it() {
    let mut terminal = Terminal::new(TestBackend::new(50, 8)).unwrap();
    let mut app = logged_in_app();
    terminal.draw(|f| render(f, &app)).unwrap();
    // No header from a server without moderation: the layout is as before.
    assert!(
        !row(&terminal, 0).contains("#lobby"),
        "{:?}",
        screen(&terminal)
    );

    app.on_event(Event::RoomSettings {
        settings: settings("Rust talk: be kind", 0, Role::Operator),
        cause: SettingsCause::Joined,
    });
    terminal.draw(|f| render(f, &app)).unwrap();
    let header = row(&terminal, 0);
    assert!(
        header.starts_with(" #lobby [a room operator] │ Rust talk"),
        "{header}"
    );
    // The join says it too, with who set it.
    assert!(
        lines(&app)
            .iter()
            .any(|l| l.starts_with("topic: Rust talk: be kind (set by carol, ")),
        "{:?}",
        lines(&app)
    );
    // The input line is still the last row.
    type_text(&mut app, "hi");
    terminal.draw(|f| render(f, &app)).unwrap();
    assert_eq!(row(&terminal, 7), "> hi");

    // A change by someone else updates the header and says what changed.
    app.on_event(Event::RoomSettings {
        settings: settings("", 2, Role::Operator),
        cause: SettingsCause::Changed {
            by: "carol".into(),
            what: vec![confab_client::moderation::Change::Topic],
        },
    });
    terminal.draw(|f| render(f, &app)).unwrap();
    let header = row(&terminal, 0);
    assert!(
        header.contains("[+m]") && header.contains("no topic"),
        "{header}"
    );
    assert_eq!(
        lines(&app).last().unwrap(),
        "carol cleared the topic of #lobby"
    );
}

#[test]
fn a_kick_of_someone_else_is_a_line_in_the_room() {
    let mut app = logged_in_app();
    app.on_event(kick("carol", "bob", "spamming"));
    assert_eq!(
        lines(&app).last().unwrap(),
        "bob was kicked from #lobby by carol: spamming"
    );
}

#[test]
fn a_kick_of_the_user_is_said_where_they_look_once_the_room_closes() {
    let mut app = logged_in_app();
    app.bell = true;
    app.on_event(kick("carol", "alice", "enough"));
    app.on_event(Event::Left {
        room: "lobby".into(),
    });
    assert!(app.room().is_none(), "the room's buffer closed");
    let seen = lines(&app);
    assert_eq!(
        seen.last().unwrap(),
        "you were kicked from #lobby by carol: enough"
    );
    assert!(!seen.iter().any(|l| l == "left lobby"), "{seen:?}");
    assert!(app.ring, "a kick rings the bell");
}

#[test]
fn a_refusal_names_the_request_and_the_role() {
    let mut app = logged_in_app();
    let sent = enter(&mut app, "/kick bob spamming");
    let Some(Command::Moderate(request)) = sent else {
        panic!("{sent:?}");
    };
    assert_eq!(
        request,
        Moderation {
            action: ModAction::Kick,
            room: "lobby".into(),
            target: "bob".into(),
            duration_ms: 0,
            reason: "spamming".into(),
        }
    );
    app.on_event(Event::Refused {
        asked: Asked::Moderate(request),
        code: ErrorCode::NOT_PERMITTED,
        message: "kicking in #lobby needs room operator; you are a member".into(),
    });
    assert_eq!(
        lines(&app).last().unwrap(),
        "cannot kick bob: kicking in #lobby needs room operator; you are a member"
    );
}

#[test]
fn tab_completes_the_moderation_commands_and_then_nicks() {
    let mut app = logged_in_app();
    type_text(&mut app, "/to");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "/topic ");
    app.input.take();
    type_text(&mut app, "/ki");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "/kick ");
}

#[test]
fn help_lists_the_moderation_commands() {
    let mut app = logged_in_app();
    assert_eq!(enter(&mut app, "/help"), None);
    let help = lines(&app).join("\n");
    for command in ["/topic", "/kick", "/ban", "/mode", "/audit", "/announce"] {
        assert!(help.contains(command), "{command}");
    }
}
