//! The terminal UI's state: scrollback, input line, status, and how keys and
//! connection events change them. No terminal I/O here, so it is testable.

use std::collections::VecDeque;

use confab_protocol::frame::PresenceEvent;
use ratatui::crossterm::event::{MouseEvent, MouseEventKind};

use super::input::InputLine;
use super::prompt::Attempt;
use super::render::{entry_spans, wrap};
use super::scroll::Scrollback;
use crate::command::{self, Command, Input};
use crate::event::Event;
use crate::format::{sanitize, timestamp, TimeStyle};

/// Most entries kept in the scrollback.
const SCROLLBACK: usize = 10_000;
/// Lines moved by the mouse wheel.
const WHEEL: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Chat {
        time: String,
        /// Set for messages outside the current room, and for direct messages ("alice -> bob").
        context: Option<String>,
        sender: String,
        body: String,
        own: bool,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    Reconnecting,
    Closed,
}

pub struct App {
    pub entries: VecDeque<Entry>,
    pub scroll: Scrollback,
    pub input: InputLine,
    /// Lines sent (and drafts put aside with Esc), for ↑ and ↓.
    pub(super) sent: Vec<String>,
    /// The entry of `sent` shown, and the draft that ↓ past the newest restores.
    pub(super) recall: Option<(usize, String)>,
    /// Ctrl-L: clear and redraw the whole terminal.
    pub redraw: bool,
    pub connection: Connection,
    /// Messages sent but not yet acknowledged (the connection's send queue).
    pub queued: usize,
    /// The connection speaks TLS (`--tls`/`--ca`), shown in the status bar.
    pub encrypted: bool,
    pub server: String,
    pub room: Option<String>,
    pub members: u32,
    pub name: Option<String>,
    pub awaiting_name: bool,
    /// After `/login NAME` or `/register NAME`: the next line is the password.
    pub awaiting_password: Option<(String, bool)>,
    /// The last login asked for at the prompt, to word its refusal.
    pub(super) attempt: Option<Attempt>,
    preferred_room: Option<String>,
    switch_to: Option<String>,
    time_style: TimeStyle,
    /// Set once the session is over: (clean, reason).
    pub finished: Option<(bool, String)>,
}

impl App {
    pub fn new(preferred_room: Option<String>, utc: bool) -> Self {
        App {
            entries: VecDeque::new(),
            scroll: Scrollback::default(),
            input: InputLine::default(),
            sent: Vec::new(),
            recall: None,
            redraw: false,
            connection: Connection::Connecting,
            encrypted: false,
            queued: 0,
            server: String::new(),
            room: None,
            members: 0,
            name: None,
            awaiting_name: false,
            awaiting_password: None,
            attempt: None,
            preferred_room,
            switch_to: None,
            time_style: if utc {
                TimeStyle::Utc
            } else {
                TimeStyle::Local
            },
            finished: None,
        }
    }

    fn push(&mut self, entry: Entry) {
        self.scroll
            .arrived(|width| wrap(&entry_spans(&entry), width).len());
        if self.entries.len() == SCROLLBACK {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn system(&mut self, kind: SystemKind, text: impl Into<String>) {
        self.push(Entry::System {
            text: sanitize(&text.into()),
            kind,
        });
    }

    fn stamp(&self, time: u64) -> String {
        match self.time_style {
            TimeStyle::Local => crate::format::clock(time),
            TimeStyle::Utc => timestamp(time, TimeStyle::Utc),
        }
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
                self.system(SystemKind::Info, format!("connected to {addr} ({server})"));
            }
            Event::NameRequired { prompt, rejected } => self.name_required(prompt, rejected),
            Event::LoggedIn { name } => {
                self.awaiting_name = false;
                self.system(
                    SystemKind::Info,
                    format!("logged in as {name}; /help lists the commands"),
                );
                self.name = Some(name);
            }
            Event::Joined { room, members } => {
                // The current room too: rejoined after a reconnect, its
                // count starts afresh from JOINED (presence only adjusts it).
                let wanted = [
                    self.preferred_room.as_deref(),
                    self.switch_to.as_deref(),
                    self.room.as_deref(),
                ];
                if self.room.is_none() || wanted.contains(&Some(room.as_str())) {
                    self.room = Some(room.clone());
                    self.members = members;
                    self.switch_to = None;
                }
                self.system(
                    SystemKind::Presence,
                    format!("joined {room} ({members} here)"),
                );
            }
            Event::Left { room } => {
                if self.room.as_deref() == Some(room.as_str()) {
                    self.room = None;
                    self.members = 0;
                }
                self.system(SystemKind::Presence, format!("left {room}"));
            }
            Event::Message {
                room,
                sender,
                body,
                time,
                own,
                ..
            } => {
                let context =
                    (self.room.as_deref() != Some(room.as_str())).then(|| format!("#{room}"));
                let entry = Entry::Chat {
                    time: self.stamp(time),
                    context: context.map(|c| sanitize(&c)),
                    sender: sanitize(&sender),
                    body: sanitize(&body),
                    own,
                };
                self.push(entry);
            }
            Event::Direct {
                from,
                to,
                body,
                time,
                own,
                ..
            } => {
                let entry = Entry::Chat {
                    time: self.stamp(time),
                    context: Some(sanitize(&format!("{from} -> {to}"))),
                    sender: String::new(),
                    body: sanitize(&body),
                    own,
                };
                self.push(entry);
            }
            Event::Presence {
                room, user, event, ..
            } => {
                if self.room.as_deref() == Some(room.as_str()) {
                    match event {
                        PresenceEvent::Joined => self.members += 1,
                        PresenceEvent::Left | PresenceEvent::Disconnected => {
                            self.members = self.members.saturating_sub(1)
                        }
                    }
                }
                let what = match event {
                    PresenceEvent::Joined => "joined",
                    PresenceEvent::Left => "left",
                    PresenceEvent::Disconnected => "disconnected from",
                };
                self.system(SystemKind::Presence, format!("{user} {what} {room}"));
            }
            Event::Rooms(rooms) => {
                let list: Vec<String> = rooms.iter().map(|(r, n)| format!("{r} ({n})")).collect();
                self.system(SystemKind::Info, format!("rooms: {}", list.join(", ")));
            }
            Event::Who { room, users } => {
                let scope = if room.is_empty() {
                    "online".to_string()
                } else {
                    format!("in {room}")
                };
                self.system(
                    SystemKind::Info,
                    format!("{scope} ({}): {}", users.len(), users.join(", ")),
                );
            }
            Event::HistoryEnd {
                target,
                count,
                more,
            } => {
                if count > 0 || more {
                    let more = if more { "; more with /history N" } else { "" };
                    self.system(
                        SystemKind::Info,
                        format!(
                            "— {count} earlier message{} of {target}{more} —",
                            if count == 1 { "" } else { "s" }
                        ),
                    );
                }
            }
            Event::Missed { room, from, to } => {
                self.system(
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
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll.up(WHEEL),
            MouseEventKind::ScrollDown => self.scroll.down(WHEEL),
            _ => {}
        }
    }

    pub(super) fn submit(&mut self) -> Option<Command> {
        let line = self.input.take();
        self.recall = None;
        self.scroll.bottom();
        if self.awaiting_name || self.awaiting_password.is_some() {
            return self.submit_at_prompt(line);
        }
        if !line.trim().is_empty() && self.sent.last() != Some(&line) {
            self.sent.push(line.clone());
        }
        let room = self.room.clone().unwrap_or_default();
        match command::parse(&line, &room) {
            Ok(Input::Command(Command::Say { .. })) if self.room.is_none() => {
                self.system(SystemKind::Error, "you are in no room: /join ROOM first");
                None
            }
            Ok(Input::Command(command)) => {
                if let Command::Join { room } = &command {
                    self.switch_to = Some(room.clone());
                }
                Some(command)
            }
            Ok(Input::Help(text)) => {
                for line in text.lines().chain(super::keys::HELP.lines()) {
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
}
