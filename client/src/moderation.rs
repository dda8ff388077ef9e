//! What the client knows of moderation (spec section 21), apart from the
//! wire: a room's settings and what changed in them, an action as announced
//! or audited, a request waiting for its answer, and durations as people
//! type them (`10m`, `2h`, `1d`).

use confab_protocol::frame::{modes, ModerationEvent, RoomInfo, RoomInfoEntry};
use confab_protocol::ErrorCode;

pub use confab_protocol::frame::{ModAction, Role};

use crate::command::{Moderation, SettingsChange};

/// A room's settings as its ROOM_INFO gives them (`[MOD-5]`, `[MOD-6]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSettings {
    pub room: String,
    /// Empty: none.
    pub topic: String,
    /// Who set the topic and when (server time); empty and 0 if never set.
    pub topic_by: String,
    pub topic_at: u64,
    /// The mode bits (`modes::INVITE_ONLY`, `modes::MODERATED`).
    pub modes: u8,
    /// 0: no limit.
    pub member_limit: u32,
    /// The user's own rank in the room.
    pub role: Role,
    /// Empty when the room has none.
    pub founder: String,
}

impl From<&RoomInfo> for RoomSettings {
    fn from(info: &RoomInfo) -> Self {
        RoomSettings {
            room: info.room.to_string(),
            topic: info.topic.to_string(),
            topic_by: info.topic_by.to_string(),
            topic_at: info.topic_at,
            modes: info.modes,
            member_limit: info.member_limit,
            role: info.role,
            founder: info.founder.to_string(),
        }
    }
}

impl RoomSettings {
    /// What differs in `self` from the settings known `before` it.
    pub fn changes_from(&self, before: &RoomSettings) -> Vec<Change> {
        let mut changes = Vec::new();
        if self.topic != before.topic || self.topic_at != before.topic_at {
            changes.push(Change::Topic);
        }
        for bit in [modes::INVITE_ONLY, modes::MODERATED] {
            if self.modes & bit != before.modes & bit {
                changes.push(Change::Mode {
                    bit,
                    on: self.modes & bit != 0,
                });
            }
        }
        if self.member_limit != before.member_limit {
            changes.push(Change::MemberLimit(self.member_limit));
        }
        changes
    }

    /// The user's rank after an action of `record` that names them.
    pub fn role_after(&mut self, record: &Record) {
        self.role = match (record.action, self.role) {
            (ModAction::Op, Role::User | Role::Voiced) => Role::Operator,
            (ModAction::Deop, Role::Operator) => Role::User,
            (ModAction::Voice, Role::User) => Role::Voiced,
            (ModAction::Devoice, Role::Voiced) => Role::User,
            (_, role) => role,
        };
    }
}

/// One difference between two ROOM_INFOs of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Set (to the same text, or blank: cleared) by someone, at some time.
    Topic,
    /// A mode bit turned on or off.
    Mode { bit: u8, on: bool },
    /// 0: no limit.
    MemberLimit(u32),
}

/// Why a ROOM_INFO arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsCause {
    /// Right after JOINED (`[MOD-6]`).
    Joined,
    /// The answer to the user's own query (`/topic`, `/mode` with nothing to change).
    Asked,
    /// Someone changed the settings (`changed_by`); what differs from the
    /// settings known before, empty when none were known.
    Changed { by: String, what: Vec<Change> },
}

/// A moderation action as announced (MODERATION_EVENT) or audited (an
/// AUDIT_ENTRIES entry): the same fields (`[MOD-12]`, `[MOD-16]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: u64,
    pub time: u64,
    pub action: ModAction,
    /// Empty for a server-wide action.
    pub room: String,
    pub actor: String,
    /// A username, an address pattern (`@…`), or empty (ANNOUNCE, SETTINGS).
    pub target: String,
    /// Server time at which it stops applying; 0: never, or not applicable.
    pub expires: u64,
    pub reason: String,
}

impl From<&ModerationEvent> for Record {
    fn from(event: &ModerationEvent) -> Self {
        Record {
            id: event.id,
            time: event.time,
            action: event.action,
            room: event.room.to_string(),
            actor: event.actor.to_string(),
            target: event.target.to_string(),
            expires: event.expires,
            reason: event.reason.to_string(),
        }
    }
}

/// One room of a room list: with its modes and topic from a `MODERATION`
/// server (`[MOD-17]`), without from any other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRoom {
    pub name: String,
    pub members: u32,
    pub modes: u8,
    pub topic: String,
}

impl From<&RoomInfoEntry> for ListedRoom {
    fn from(entry: &RoomInfoEntry) -> Self {
        ListedRoom {
            name: entry.name.to_string(),
            members: entry.members,
            modes: entry.modes,
            topic: entry.topic.to_string(),
        }
    }
}

/// A request the server refused, as the user made it: the refusal's
/// wording names it ("cannot kick bob: …").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    Moderate(Moderation),
    Settings {
        room: String,
        change: SettingsChange,
    },
    Audit {
        room: String,
    },
    /// A JOIN refused by a ban, `INVITE_ONLY` or the member limit (`[MOD-7]`).
    Join,
}

/// A refusal that reads best with the request it answers.
pub fn is_join_refusal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::BANNED | ErrorCode::INVITE_ONLY | ErrorCode::ROOM_FULL
    )
}

/// Milliseconds of a duration as typed: one or more of a number and a unit
/// (`s`, `m`, `h`, `d`, `w`), as in `90s`, `10m`, `1h30m`, `2d`. `None` when
/// `word` is not one.
pub fn parse_duration(word: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in word.chars() {
        if let Some(digit) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(digit.into())?,
            );
            continue;
        }
        let unit: u64 = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 604_800_000,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    (number.is_none() && total > 0).then_some(total)
}

/// A duration in milliseconds as people say it: `10m`, `2h`, `1d 6h`
/// (the two largest units, rounded down to whole seconds).
pub fn describe_duration(millis: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (604_800, "w"),
        (86_400, "d"),
        (3_600, "h"),
        (60, "m"),
        (1, "s"),
    ];
    let mut seconds = millis / 1_000;
    if seconds == 0 {
        return "a moment".into();
    }
    let mut parts = Vec::new();
    for (size, unit) in UNITS {
        if seconds >= size && parts.len() < 2 {
            parts.push(format!("{}{unit}", seconds / size));
            seconds %= size;
        } else if !parts.is_empty() {
            // Only adjacent units: `1w 3s` reads oddly, `1w` is enough.
            break;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_typed() {
        assert_eq!(parse_duration("10m"), Some(600_000));
        assert_eq!(parse_duration("2h"), Some(7_200_000));
        assert_eq!(parse_duration("1d"), Some(86_400_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("90s"), Some(90_000));
        assert_eq!(parse_duration("1w"), Some(604_800_000));
        for not in [
            "",
            "10",
            "m",
            "10x",
            "h2",
            "0m",
            "1h30",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(not), None, "{not:?}");
        }
    }

    #[test]
    fn durations_are_described_in_the_two_largest_units() {
        assert_eq!(describe_duration(600_000), "10m");
        assert_eq!(describe_duration(5_400_000), "1h 30m");
        assert_eq!(
            describe_duration(86_400_000 + 6 * 3_600_000 + 5_000),
            "1d 6h"
        );
        assert_eq!(describe_duration(604_800_000 + 3_000), "1w");
        assert_eq!(describe_duration(500), "a moment");
    }

    #[test]
    fn changes_are_what_differs() {
        let before = RoomSettings {
            room: "rust".into(),
            topic: String::new(),
            topic_by: String::new(),
            topic_at: 0,
            modes: 0,
            member_limit: 0,
            role: Role::User,
            founder: String::new(),
        };
        let mut after = before.clone();
        assert!(after.changes_from(&before).is_empty());
        after.topic = "Rust talk".into();
        after.topic_at = 5;
        after.modes = modes::MODERATED;
        after.member_limit = 50;
        assert_eq!(
            after.changes_from(&before),
            vec![
                Change::Topic,
                Change::Mode {
                    bit: modes::MODERATED,
                    on: true
                },
                Change::MemberLimit(50)
            ]
        );
    }
}
