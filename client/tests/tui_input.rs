//! The terminal UI's input handling at the application level: pastes, keys
//! and the name prompt, fed events as the connection would.

mod tui_support;

use confab_client::command::Command;
use confab_client::event::Event;
use confab_client::tui::App;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_support::{enter, key, logged_in_app, type_text};

fn say(body: &str) -> Command {
    Command::Say {
        room: "lobby".into(),
        body: body.into(),
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

fn chord(c: char, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), modifiers)
}

const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;

#[test]
fn unbound_and_editing_chords_never_type_their_letter() {
    let mut app = logged_in_app();
    type_text(&mut app, "ab");
    for (c, m) in [
        ('l', CTRL),
        ('k', CTRL),
        ('b', CTRL),
        ('b', ALT),
        ('r', CTRL),
    ] {
        assert_eq!(app.on_key(chord(c, m)), None);
    }
    assert_eq!(app.input.text(), "ab");
    assert!(app.redraw, "Ctrl-L asks for a full redraw");
    for (c, m) in [('x', ALT), ('g', CTRL), ('q', CTRL | ALT)] {
        app.on_key(chord(c, m));
    }
    assert_eq!(app.input.text(), "ab");
}

#[test]
fn readline_keys_edit_the_line() {
    let mut app = logged_in_app();
    type_text(&mut app, "hello big world");
    app.on_key(chord('b', ALT)); // before "world"
    app.on_key(chord('b', CTRL)); // before the space
    app.on_key(chord('k', CTRL)); // kills " world"
    assert_eq!(app.input.text(), "hello big");
    app.on_key(chord('a', CTRL));
    app.on_key(chord('f', ALT)); // after "hello"
    app.on_key(chord('f', CTRL)); // after the space
    type_text(&mut app, "my ");
    assert_eq!(app.input.text(), "hello my big");
    // Ctrl-D with text deletes under the cursor, and does not quit.
    assert_eq!(app.on_key(chord('d', CTRL)), None);
    assert_eq!(app.input.text(), "hello my ig");
    app.on_key(chord('e', CTRL));
    app.on_key(chord('y', CTRL)); // yanks " world" back
    assert_eq!(app.input.text(), "hello my ig world");
    app.on_key(chord('u', CTRL));
    assert_eq!(app.input.text(), "");
    assert_eq!(app.on_key(chord('d', CTRL)), Some(Command::Quit));
}

#[test]
fn escape_puts_the_draft_aside_where_up_finds_it() {
    let mut app = logged_in_app();
    type_text(&mut app, "sent line");
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, "a long draft");
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.input.text(), "");
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.input.text(), "a long draft");
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.input.text(), "sent line");
    // ↓ past the newest brings back what was being written before ↑.
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.input.text(), "");
    type_text(&mut app, "unsent");
    app.on_key(key(KeyCode::Up));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.input.text(), "unsent");
}

#[test]
fn keys_move_and_delete_whole_grapheme_clusters() {
    let mut app = logged_in_app();
    type_text(&mut app, "👨‍👩‍👧x");
    app.on_key(key(KeyCode::Left));
    app.on_key(key(KeyCode::Left));
    type_text(&mut app, "Q");
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(say("Q👨‍👩‍👧x")),
        "Q goes before the whole family"
    );
    type_text(&mut app, "e\u{301}z");
    app.on_key(key(KeyCode::Left));
    app.on_key(key(KeyCode::Left));
    app.on_key(key(KeyCode::Backspace));
    assert_eq!(app.input.text(), "e\u{301}z", "nothing before é to delete");
    app.on_key(key(KeyCode::Right));
    app.on_key(key(KeyCode::Backspace));
    assert_eq!(app.input.text(), "z", "é goes whole, no lone accent");
}

fn system_texts(app: &App) -> Vec<String> {
    app.entries()
        .iter()
        .filter_map(|e| match e {
            confab_client::tui::Entry::System { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn at_name_prompt() -> App {
    let mut app = App::new(None, false);
    app.on_event(Event::NameRequired {
        prompt: "Please send your username.".into(),
        rejected: None,
    });
    app
}

#[test]
fn the_name_prompt_says_what_the_choices_are() {
    let app = at_name_prompt();
    let texts = system_texts(&app).join("\n");
    assert!(texts.contains("Please send your username."), "{texts}");
    for choice in ["/login NAME", "/register NAME", "guest"] {
        assert!(texts.contains(choice), "{choice} in {texts}");
    }
}

#[test]
fn commands_at_the_name_prompt_are_commands_not_names() {
    let mut app = at_name_prompt();
    assert_eq!(enter(&mut app, "/help"), None, "no login attempt");
    let texts = system_texts(&app).join("\n");
    assert!(texts.contains("/register NAME"), "{texts}");
    assert!(app.awaiting_name);
    assert_eq!(enter(&mut app, "/who"), None, "no login attempt either");
    assert!(system_texts(&app).last().unwrap().contains("/who"));
    assert_eq!(enter(&mut app, "/quit"), Some(Command::Quit));
    assert_eq!(
        enter(&mut app, "zoë"),
        Some(Command::Login {
            name: "zoë".into(),
            account: None
        })
    );
}

#[test]
fn a_wrong_password_is_called_a_wrong_password() {
    let mut app = at_name_prompt();
    assert_eq!(enter(&mut app, "/login alice"), None);
    let login = enter(&mut app, "not her password");
    assert!(matches!(
        login,
        Some(Command::Login {
            account: Some(_),
            ..
        })
    ));
    // What the connection reports for LOGIN_REJECTED AUTH_FAILED.
    app.on_event(Event::NameRequired {
        prompt: "Choose another name".into(),
        rejected: Some("wrong name or password (2 attempts left)".into()),
    });
    let texts = system_texts(&app);
    let last_two = texts[texts.len() - 2..].join("\n");
    assert!(
        last_two.contains("could not log in as alice: wrong name or password"),
        "{last_two}"
    );
    assert!(
        last_two.contains("/login alice to type the password again"),
        "{last_two}"
    );
    assert!(
        !texts.join("\n").contains("Choose another name"),
        "{texts:?}"
    );
    // A guest name refused is worded as such.
    enter(&mut app, "bob");
    app.on_event(Event::NameRequired {
        prompt: "Choose another name".into(),
        rejected: Some("the name is taken (1 attempts left)".into()),
    });
    let texts = system_texts(&app);
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("the name bob was refused")),
        "{texts:?}"
    );
}

#[test]
fn escape_at_the_password_prompt_goes_back_to_the_name_prompt() {
    let mut app = at_name_prompt();
    enter(&mut app, "/register zoë");
    type_text(&mut app, "half a pass");
    app.on_key(key(KeyCode::Esc));
    assert!(app.awaiting_password.is_none() && app.awaiting_name);
    assert_eq!(app.input.text(), "");
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.input.text(), "", "a password is never recalled");
    assert_eq!(
        enter(&mut app, "zoë"),
        Some(Command::Login {
            name: "zoë".into(),
            account: None
        })
    );
}

#[test]
fn help_lists_the_keys_too() {
    let mut app = logged_in_app();
    assert_eq!(enter(&mut app, "/help"), None);
    let texts = system_texts(&app).join("\n");
    for key in ["Ctrl-K", "Alt-B", "Esc", "Ctrl-L", "/join ROOM"] {
        assert!(texts.contains(key), "{key} in {texts}");
    }
}
