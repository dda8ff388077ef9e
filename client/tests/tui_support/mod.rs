//! Helpers shared by the terminal UI tests on ratatui's TestBackend: an app
//! logged in, keys typed into it, and the screen read back as text. Not every
//! test binary uses every helper, hence the `dead_code` allowance.
#![allow(dead_code)]

use confab_client::command::Command;
use confab_client::event::Event;
use confab_client::tui::App;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use unicode_width::UnicodeWidthStr;

/// The text of row `y` as a terminal shows it: a wide cluster covers the
/// cell after it.
pub fn row(terminal: &Terminal<TestBackend>, y: u16) -> String {
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    let mut x = 0;
    while x < buffer.area.width {
        let symbol = buffer[(x, y)].symbol();
        text.push_str(symbol);
        x += symbol.width().max(1) as u16;
    }
    text.trim_end().to_string()
}

pub fn screen(terminal: &Terminal<TestBackend>) -> Vec<String> {
    (0..terminal.backend().buffer().area.height)
        .map(|y| row(terminal, y))
        .collect()
}

/// Now, in the server's time stamps: today's messages show the time only.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub fn joined(app: &mut App, room: &str, members: u32) {
    app.on_event(Event::Joined {
        room: room.into(),
        members,
    });
}

/// alice, connected and logged in, in lobby with one other.
pub fn logged_in_app() -> App {
    let mut app = App::new(None, false);
    app.on_event(Event::Connected {
        addr: "127.0.0.1:7667".into(),
        server: "confab-server".into(),
    });
    app.on_event(Event::LoggedIn {
        name: "alice".into(),
    });
    joined(&mut app, "lobby", 2);
    app
}

pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
}

/// Types `line` and presses Enter: what the app sends, if anything.
pub fn enter(app: &mut App, line: &str) -> Option<Command> {
    type_text(app, line);
    app.on_key(key(KeyCode::Enter))
}
