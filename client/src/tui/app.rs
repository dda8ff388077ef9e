//! The terminal UI's state: scrollback, input line, status, and how keys and
//! connection events change them. No terminal I/O here, so it is testable.

use std::collections::VecDeque;

use ratatui::crossterm::event::{MouseEvent, MouseEventKind};

use super::buffers::{Buffers, Kind};
use super::completion::Completion;
use super::input::InputLine;
use super::prompt::Attempt;
use super::scroll::Scrollback;
use crate::command::{self, Command, Input};
use crate::event::Event;
use crate::format::{sanitize, TimeStyle};
use crate::view::{Focus, Nowhere, View};

/// Lines moved by the mouse wheel.
const WHEEL: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Chat {
        time: String,
        sender: String,
        body: String,
        own: bool,
        /// The message mentions the user (or is a direct message to them).
        highlight: bool,
        /// `/me`: drawn as `* sender body` (`[ACTION-1]`).
        action: bool,
    },
    System {
        text: String,
        kind: SystemKind,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemKind {
    Info,
    Presence,
    Error,
    /// The date changed between two messages.
    Day,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    Reconnecting,
    Closed,
}

pub struct App {
    /// Status, rooms and direct conversations, each with its scrollback.
    pub buffers: Buffers,
    pub input: InputLine,
    /// Lines sent (and drafts put aside with Esc), for ↑ and ↓.
    pub(super) sent: Vec<String>,
    /// The entry of `sent` shown, and the draft that ↓ past the newest restores.
    pub(super) recall: Option<(usize, String)>,
    /// Tab pressed: the completions offered and which one is shown.
    pub(super) completion: Option<Completion>,
    /// Ctrl-L: clear and redraw the whole terminal.
    pub redraw: bool,
    pub connection: Connection,
    /// Messages sent but not yet acknowledged (the connection's send queue).
    pub queued: usize,
    /// The connection speaks TLS (`--tls`/`--ca`), shown in the status bar.
    pub encrypted: bool,
    pub server: String,
    /// What the terminal UI decides as plain mode does (the name prompt,
    /// the room a join brings into view, where a message goes); `App`
    /// reads as it (`app.awaiting_name`).
    pub(super) view: View,
    /// After `/login NAME` or `/register NAME`: the next line is the password.
    pub awaiting_password: Option<(String, bool)>,
    /// The last login asked for at the prompt, to word its refusal.
    pub(super) attempt: Option<Attempt>,
    pub(super) time_style: TimeStyle,
    /// The member list beside the messages (toggled with F2; only drawn
    /// when the terminal is wide enough).
    pub show_members: bool,
    /// Ring the terminal bell on a mention (`--no-bell` turns it off).
    pub bell: bool,
    /// A mention arrived: the next draw rings the bell.
    pub ring: bool,
    /// Requests the UI makes by itself (the member list of a joined room),
    /// for the event loop to hand to the connection.
    pub requests: Vec<Command>,
    /// Rooms whose WHO answer fills the member list without being printed.
    pub(super) quiet_who: Vec<String>,
    /// Rooms named by the last `/rooms`, for Tab.
    pub(super) known_rooms: Vec<String>,
    /// The other user of the last direct message received, for `/reply`.
    pub(super) last_direct: Option<String>,
    /// Rooms (lower case) the user was removed from, and how it reads:
    /// said when their LEFT closes the buffer.
    pub(super) removals: Vec<(String, String)>,
    /// Set once the session is over: (clean, reason).
    pub finished: Option<(bool, String)>,
}

impl App {
    pub fn new(preferred_room: Option<String>, utc: bool) -> Self {
        App {
            buffers: Buffers::default(),
            input: InputLine::default(),
            sent: Vec::new(),
            recall: None,
            completion: None,
            redraw: false,
            connection: Connection::Connecting,
            encrypted: false,
            queued: 0,
            server: String::new(),
            view: View::new(preferred_room),
            awaiting_password: None,
            attempt: None,
            time_style: if utc {
                TimeStyle::Utc
            } else {
                TimeStyle::Local
            },
            show_members: true,
            bell: true,
            ring: false,
            requests: Vec::new(),
            quiet_who: Vec::new(),
            known_rooms: Vec::new(),
            last_direct: None,
            removals: Vec::new(),
            finished: None,
        }
    }

    /// The entries of the buffer in view.
    pub fn entries(&self) -> &VecDeque<Entry> {
        &self.buffers.focused().entries
    }

    pub fn scroll(&self) -> &Scrollback {
        &self.buffers.focused().scroll
    }

    /// The room in view, if the buffer in view is a room.
    pub fn room(&self) -> Option<&str> {
        let buffer = self.buffers.focused();
        (buffer.kind == Kind::Room).then_some(buffer.name.as_str())
    }

    /// A line for the user in the buffer in view.
    pub fn system(&mut self, kind: SystemKind, text: impl Into<String>) {
        let index = self.buffers.focused_index();
        self.system_in(index, kind, text);
    }

    pub(super) fn system_in(&mut self, index: usize, kind: SystemKind, text: impl Into<String>) {
        self.buffers.at(index).push(Entry::System {
            text: sanitize(&text.into()),
            kind,
        });
    }

    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Connecting { addr, attempt } => {
                self.server = addr.clone();
                if attempt == 1 {
                    self.system(SystemKind::Info, format!("connecting to {addr}…"));
                }
            }
            Event::Connected { addr, server } => {
                self.connection = Connection::Connected;
                self.view.connected();
                self.system(SystemKind::Info, format!("connected to {addr} ({server})"));
            }
            Event::NameRequired { prompt, rejected } => self.name_required(prompt, rejected),
            Event::Registered { name } => {
                self.system(SystemKind::Info, format!("registered the account {name}"))
            }
            Event::LoggedIn { name } => {
                self.view.logged_in(&name);
                self.system(
                    SystemKind::Info,
                    format!("logged in as {name}; /help lists the commands"),
                );
            }
            Event::Joined { room, members } => self.on_joined(room, members),
            Event::Left { room } => self.on_left(&room),
            Event::Message { .. } | Event::Direct { .. } => self.on_said(event),
            Event::Presence {
                room, user, event, ..
            } => self.on_presence(&room, &user, event),
            Event::Rooms(rooms) => self.on_rooms(rooms),
            Event::RoomSettings { settings, cause } => self.on_room_settings(settings, cause),
            Event::Moderation(record) => self.on_moderation(record),
            Event::Audit {
                room,
                entries,
                older,
            } => self.on_audit(&room, &entries, older),
            Event::Refused {
                asked,
                code,
                message,
            } => self.on_refused(&asked, code, &message),
            Event::Who { room, users } => self.on_who(room, users),
            Event::HistoryEnd {
                target,
                count,
                more,
                resumed,
            } => {
                if count > 0 || more {
                    let more = if more { "; more with /history N" } else { "" };
                    let plural = if count == 1 { "" } else { "s" };
                    let text = if resumed {
                        format!("— {count} message{plural} of {target} missed while reconnecting{more} —")
                    } else {
                        format!("— {count} earlier message{plural} of {target}{more} —")
                    };
                    self.system_for(&target, SystemKind::Info, text);
                }
            }
            Event::Missed { room, from, to } => {
                self.system_for(
                    &room,
                    SystemKind::Info,
                    format!("missed messages {from}..={to} of {room}; fetching them"),
                );
            }
            Event::Notice { text } => self.system(SystemKind::Info, format!("notice: {text}")),
            Event::Error { text } => self.system(SystemKind::Error, text),
            Event::Outgoing { queued, .. } => self.queued = queued,
            Event::NotSent {
                target,
                body,
                reason,
                ..
            } => self.system(
                SystemKind::Error,
                format!("not sent to {target}: {reason}: {body}"),
            ),
            Event::Disconnected { reason, retry_in } => {
                self.connection = Connection::Reconnecting;
                self.view.disconnected();
                let retry = retry_in.map_or(String::new(), |d| {
                    format!("; reconnecting in {:.1}s", d.as_secs_f32())
                });
                self.system(SystemKind::Error, format!("disconnected: {reason}{retry}"));
            }
            Event::Closed { reason, clean } => {
                self.connection = Connection::Closed;
                if !clean {
                    self.system(SystemKind::Error, format!("closed: {reason}"));
                }
                self.finished = Some((clean, reason));
            }
        }
    }

    /// Pasted text behaves as if typed: each line break sends the line
    /// before it, in order (each through the normal command path), and the
    /// text after the last line break stays in the input line.
    pub fn on_paste(&mut self, text: &str) -> Vec<Command> {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let mut lines: Vec<&str> = text.split('\n').collect();
        let rest = lines.pop().unwrap_or_default();
        let mut commands = Vec::new();
        for line in lines {
            self.input.insert_str(line);
            commands.extend(self.submit());
        }
        self.input.insert_str(rest);
        commands
    }

    pub fn on_mouse(&mut self, mouse: MouseEvent) {
        let scroll = &mut self.buffers.focused_mut().scroll;
        match mouse.kind {
            MouseEventKind::ScrollUp => scroll.up(WHEEL),
            MouseEventKind::ScrollDown => scroll.down(WHEEL),
            _ => {}
        }
    }

    pub(super) fn submit(&mut self) -> Option<Command> {
        let line = self.input.take();
        self.recall = None;
        self.buffers.focused_mut().scroll.bottom();
        if self.view.awaiting_name || self.awaiting_password.is_some() {
            return self.submit_at_prompt(line);
        }
        if !line.trim().is_empty() && self.sent.last() != Some(&line) {
            self.sent.push(line.clone());
        }
        if let Some(answer) = self.buffer_command(&line) {
            return answer;
        }
        let focused = self.buffers.focused();
        let (kind, target) = (focused.kind, focused.name.clone());
        let focus = match kind {
            Kind::Room => Focus::Room(&target),
            Kind::Direct => Focus::Direct(&target),
            Kind::Status => Focus::Nowhere,
        };
        match command::parse(&line, if kind == Kind::Room { &target } else { "" }) {
            Ok(Input::Command(Command::Leave { room })) if room.is_empty() => {
                // `/leave` in a conversation closes it; the status buffer stays.
                if kind == Kind::Direct {
                    let index = self.buffers.focused_index();
                    self.buffers.close(index);
                } else {
                    self.system(SystemKind::Error, "usage: /leave ROOM");
                }
                None
            }
            Ok(Input::Command(command)) => {
                if let Command::Join { room } = &command {
                    if let Some(index) = self.buffers.find(Kind::Room, room) {
                        // Already in it: just bring it into view.
                        self.buffers.focus(index);
                        return None;
                    }
                }
                // A message or an action goes where the buffer in view is.
                match self.view.aim(command, focus) {
                    Ok(command) => Some(command),
                    Err(Nowhere) => self.not_here(),
                }
            }
            Ok(Input::Help(text)) => {
                let help = text.lines().chain(super::commands::HELP.lines());
                for line in help.chain(super::keys::HELP.lines()) {
                    self.system(SystemKind::Info, line);
                }
                None
            }
            Ok(Input::Nothing) => None,
            Err(usage) => {
                self.system(SystemKind::Error, usage);
                None
            }
        }
    }

    fn not_here(&mut self) -> Option<Command> {
        self.system(
            SystemKind::Error,
            "this is the status buffer: switch to a room (Alt-2) or /join ROOM",
        );
        None
    }
}

impl std::ops::Deref for App {
    type Target = View;

    fn deref(&self) -> &View {
        &self.view
    }
}
