//! The client's view-model: what both front ends (plain mode and the
//! terminal UI) decide the same way about the session, with no I/O. It
//! keeps whether a name is asked for, which room a join brings into view,
//! where a typed message goes, how presence reads and which exit code a
//! session's end deserves; each front end only shows the outcome its own
//! way. How moderation reads is in [`moderation`].

use confab_protocol::frame::PresenceEvent;

use crate::command::Command;
use crate::exit;

pub mod moderation;

/// What the user has in view, where a typed message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus<'a> {
    Room(&'a str),
    /// A direct conversation with this user.
    Direct(&'a str),
    /// No room or conversation (plain mode before a join or after a leave;
    /// the terminal UI's status buffer).
    Nowhere,
}

/// A message or action was typed with nowhere to send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nowhere;

/// The session as both front ends see it.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The server asks for a name and none was entered since: the next
    /// line is one. Changed only by the events and `name_entered`.
    pub awaiting_name: bool,
    /// The name logged in with.
    name: Option<String>,
    /// `--room`: brought into view when first joined.
    preferred_room: Option<String>,
    /// The room of the last `/join`: brought into view when joined.
    switch_to: Option<String>,
    /// A name was refused and none accepted since: if the session ends
    /// now, it ends over the name.
    name_refused: bool,
    /// Connected at least once: an end is a loss, not "unreachable".
    ever_connected: bool,
    /// Connected now (between `Connected` and `Disconnected`).
    connected: bool,
}

impl View {
    pub fn new(preferred_room: Option<String>) -> Self {
        View {
            preferred_room,
            ..View::default()
        }
    }

    /// The name logged in with, once logged in.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `Event::Connected`.
    pub fn connected(&mut self) {
        self.ever_connected = true;
        self.connected = true;
    }

    /// `Event::Disconnected`: whether this is the first failure since the
    /// last connection (later ones are retries that failed).
    pub fn disconnected(&mut self) -> bool {
        std::mem::replace(&mut self.connected, false)
    }

    /// `Event::NameRequired`. An empty prompt asks nothing: that was the
    /// last attempt and the server closes the connection.
    pub fn name_required(&mut self, prompt: &str, rejected: bool) {
        self.name_refused |= rejected;
        self.awaiting_name = !prompt.is_empty();
    }

    /// The user entered a name at the prompt.
    pub fn name_entered(&mut self) {
        self.awaiting_name = false;
    }

    /// `Event::LoggedIn`.
    pub fn logged_in(&mut self, name: &str) {
        self.awaiting_name = false;
        self.name_refused = false;
        self.name = Some(name.to_string());
    }

    /// The user asked to join `room`: it comes into view once joined.
    pub fn join_asked(&mut self, room: &str) {
        self.switch_to = Some(room.to_string());
    }

    /// `Event::Joined`: whether the room comes into view. It does when
    /// nothing is in view (the first room), and when it is the room of
    /// `--room` or of the last `/join` (server names ignore case); each of
    /// those brings it once.
    pub fn joined(&mut self, room: &str, nothing_in_view: bool) -> bool {
        let same = |wanted: &Option<String>| {
            wanted
                .as_deref()
                .is_some_and(|w| w.eq_ignore_ascii_case(room))
        };
        let asked = same(&self.switch_to);
        let preferred = same(&self.preferred_room);
        if asked {
            self.switch_to = None;
        }
        if preferred {
            self.preferred_room = None;
        }
        nothing_in_view || asked || preferred
    }

    /// A parsed command, sent where the user looks: a message or an action
    /// goes to the room or conversation in view, or nowhere.
    pub fn aim(&mut self, command: Command, focus: Focus<'_>) -> Result<Command, Nowhere> {
        let (body, action) = match command {
            Command::Say { body, .. } => (body, false),
            Command::Action { body, .. } => (body, true),
            other => {
                if let Command::Join { room } = &other {
                    self.join_asked(room);
                }
                return Ok(other);
            }
        };
        Ok(match (focus, action) {
            (Focus::Nowhere, _) => return Err(Nowhere),
            (Focus::Room(room), false) => Command::Say {
                room: room.into(),
                body,
            },
            (Focus::Room(room), true) => Command::Action {
                room: room.into(),
                body,
            },
            (Focus::Direct(to), false) => Command::Direct {
                to: to.into(),
                body,
            },
            (Focus::Direct(to), true) => Command::DirectAction {
                to: to.into(),
                body,
            },
        })
    }

    /// `Event::Closed`: the exit code of the session's end.
    pub fn exit_code(&self, clean: bool) -> u8 {
        if clean {
            0
        } else if self.name_refused {
            exit::NAME_REFUSED
        } else if self.ever_connected {
            exit::CONNECTION_LOST
        } else {
            exit::UNREACHABLE
        }
    }
}

/// How a presence change reads: `bob joined rust`, `bob disconnected from rust`.
pub fn presence(user: &str, event: PresenceEvent, room: &str) -> String {
    let what = match event {
        PresenceEvent::Joined => "joined",
        PresenceEvent::Left => "left",
        PresenceEvent::Disconnected => "disconnected from",
    };
    format!("{user} {what} {room}")
}

/// How joining a room reads.
pub fn joined(room: &str, members: u32) -> String {
    format!("joined {room} ({members} here)")
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
