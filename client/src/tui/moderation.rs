//! Moderation in the terminal UI (spec section 21): room settings kept for
//! the header and announced in the room's buffer, actions as lines in the
//! buffer they concern, the audit log and refusals; the wording is the
//! view-model's (`view::moderation`), shared with plain mode.

use super::app::{App, SystemKind};
use super::buffers::Kind;
use crate::moderation::{Asked, ListedRoom, ModAction, Record, RoomSettings, SettingsCause};
use crate::view::moderation;

impl App {
    fn me(&self) -> String {
        self.view.name().unwrap_or_default().to_string()
    }

    pub(super) fn on_rooms(&mut self, rooms: Vec<ListedRoom>) {
        for line in moderation::room_list(&rooms) {
            self.system(SystemKind::Info, line);
        }
        self.known_rooms = rooms.into_iter().map(|r| r.name).collect();
    }

    pub(super) fn on_room_settings(&mut self, settings: RoomSettings, cause: SettingsCause) {
        let lines = moderation::settings(&settings, &cause, &self.me(), self.time_style);
        if let Some(index) = self.buffers.find(Kind::Room, &settings.room) {
            self.buffers.at(index).settings = Some(settings.clone());
        }
        for line in lines {
            self.system_for(&settings.room, SystemKind::Info, line);
        }
    }

    pub(super) fn on_moderation(&mut self, record: Record) {
        let me = self.me();
        let text = moderation::record(&record, &me);
        let about_me = !me.is_empty() && record.target.eq_ignore_ascii_case(&me);
        let room = self.buffers.find(Kind::Room, &record.room);
        if about_me {
            if let Some(index) = room {
                if let Some(settings) = &mut self.buffers.at(index).settings {
                    settings.role_after(&record);
                }
            }
        }
        let removed = matches!(
            record.action,
            ModAction::Kick | ModAction::Ban | ModAction::Disconnect | ModAction::ServerBan
        );
        if about_me && removed {
            // Said where the user will look: the room's buffer closes with
            // the LEFT that follows, so the line waits for it (`[MOD-11]`).
            self.ring |= self.bell;
            if record.room.is_empty() || room.is_none() {
                self.system(SystemKind::Error, text);
            } else {
                self.removals.push((record.room.to_lowercase(), text));
            }
            return;
        }
        let kind = if about_me {
            SystemKind::Error
        } else {
            SystemKind::Info
        };
        match room {
            Some(index) => self.system_in(index, kind, text),
            None => self.system(kind, text),
        }
    }

    /// LEFT for `room`: why, when the user was removed from it.
    pub(super) fn removal(&mut self, room: &str) -> Option<String> {
        let lower = room.to_lowercase();
        let at = self.removals.iter().position(|(r, _)| *r == lower)?;
        Some(self.removals.remove(at).1)
    }

    pub(super) fn on_audit(&mut self, room: &str, entries: &[Record], older: bool) {
        let lines = moderation::audit(room, entries, older, &self.me(), self.time_style);
        for line in lines {
            self.system(SystemKind::Info, line);
        }
    }

    pub(super) fn on_refused(
        &mut self,
        asked: &Asked,
        code: confab_protocol::ErrorCode,
        message: &str,
    ) {
        self.system(SystemKind::Error, moderation::refused(asked, code, message));
    }
}
