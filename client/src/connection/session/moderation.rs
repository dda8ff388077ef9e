//! Moderation on the wire (spec section 21): the user's commands sent as
//! MODERATE, ROOM_SETTINGS and AUDIT, and the server's ROOM_INFO,
//! MODERATION_EVENT, AUDIT_ENTRIES and ROOM_LIST_INFO turned into events.
//! Every request has exactly one answer, in request order (`[ORDER-1]`):
//! the requests still waiting for theirs say what a refusal refused, and
//! which ROOM_INFO answers a query.

use std::collections::{HashMap, VecDeque};

use confab_protocol::frame::{
    code, Audit, AuditEntries, ErrorFrame, Frame, Greeting, Moderate, ModerationEvent, RoomInfo,
    RoomListInfo, RoomSettings as SettingsFrame,
};
use confab_protocol::{CodecError, Str16, Str8};
use futures_util::SinkExt;

use super::Session;
use crate::command::{Moderation, SettingsChange};
use crate::connection::outbox::same_room;
use crate::connection::Wire;
use crate::event::Event;
use crate::moderation::{is_join_refusal, Asked, ListedRoom, Record, RoomSettings, SettingsCause};

/// This connection's moderation state.
#[derive(Default)]
pub(super) struct Moderating {
    /// The server set GREETING `MODERATION` (`[MOD-1]`).
    enabled: bool,
    /// Requests sent whose answer has not come, oldest first.
    waiting: VecDeque<Waiting>,
    /// The settings last known of each room (lower case).
    known: HashMap<String, RoomSettings>,
    /// Rooms joined whose ROOM_INFO, right after JOINED, has not come.
    joining: Vec<String>,
    /// The frames of an AUDIT answer so far.
    audit: Vec<Record>,
    /// The pages of a ROOM_LIST_INFO answer so far.
    rooms: Vec<ListedRoom>,
    /// Per log (lower case room; `""` the server's), the oldest entry
    /// shown: the next `/audit` pages back from there.
    audit_anchor: HashMap<String, u64>,
}

/// A request waiting for its answer.
enum Waiting {
    Moderate(Moderation),
    /// `then`: a change of modes waiting for this query's answer, which
    /// says the modes it changes (ROOM_SETTINGS sets them all).
    Settings {
        room: String,
        change: SettingsChange,
        then: Option<SettingsChange>,
    },
    Audit {
        room: String,
    },
}

impl Moderating {
    pub(super) fn greeted(&mut self, greeting: &Greeting) {
        *self = Moderating {
            enabled: greeting.flags & Greeting::MODERATION != 0,
            ..Moderating::default()
        };
    }

    /// JOINED: its ROOM_INFO follows (`[MOD-6]`).
    pub(super) fn joined(&mut self, room: &str) {
        if self.enabled {
            self.joining.push(room.to_lowercase());
        }
    }

    /// LEFT: the room's settings are no longer kept current for us.
    pub(super) fn left(&mut self, room: &str) {
        self.known.remove(&room.to_lowercase());
    }

    /// Rooms that a LIST_ROOMS answer has gathered, once it is whole.
    pub(super) fn room_list(&mut self, page: &RoomListInfo) -> Option<Vec<ListedRoom>> {
        self.rooms.extend(page.rooms.iter().map(ListedRoom::from));
        (page.flags & RoomListInfo::MORE == 0).then(|| std::mem::take(&mut self.rooms))
    }
}

impl Session<'_> {
    /// `/kick` and the like.
    pub(super) async fn send_moderate(
        &mut self,
        request: Moderation,
        framed: &mut Wire,
    ) -> Result<(), CodecError> {
        if !self.supports_moderation().await {
            return Ok(());
        }
        let frame = Frame::Moderate(Moderate {
            action: request.action,
            room: Str8::truncated(&request.room),
            target: Str8::truncated(&request.target),
            duration_ms: request.duration_ms,
            reason: Str16::truncated(&request.reason),
        });
        self.moderating
            .waiting
            .push_back(Waiting::Moderate(request));
        framed.send(frame).await
    }

    /// `/topic` and `/mode`: a change, or with nothing to change a query.
    pub(super) async fn send_settings(
        &mut self,
        room: String,
        change: SettingsChange,
        framed: &mut Wire,
    ) -> Result<(), CodecError> {
        if !self.supports_moderation().await {
            return Ok(());
        }
        let changes_modes = change.set | change.clear != 0;
        let known = self.moderating.known.get(&room.to_lowercase());
        let (frame, waiting) = match known.map(|k| k.modes) {
            None if changes_modes => {
                // ROOM_SETTINGS sets every mode at once: learn them first.
                let query = settings_frame(&room, &SettingsChange::default(), 0);
                let waiting = Waiting::Settings {
                    room,
                    change: SettingsChange::default(),
                    then: Some(change),
                };
                (query, waiting)
            }
            current => {
                let frame = settings_frame(&room, &change, current.unwrap_or(0));
                let waiting = Waiting::Settings {
                    room,
                    change,
                    then: None,
                };
                (frame, waiting)
            }
        };
        self.moderating.waiting.push_back(waiting);
        framed.send(frame).await
    }

    /// `/audit`: each one pages further back in the same log.
    pub(super) async fn send_audit(
        &mut self,
        room: String,
        count: u16,
        framed: &mut Wire,
    ) -> Result<(), CodecError> {
        if !self.supports_moderation().await {
            return Ok(());
        }
        let before = self.moderating.audit_anchor.get(&room.to_lowercase());
        let frame = Frame::Audit(Audit {
            room: Str8::truncated(&room),
            before: before.copied().unwrap_or(0),
            limit: count,
        });
        self.moderating.waiting.push_back(Waiting::Audit { room });
        framed.send(frame).await
    }

    /// spec: MOD-1 — nothing of section 21 goes to a server without it.
    async fn supports_moderation(&self) -> bool {
        if !self.moderating.enabled {
            self.emit(Event::Error {
                text: "this server does not support moderation; not sent".into(),
            })
            .await;
        }
        self.moderating.enabled
    }

    /// ROOM_INFO: after a JOIN, as an answer, or announcing a change.
    pub(super) async fn on_room_info(&mut self, info: RoomInfo, framed: &mut Wire) {
        let me = self.memory.name.clone().unwrap_or_default();
        let settings = RoomSettings::from(&info);
        let moderating = &mut self.moderating;
        let key = settings.room.to_lowercase();
        let before = moderating.known.insert(key.clone(), settings.clone());
        let by = info.changed_by.to_string();
        let answers = matches!(
            moderating.waiting.front(),
            Some(Waiting::Settings { room, .. }) if same_room(room, &settings.room)
        ) && (by.is_empty() || by.eq_ignore_ascii_case(&me));
        let joining = moderating.joining.iter().position(|r| *r == key);
        let cause = match joining {
            // A JOIN's ROOM_INFO comes before the answer to anything asked after it.
            Some(at) if by.is_empty() => {
                moderating.joining.swap_remove(at);
                SettingsCause::Joined
            }
            _ if answers => {
                let Some(Waiting::Settings { then, .. }) = moderating.waiting.pop_front() else {
                    unreachable!("checked above");
                };
                if let Some(change) = then {
                    // The modes are known now: make the change asked for.
                    let frame = settings_frame(&settings.room, &change, settings.modes);
                    moderating.waiting.push_back(Waiting::Settings {
                        room: settings.room.clone(),
                        change,
                        then: None,
                    });
                    let _ = framed.send(frame).await;
                    return;
                }
                changed(by, before.as_ref(), &settings)
            }
            // The same change again (the answer and the room's copy of it).
            _ if !by.is_empty() && before.as_ref() == Some(&settings) => return,
            _ => changed(by, before.as_ref(), &settings),
        };
        self.emit(Event::RoomSettings { settings, cause }).await;
    }

    /// MODERATION_EVENT: an action announced; one of ours is its answer.
    pub(super) async fn on_moderation(&mut self, event: ModerationEvent) {
        let me = self.memory.name.clone().unwrap_or_default();
        let record = Record::from(&event);
        let waiting = &mut self.moderating.waiting;
        if record.actor.eq_ignore_ascii_case(&me) {
            let ours = waiting
                .iter()
                .position(|w| matches!(w, Waiting::Moderate(m) if m.action == record.action));
            if let Some(at) = ours {
                waiting.remove(at);
            }
        }
        if record.target.eq_ignore_ascii_case(&me) {
            let key = record.room.to_lowercase();
            if let Some(known) = self.moderating.known.get_mut(&key) {
                known.role_after(&record);
            }
        }
        self.emit(Event::Moderation(record)).await;
    }

    /// AUDIT_ENTRIES: gathered until the answer's last frame.
    pub(super) async fn on_audit(&mut self, page: AuditEntries) {
        let moderating = &mut self.moderating;
        moderating
            .audit
            .extend(page.entries.iter().map(Record::from));
        if page.flags & AuditEntries::MORE != 0 {
            return;
        }
        let entries = std::mem::take(&mut moderating.audit);
        let asked = match moderating.waiting.front() {
            Some(Waiting::Audit { room }) => Some(room.to_lowercase()),
            _ => None,
        };
        if let Some(key) = asked {
            moderating.waiting.pop_front();
            if let Some(first) = entries.first() {
                moderating.audit_anchor.insert(key, first.id);
            }
        }
        self.emit(Event::Audit {
            room: page.room.to_string(),
            entries,
            older: page.flags & AuditEntries::OLDER != 0,
        })
        .await;
    }

    /// A refusal of a moderation request, or of a JOIN by a ban, an
    /// invitation or the limit; `None` for any other error.
    pub(super) fn refused(&mut self, error: &ErrorFrame) -> Option<Event> {
        let asked = match error.frame_type {
            code::MODERATE | code::ROOM_SETTINGS | code::AUDIT => {
                match self.moderating.waiting.pop_front()? {
                    Waiting::Moderate(request) => Asked::Moderate(request),
                    Waiting::Settings { room, change, then } => Asked::Settings {
                        room,
                        change: then.unwrap_or(change),
                    },
                    Waiting::Audit { room } => Asked::Audit { room },
                }
            }
            code::JOIN if is_join_refusal(error.code) => Asked::Join,
            _ => return None,
        };
        Some(Event::Refused {
            asked,
            code: error.code,
            message: error.message.to_string(),
        })
    }
}

/// A change announced by `by` (or, with no one named, settings as they are).
fn changed(by: String, before: Option<&RoomSettings>, now: &RoomSettings) -> SettingsCause {
    if by.is_empty() {
        return SettingsCause::Asked;
    }
    let what = before.map_or_else(Vec::new, |before| now.changes_from(before));
    SettingsCause::Changed { by, what }
}

/// The ROOM_SETTINGS of `change`, the modes changed from `current`.
fn settings_frame(room: &str, change: &SettingsChange, current: u8) -> Frame {
    let mut bits = 0;
    if change.topic.is_some() {
        bits |= SettingsFrame::TOPIC;
    }
    if change.set | change.clear != 0 {
        bits |= SettingsFrame::MODES;
    }
    if change.member_limit.is_some() {
        bits |= SettingsFrame::MEMBER_LIMIT;
    }
    Frame::RoomSettings(SettingsFrame {
        room: Str8::truncated(room),
        change: bits,
        modes: change.modes_from(current),
        member_limit: change.member_limit.unwrap_or(0),
        topic: Str16::truncated(change.topic.as_deref().unwrap_or("")),
    })
}
