//! The terminal UI's state: scrollback, input line, status, and how keys and
//! connection events change them. No terminal I/O here, so it is testable.

use std::collections::VecDeque;

use confab_protocol::frame::PresenceEvent;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};

use super::input::InputLine;
use crate::command::{self, Account, Command, Input};
use crate::event::Event;
use crate::format::{sanitize, timestamp, TimeStyle};

/// Most entries kept in the scrollback.
const SCROLLBACK: usize = 10_000;
/// Lines moved by PageUp/PageDown and the mouse wheel.
const PAGE: usize = 10;
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
    /// Lines scrolled up from the newest.
    pub scroll: usize,
    pub input: InputLine,
    sent: Vec<String>,
    recall: Option<usize>,
    pub connection: Connection,
    pub server: String,
    pub room: Option<String>,
    pub members: u32,
    pub name: Option<String>,
    pub awaiting_name: bool,
    /// After `/login NAME` or `/register NAME`: the next line is the password.
    pub awaiting_password: Option<(String, bool)>,
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
            scroll: 0,
            input: InputLine::default(),
            sent: Vec::new(),
            recall: None,
            connection: Connection::Connecting,
            server: String::new(),
            room: None,
            members: 0,
            name: None,
            awaiting_name: false,
            awaiting_password: None,
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
            Event::NameRequired { prompt, rejected } => {
                if let Some(reason) = rejected {
                    self.system(SystemKind::Error, format!("name refused: {reason}"));
                }
                self.system(
                    SystemKind::Info,
                    format!("{prompt} — type a name and press Enter"),
                );
                self.awaiting_name = true;
            }
            Event::LoggedIn { name } => {
                self.awaiting_name = false;
                self.system(
                    SystemKind::Info,
                    format!("logged in as {name}; /help lists the commands"),
                );
                self.name = Some(name);
            }
            Event::Joined { room, members } => {
                let wanted = [self.preferred_room.as_deref(), self.switch_to.as_deref()];
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
            Event::Outgoing { .. } => {}
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

    /// A key press; returns what to tell the connection.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => return Some(Command::Quit),
            KeyCode::Char('d') if ctrl && self.input.text().is_empty() => {
                return Some(Command::Quit)
            }
            KeyCode::Char('a') if ctrl => self.input.home(),
            KeyCode::Char('e') if ctrl => self.input.end(),
            KeyCode::Char('u') if ctrl => {
                self.input.take();
            }
            KeyCode::Char('w') if ctrl => self.input.delete_word(),
            KeyCode::Char(c) => self.input.insert(c),
            KeyCode::Backspace => self.input.backspace(),
            KeyCode::Delete => self.input.delete(),
            KeyCode::Left => self.input.left(),
            KeyCode::Right => self.input.right(),
            KeyCode::Home => self.input.home(),
            KeyCode::End => self.input.end(),
            KeyCode::Up => self.recall_older(),
            KeyCode::Down => self.recall_newer(),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_add(PAGE),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(PAGE),
            KeyCode::Esc => {
                self.input.take();
            }
            KeyCode::Enter => return self.submit(),
            _ => {}
        }
        None
    }

    pub fn on_paste(&mut self, text: &str) {
        self.input.insert_str(text);
    }

    pub fn on_mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll = self.scroll.saturating_add(WHEEL),
            MouseEventKind::ScrollDown => self.scroll = self.scroll.saturating_sub(WHEEL),
            _ => {}
        }
    }

    fn recall_older(&mut self) {
        if self.sent.is_empty() {
            return;
        }
        let index = match self.recall {
            None => self.sent.len() - 1,
            Some(i) => i.saturating_sub(1),
        };
        self.recall = Some(index);
        let line = self.sent[index].clone();
        self.input.set(&line);
    }

    fn recall_newer(&mut self) {
        match self.recall {
            Some(i) if i + 1 < self.sent.len() => {
                self.recall = Some(i + 1);
                let line = self.sent[i + 1].clone();
                self.input.set(&line);
            }
            Some(_) => {
                self.recall = None;
                self.input.take();
            }
            None => {}
        }
    }

    fn submit(&mut self) -> Option<Command> {
        let line = self.input.take();
        self.recall = None;
        self.scroll = 0;
        if let Some((name, register)) = self.awaiting_password.take() {
            self.awaiting_name = false;
            return Some(Command::Login {
                name,
                account: Some(Account {
                    register,
                    password: line,
                }),
            });
        }
        if self.awaiting_name {
            let line = line.trim();
            // At the name prompt, `/login NAME` and `/register NAME` ask for a password next.
            let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
            let register = match command {
                "/login" => Some(false),
                "/register" => Some(true),
                _ => None,
            };
            if let Some(register) = register {
                let name = rest.trim();
                if name.is_empty() || name.contains(' ') {
                    self.system(SystemKind::Error, format!("usage: {command} NAME"));
                    return None;
                }
                self.system(
                    SystemKind::Info,
                    format!("password for {name} (not shown):"),
                );
                self.awaiting_password = Some((name.to_string(), register));
                return None;
            }
            if line.is_empty() {
                return None;
            }
            self.awaiting_name = false;
            return Some(Command::Login {
                name: line.to_string(),
                account: None,
            });
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
                for line in text.lines() {
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
