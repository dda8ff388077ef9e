//! The interactive terminal UI (ratatui + crossterm). The terminal is always
//! restored: on exit, on error and on panic.

mod app;
mod buffers;
mod commands;
mod completion;
mod input;
mod keys;
mod moderation;
mod panes;
mod prompt;
mod render;
mod route;
mod scroll;
mod settle;

pub use app::{App, Connection, Entry, SystemKind};
pub use buffers::{Buffer, Kind};
pub use render::{entry_lines, name_colour, render, wrap, READ_MARKER};
pub use route::mentions;

use std::io;
use std::process::ExitCode;

use ratatui::crossterm::event::{
    self, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event as TermEvent,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::style::Print;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::prelude::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

use crate::command::Command;
use crate::connection::Handle;
use crate::exit;

/// Leaves raw mode and the alternate screen when dropped.
struct TerminalGuard;

/// xterm's alternate-scroll mode: without mouse capture, the wheel sends
/// ↑/↓ in the alternate screen, so the terminal keeps drag-to-select and
/// URL clicks and the wheel still moves something.
const ALTERNATE_SCROLL_ON: &str = "\x1b[?1007h";
const ALTERNATE_SCROLL_OFF: &str = "\x1b[?1007l";

impl TerminalGuard {
    /// `mouse`: capture the mouse (`--mouse`); off by default.
    fn enter(mouse: bool) -> io::Result<Self> {
        enable_raw_mode()?;
        let guard = TerminalGuard;
        execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)?;
        if mouse {
            execute!(io::stdout(), EnableMouseCapture)?;
        } else {
            execute!(io::stdout(), Print(ALTERNATE_SCROLL_ON))?;
        }
        Ok(guard)
    }
}

fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        Print(ALTERNATE_SCROLL_OFF),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen
    );
}

/// How the terminal UI behaves, from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The room to bring into view (`--room`).
    pub room: Option<String>,
    pub utc: bool,
    /// The connection speaks TLS, as the status bar says.
    pub encrypted: bool,
    /// Do not ring the bell on mentions (`--no-bell`).
    pub no_bell: bool,
    /// Capture the mouse for wheel scrolling (`--mouse`).
    pub mouse: bool,
}

/// What one terminal event asks of the connection.
fn on_terminal(app: &mut App, input: TermEvent) -> Vec<Command> {
    match input {
        TermEvent::Key(key) => app.on_key(key).into_iter().collect(),
        TermEvent::Paste(text) => app.on_paste(&text),
        TermEvent::Mouse(mouse) => {
            app.on_mouse(mouse);
            Vec::new()
        }
        _ => Vec::new(), // resize: the next draw adapts
    }
}

/// Hands a command to the connection, still taking its events meanwhile so
/// neither side can wait on the other with both channels full.
async fn dispatch(handle: &mut Handle, app: &mut App, command: Command) -> Result<(), ()> {
    let permit = loop {
        tokio::select! {
            permit = handle.commands.reserve() => break permit.map_err(|_| ())?,
            event = handle.events.recv() => app.on_event(event.ok_or(())?),
        }
    };
    permit.send(command);
    Ok(())
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

pub async fn run(mut handle: Handle, options: Options) -> ExitCode {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous_hook(info);
    }));
    let guard = match TerminalGuard::enter(options.mouse) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("confab: cannot set up the terminal ({e}); try --plain");
            return ExitCode::FAILURE;
        }
    };
    let mut terminal = match Terminal::new(CrosstermBackend::new(io::stdout())) {
        Ok(terminal) => terminal,
        Err(e) => {
            drop(guard);
            eprintln!("confab: cannot draw on the terminal: {e}");
            return ExitCode::FAILURE;
        }
    };

    // crossterm's reader blocks: it gets a thread of its own.
    let (term_tx, mut term_rx) = mpsc::channel(256);
    std::thread::spawn(move || {
        while let Ok(event) = event::read() {
            if term_tx.blocking_send(event).is_err() {
                break;
            }
        }
    });

    let mut app = App::new(options.room, options.utc);
    app.encrypted = options.encrypted;
    app.bell = !options.no_bell;
    let mut quitting = false;
    let mut input_ended = false;
    let outcome = 'session: loop {
        if std::mem::take(&mut app.redraw) {
            // Ctrl-L: whatever else wrote on the terminal goes away.
            let _ = terminal.clear();
        }
        let drawn = terminal.draw(|frame| {
            render(frame, &app);
            settle::settle_uncertain_widths(frame.buffer_mut());
        });
        if let Err(e) = drawn {
            break Err(format!("cannot draw on the terminal: {e}"));
        }
        if std::mem::take(&mut app.ring) {
            // A mention: the terminal's bell (visual or audible, as the user set it up).
            let _ = execute!(io::stdout(), Print("\x07"));
        }
        if let Some((clean, reason)) = app.finished.clone() {
            break if clean { Ok(()) } else { Err(reason) };
        }
        let mut commands = Vec::new();
        tokio::select! {
            event = handle.events.recv() => match event {
                Some(event) => app.on_event(event),
                None => break Err("the connection task ended".into()),
            },
            input = term_rx.recv(), if !input_ended => match input {
                Some(input) => commands.extend(on_terminal(&mut app, input)),
                None => {
                    // The terminal is gone: say goodbye, then wait for Closed.
                    input_ended = true;
                    commands.push(Command::Quit);
                }
            },
        }
        // Everything already pending is handled before the next draw: a
        // burst of keys costs one draw, not one per key.
        while let Ok(input) = term_rx.try_recv() {
            commands.extend(on_terminal(&mut app, input));
        }
        while let Ok(event) = handle.events.try_recv() {
            app.on_event(event);
        }
        // What the UI asks by itself (member lists) goes after the user's own.
        commands.append(&mut app.requests);
        for command in commands {
            // Nothing goes out after the goodbye (a paste or burst may hold more).
            if quitting {
                break;
            }
            quitting = command == Command::Quit;
            if dispatch(&mut handle, &mut app, command).await.is_err() {
                break 'session match app.finished.clone() {
                    Some((true, _)) => Ok(()),
                    Some((false, reason)) => Err(reason),
                    None => Err("the connection task ended".into()),
                };
            }
        }
    };
    drop(terminal);
    drop(guard);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("confab: {reason}");
            ExitCode::from(exit::CONNECTION_LOST)
        }
    }
}
