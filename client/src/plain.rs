//! Plain mode: lines from stdin are sent (a line starting with `/` is a
//! command), and every event is printed as a line (a few as several) on stdout. This is what
//! scripts and tests use. The format is documented in the README:
//!
//! ```text
//! [2026-11-25 14:03:07] alice: hello           a message in the current room
//! [2026-11-25 14:03:07] #rust alice: hello     a message in another room
//! [2026-11-25 14:03:07] alice -> bob: psst     a direct message
//! *** bob joined lobby                         anything else, such as
//! *** topic: Rust talk (set by alice, …)        a room's topic, after joining it
//! *** bob was kicked from #rust by alice: spam  moderation (spec section 21)
//! ```
//! Own messages are not printed (the script knows what it sent); with
//! `--utc` time stamps are ISO-8601 in UTC.

use std::collections::VecDeque;
use std::io::Write;
use std::process::ExitCode;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::command::{self, Command, Input};
use crate::connection::Handle;
use crate::event::Event;
use crate::exit;
use crate::format::{body_lines, sanitize, timestamp, TimeStyle};
use crate::view::{self, moderation, Focus, View};

pub struct PlainOptions {
    pub time: TimeStyle,
    /// The name came from --name: a refusal ends the client instead of asking stdin.
    pub name_given: bool,
    /// The room lines go to; the server's default room when `None`.
    pub preferred_room: Option<String>,
}

struct State {
    options: PlainOptions,
    /// What plain mode decides as the terminal UI does.
    view: View,
    /// The room lines go to.
    room: Option<String>,
    stdin_open: bool,
    /// A room was joined once: lines have somewhere to go.
    joined_once: bool,
    /// Input lines read so far.
    line_no: u64,
    /// Messages handed to the connection so far (the connection numbers
    /// them the same way, see `Event::NotSent`).
    messages: u64,
    /// The input line of each message not yet settled, oldest first. The
    /// connection's bounded queue and command channel bound it.
    unsettled: VecDeque<(u64, u64)>,
    /// Rooms with a /history answer to come: an empty answer is worth saying.
    history_asked: Vec<String>,
}

pub async fn run(mut handle: Handle, options: PlainOptions) -> ExitCode {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut state = State {
        view: View::new(options.preferred_room.clone()),
        options,
        room: None,
        stdin_open: true,
        joined_once: false,
        line_no: 0,
        messages: 0,
        unsettled: VecDeque::new(),
        history_asked: Vec::new(),
    };
    let mut out = std::io::stdout();
    // A command read but not yet taken by the connection (its queue is full).
    let mut pending: Option<Command> = None;
    loop {
        // Lines wait until there is a room to send them to; after that they
        // are read also while reconnecting (the connection queues messages),
        // so the end of input is seen. While the connection's queue is full
        // no line is read, but events still are: the connection must never
        // wait on us while we wait on it.
        let want_input = pending.is_none()
            && state.stdin_open
            && (state.joined_once || state.view.awaiting_name);
        tokio::select! {
            biased;
            event = handle.events.recv() => {
                let Some(event) = event else {
                    return ExitCode::from(exit::CONNECTION_LOST);
                };
                if let Some(code) = on_event(&mut state, event, &mut out, &handle).await {
                    return code;
                }
            }
            permit = handle.commands.reserve(), if pending.is_some() => {
                let (Ok(permit), Some(command)) = (permit, pending.take()) else {
                    return ExitCode::from(exit::CONNECTION_LOST);
                };
                permit.send(command);
            }
            line = lines.next_line(), if want_input => {
                pending = match line {
                    Ok(Some(line)) => on_line(&mut state, &line, &mut out),
                    // End of input: leave cleanly after our messages are acknowledged.
                    Ok(None) | Err(_) => Some(Command::Quit),
                };
                if pending == Some(Command::Quit) {
                    // Nothing after /quit or the end of input is sent.
                    state.stdin_open = false;
                }
            }
        }
    }
}

fn on_line(state: &mut State, line: &str, out: &mut impl Write) -> Option<Command> {
    state.line_no += 1;
    let command = parse_line(state, line, out)?;
    if let Command::History { room, .. } = &command {
        state.history_asked.push(room.to_lowercase());
    }
    if matches!(command, Command::Say { .. } | Command::Direct { .. }) {
        state.messages += 1;
        state.unsettled.push_back((state.messages, state.line_no));
    }
    Some(command)
}

fn parse_line(state: &mut State, line: &str, out: &mut impl Write) -> Option<Command> {
    if state.view.awaiting_name {
        state.view.name_entered();
        return Some(Command::Login {
            name: line.trim().to_string(),
            account: None,
        });
    }
    let room = state.room.clone().unwrap_or_default();
    let focus = state.room.as_deref().map_or(Focus::Nowhere, Focus::Room);
    match command::parse(line, &room) {
        Ok(Input::Command(command)) => match state.view.aim(command, focus) {
            Ok(command) => Some(command),
            Err(view::Nowhere) => {
                let _ = writeln!(out, "*** error: you are in no room: /join ROOM first");
                None
            }
        },
        Ok(Input::Help(text)) => {
            for line in text.lines() {
                let _ = writeln!(out, "*** {line}");
            }
            None
        }
        Ok(Input::Nothing) => None,
        Err(usage) => {
            let _ = writeln!(out, "*** error: {usage}");
            None
        }
    }
}

async fn on_event(
    state: &mut State,
    event: Event,
    out: &mut impl Write,
    handle: &Handle,
) -> Option<ExitCode> {
    let time_style = state.options.time;
    let line = match event {
        Event::Connecting { .. } => return None,
        Event::Connected { addr, server } => {
            state.view.connected();
            format!("*** connected to {addr} ({})", sanitize(&server))
        }
        Event::NameRequired { prompt, rejected } => {
            state.view.name_required(&prompt, rejected.is_some());
            if let Some(reason) = rejected {
                if state.options.name_given {
                    eprintln!("confab: name refused: {reason}");
                    let _ = handle.commands.send(Command::Quit).await;
                    return Some(ExitCode::from(exit::NAME_REFUSED));
                }
                let _ = writeln!(out, "*** name refused: {reason}");
            }
            if prompt.is_empty() {
                // That was the last attempt: the server closes the connection.
                return None;
            }
            format!("*** {}", sanitize(&prompt))
        }
        Event::Registered { name } => {
            format!("*** registered the account {}", sanitize(&name))
        }
        Event::LoggedIn { name } => {
            state.view.logged_in(&name);
            format!("*** logged in as {}", sanitize(&name))
        }
        Event::Joined { room, members } => {
            state.joined_once = true;
            // Lines go to the room asked for with --room or /join, else the first one joined.
            if state.view.joined(&room, state.room.is_none()) {
                state.room = Some(room.clone());
            }
            format!("*** {}", sanitize(&view::joined(&room, members)))
        }
        Event::Left { room } => {
            if state.room.as_deref() == Some(room.as_str()) {
                state.room = None;
            }
            format!("*** left {}", sanitize(&room))
        }
        // Own messages are never printed, replayed ones neither: the script
        // knows what it sent.
        Event::Message { own: true, .. } | Event::Direct { own: true, .. } => return None,
        Event::Message {
            room,
            sender,
            body,
            time,
            action,
            ..
        } => {
            let where_ = if state.room.as_deref() == Some(room.as_str()) {
                String::new()
            } else {
                format!("#{} ", sanitize(&room))
            };
            let stamp = format!("[{}] ", timestamp(time, time_style));
            // Later lines of a multi-line body sit under the sender (`[BODY-1]`).
            let body = body_lines(&body, &" ".repeat(stamp.chars().count()));
            let sender = sanitize(&sender);
            if action {
                // spec: ACTION-1
                format!("{stamp}{where_}* {sender} {body}")
            } else {
                format!("{stamp}{where_}{sender}: {body}")
            }
        }
        Event::Direct {
            from,
            to,
            body,
            time,
            action,
            ..
        } => {
            let stamp = format!("[{}] ", timestamp(time, time_style));
            let body = body_lines(&body, &" ".repeat(stamp.chars().count()));
            let (from, to) = (sanitize(&from), sanitize(&to));
            if action {
                format!("{stamp}{from} -> {to}: * {from} {body}")
            } else {
                format!("{stamp}{from} -> {to}: {body}")
            }
        }
        Event::Presence {
            room, user, event, ..
        } => format!("*** {}", sanitize(&view::presence(&user, event, &room))),
        Event::Rooms(rooms) => return print_all(out, &moderation::room_list(&rooms)),
        Event::RoomSettings { settings, cause } => {
            let me = state.view.name().unwrap_or_default();
            return print_all(
                out,
                &moderation::settings(&settings, &cause, me, time_style),
            );
        }
        Event::Moderation(record) => {
            let me = state.view.name().unwrap_or_default();
            format!("*** {}", sanitize(&moderation::record(&record, me)))
        }
        Event::Audit {
            room,
            entries,
            older,
        } => {
            let me = state.view.name().unwrap_or_default();
            return print_all(
                out,
                &moderation::audit(&room, &entries, older, me, time_style),
            );
        }
        Event::Refused {
            asked,
            code,
            message,
        } => format!(
            "*** error: {}",
            sanitize(&moderation::refused(&asked, code, &message))
        ),
        Event::Who { room, users } => {
            let users: Vec<String> = users.iter().map(|u| sanitize(u)).collect();
            let scope = if room.is_empty() {
                "online".to_string()
            } else {
                format!("in {}", sanitize(&room))
            };
            format!("*** {scope}: {}", users.join(", "))
        }
        Event::HistoryEnd {
            count,
            more,
            target,
            resumed,
        } => {
            let asked = state
                .history_asked
                .iter()
                .position(|r| *r == target.to_lowercase())
                .map(|i| state.history_asked.remove(i))
                .is_some();
            if count == 0 {
                // A join with nothing replayed says nothing; a /history does.
                if !asked {
                    return None;
                }
                return print(
                    out,
                    &format!("*** no earlier messages of {}", sanitize(&target)),
                );
            }
            let messages = if count == 1 { "message" } else { "messages" };
            let room = sanitize(&target);
            let what = match resumed && !asked {
                true => format!("{count} {messages} of {room} missed while reconnecting"),
                false => format!("{count} earlier {messages} of {room}"),
            };
            format!("*** {what}{}", if more { " (more available)" } else { "" })
        }
        Event::Missed { room, from, to } => format!(
            "*** missed messages {from}..={to} of {}; fetching them",
            sanitize(&room)
        ),
        Event::Notice { text } => format!("*** notice: {}", sanitize(&text)),
        Event::Error { text } => format!("*** error: {}", sanitize(&text)),
        Event::Outgoing { oldest, .. } => {
            while state.unsettled.front().is_some_and(|(n, _)| *n < oldest) {
                state.unsettled.pop_front();
            }
            return None;
        }
        Event::NotSent {
            n, target, reason, ..
        } => {
            let line = state.unsettled.iter().find(|(m, _)| *m == n).map_or_else(
                || format!("message {n}"),
                |(_, line)| format!("line {line}"),
            );
            let _ = out.flush();
            eprintln!(
                "confab: {line} not sent to {}: {}",
                sanitize(&target.to_string()),
                sanitize(&reason)
            );
            return None;
        }
        Event::Disconnected { reason, retry_in } => {
            // The first loss says why; each failed attempt after it is one short line.
            let already = !state.view.disconnected();
            match retry_in {
                Some(delay) if already => format!(
                    "*** reconnect failed: {}; next try in {:.1}s",
                    sanitize(&reason),
                    delay.as_secs_f32()
                ),
                Some(delay) => format!(
                    "*** disconnected: {}; reconnecting in {:.1}s",
                    sanitize(&reason),
                    delay.as_secs_f32()
                ),
                None => format!("*** disconnected: {}", sanitize(&reason)),
            }
        }
        Event::Closed { reason, clean } => {
            let _ = out.flush();
            if clean {
                return Some(ExitCode::SUCCESS);
            }
            eprintln!("confab: {reason}");
            return Some(ExitCode::from(state.view.exit_code(false)));
        }
    };
    print(out, &line)
}

/// System lines, each as `*** line`.
fn print_all(out: &mut impl Write, lines: &[String]) -> Option<ExitCode> {
    for line in lines {
        let _ = writeln!(out, "*** {}", sanitize(line));
    }
    let _ = out.flush();
    None
}

fn print(out: &mut impl Write, line: &str) -> Option<ExitCode> {
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    None
}
