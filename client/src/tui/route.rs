//! Connection events into buffers: each room's messages, presence and
//! members to its own buffer, each direct conversation to one buffer per
//! user; unread counts, mentions and day changes on the way.

use chrono::{DateTime, Local, NaiveDate, Utc};
use confab_protocol::frame::PresenceEvent;

use super::app::{App, Entry, SystemKind};
use super::buffers::Kind;
use crate::command::Command;
use crate::event::Event;
use crate::format::{sanitize, TimeStyle};
use crate::view;

/// Names listed when a room is first joined.
const MEMBERS_SHOWN: usize = 30;

/// Whether `body` mentions `name` as a whole word, ignoring case.
pub fn mentions(body: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let body = body.to_lowercase();
    let name = name.to_lowercase();
    let part_of_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    body.match_indices(&name).any(|(at, _)| {
        let before = body[..at].chars().next_back();
        let after = body[at + name.len()..].chars().next();
        !part_of_word(before) && !part_of_word(after)
    })
}

impl App {
    /// The time stamp shown for a message: the time of day for today's, the
    /// date too for older ones; and the message's day.
    fn stamp(&self, millis: u64) -> (String, NaiveDate) {
        let Some(utc) = DateTime::<Utc>::from_timestamp_millis(millis as i64) else {
            return (format!("@{millis}"), NaiveDate::default());
        };
        match self.time_style {
            TimeStyle::Utc => (
                crate::format::timestamp(millis, TimeStyle::Utc),
                utc.date_naive(),
            ),
            TimeStyle::Local => {
                let local = utc.with_timezone(&Local);
                let format = if local.date_naive() == Local::now().date_naive() {
                    "%H:%M:%S"
                } else {
                    "%Y-%m-%d %H:%M"
                };
                (local.format(format).to_string(), local.date_naive())
            }
        }
    }

    /// Adds a message to buffer `index`, after a day-change line if the date
    /// changed since its previous message.
    fn push_chat(
        &mut self,
        index: usize,
        millis: u64,
        sender: &str,
        body: &str,
        own: bool,
        action: bool,
    ) {
        let (time, day) = self.stamp(millis);
        let me = self.view.name().unwrap_or_default().to_string();
        let highlight =
            !own && (self.buffers.at(index).kind == Kind::Direct || mentions(body, &me));
        let buffer = self.buffers.at(index);
        if let Some(day) = buffer.day(day) {
            buffer.push(Entry::System {
                text: day.format("%A %-d %B %Y").to_string(),
                kind: SystemKind::Day,
            });
        }
        // Line breaks stay (`[BODY-1]`: shown indented under the header);
        // every other control character is made harmless.
        let body = body.replace("\r\n", "\n").replace('\r', "\n");
        let body: Vec<String> = body.split('\n').map(sanitize).collect();
        buffer.push(Entry::Chat {
            time,
            sender: sanitize(sender),
            body: body.join("\n"),
            own,
            highlight,
            action,
        });
    }

    /// A line about a room or user goes to its buffer, else to the one in view.
    pub(super) fn system_for(&mut self, target: &str, kind: SystemKind, text: String) {
        let index = self
            .buffers
            .find(Kind::Room, target)
            .or_else(|| self.buffers.find(Kind::Direct, target))
            .unwrap_or(self.buffers.focused_index());
        self.system_in(index, kind, text);
    }

    pub(super) fn on_joined(&mut self, room: String, members: u32) {
        let index = self.buffers.get(Kind::Room, &room);
        // Rejoined after a reconnect, the count starts afresh from JOINED
        // and the names from a new WHO (presence only adjusts them).
        self.buffers.at(index).joined(members);
        self.quiet_who.push(room.to_lowercase());
        self.requests.push(Command::Members { room: room.clone() });
        // `/join` (or --room) brings the room into view; so does the first
        // room of the session.
        let first = self.buffers.iter().filter(|b| b.kind == Kind::Room).count() == 1
            && self.buffers.focused().kind == Kind::Status;
        if self.view.joined(&room, first) {
            self.buffers.focus(index);
        }
        self.system_in(index, SystemKind::Presence, view::joined(&room, members));
    }

    pub(super) fn on_left(&mut self, room: &str) {
        if let Some(index) = self.buffers.find(Kind::Room, room) {
            self.buffers.close(index);
        }
        match self.removal(room) {
            Some(why) => self.system(SystemKind::Error, why),
            None => self.system(SystemKind::Presence, format!("left {room}")),
        }
    }

    /// A room or direct message.
    pub(super) fn on_said(&mut self, event: Event) {
        match event {
            Event::Message {
                room,
                sender,
                body,
                time,
                seq,
                own,
                history,
                action,
            } => {
                let index = self.buffers.get(Kind::Room, &room);
                let focused = self.buffers.is_focused(index);
                let me = self.view.name().unwrap_or_default();
                let mention = !own && mentions(&body, me);
                let buffer = self.buffers.at(index);
                let unread = buffer.unread;
                buffer.room_message(seq, !own, history, focused);
                if buffer.unread > unread && mention {
                    buffer.mention = true;
                }
                if mention && !history && self.bell {
                    self.ring = true;
                }
                self.push_chat(index, time, &sender, &body, own, action);
            }
            Event::Direct {
                from,
                to,
                body,
                time,
                own,
                history,
                action,
            } => {
                let peer = if own { &to } else { &from };
                let index = self.buffers.get(Kind::Direct, peer);
                if !own {
                    self.last_direct = Some(peer.to_string());
                    // Every direct message to the user counts as a mention.
                    if !history {
                        if !self.buffers.is_focused(index) {
                            let buffer = self.buffers.at(index);
                            buffer.unread += 1;
                            buffer.mention = true;
                        }
                        self.ring |= self.bell;
                    }
                }
                self.push_chat(index, time, &from, &body, own, action);
            }
            _ => {}
        }
    }

    pub(super) fn on_presence(&mut self, room: &str, user: &str, event: PresenceEvent) {
        let index = self.buffers.get(Kind::Room, room);
        let members = &mut self.buffers.at(index).members;
        match event {
            PresenceEvent::Joined => members.joined(user),
            PresenceEvent::Left | PresenceEvent::Disconnected => members.left(user),
        }
        let text = view::presence(user, event, room);
        self.system_in(index, SystemKind::Presence, text);
    }

    pub(super) fn on_who(&mut self, room: String, users: Vec<String>) {
        if let Some(index) = self.buffers.find(Kind::Room, &room) {
            self.buffers.at(index).members.listed(&users);
        }
        let lower = room.to_lowercase();
        if let Some(at) = self.quiet_who.iter().position(|r| *r == lower) {
            // Asked by the UI itself to fill the member list; on the first
            // join the names are shown once, as irssi does, for terminals
            // too narrow for the list.
            self.quiet_who.remove(at);
            if let Some(index) = self.buffers.find(Kind::Room, &room) {
                if !std::mem::replace(&mut self.buffers.at(index).introduced, true) {
                    let shown = users.iter().take(MEMBERS_SHOWN).cloned();
                    let mut names = shown.collect::<Vec<_>>().join(", ");
                    if users.len() > MEMBERS_SHOWN {
                        names += &format!(" and {} more", users.len() - MEMBERS_SHOWN);
                    }
                    self.system_in(index, SystemKind::Presence, format!("here: {names}"));
                }
            }
            return;
        }
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
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn a_mention_is_a_whole_word_in_any_case() {
        assert!(mentions("hi Alice!", "alice"));
        assert!(mentions("ALICE: look", "alice"));
        assert!(mentions("@alice, see", "alice"));
        assert!(!mentions("malice aforethought", "alice"));
        assert!(!mentions("alice_b is here", "alice"));
        assert!(!mentions("alices", "alice"));
        assert!(mentions("zoë?", "Zoë"));
        assert!(!mentions("anything", ""));
    }
}
