//! How moderation reads (spec section 21), the same in both front ends:
//! actions announced or audited, room settings and their changes, the
//! room list with topics and refusals that say what role is missing.
//! `me` is the user's name: what names them reads "you".

use confab_protocol::frame::{modes, ModAction, Role};
use confab_protocol::ErrorCode;

use crate::format::{timestamp, TimeStyle};
use crate::moderation::{
    describe_duration, Asked, Change, ListedRoom, Record, RoomSettings, SettingsCause,
};

/// `name`, or "you" when it is the user's.
fn who<'a>(name: &'a str, me: &str) -> &'a str {
    if !me.is_empty() && name.eq_ignore_ascii_case(me) {
        "you"
    } else {
        name
    }
}

/// An action announced: "bob was kicked from #rust by alice: spamming",
/// "you were muted in #rust by alice for 10m".
pub fn record(r: &Record, me: &str) -> String {
    let (target, actor) = (who(&r.target, me), who(&r.actor, me));
    let be = if target == "you" { "were" } else { "was" };
    let room = format!("#{}", r.room);
    // Relative, as it was asked: the clocks of server and client need not agree.
    let span = if r.expires > r.time {
        format!(" for {}", describe_duration(r.expires - r.time))
    } else {
        String::new()
    };
    let text = match r.action {
        ModAction::Kick => format!("{target} {be} kicked from {room} by {actor}"),
        ModAction::Ban => format!("{target} {be} banned from {room} by {actor}{span}"),
        ModAction::Unban => format!("the ban on {target} in {room} was lifted by {actor}"),
        ModAction::Mute => format!("{target} {be} muted in {room} by {actor}{span}"),
        ModAction::Unmute => format!("{target} {be} unmuted in {room} by {actor}"),
        ModAction::Invite if target == "you" => {
            format!("you were invited to {room} by {actor}{span} (/join {room})")
        }
        ModAction::Invite => format!("{target} {be} invited to {room} by {actor}{span}"),
        ModAction::Op => format!("{target} {be} made a room operator of {room} by {actor}"),
        ModAction::Deop => format!("{target} {be} removed as room operator of {room} by {actor}"),
        ModAction::Voice => format!("{target} {be} given a voice in {room} by {actor}"),
        ModAction::Devoice => format!("{target} {be} devoiced in {room} by {actor}"),
        ModAction::Disconnect => format!("{target} {be} disconnected from the server by {actor}"),
        ModAction::ServerBan => format!("{target} {be} banned from the server by {actor}{span}"),
        ModAction::ServerUnban => format!("the server ban on {target} was lifted by {actor}"),
        ModAction::Announce => return format!("{actor} announced to everyone: {}", r.reason),
        ModAction::Settings => {
            return format!("{actor} changed the settings of {room}: {}", r.reason)
        }
    };
    if r.reason.is_empty() {
        text
    } else {
        format!("{text}: {}", r.reason)
    }
}

/// A whole `/audit` answer: a heading, then one line per entry, oldest first.
pub fn audit(
    room: &str,
    entries: &[Record],
    older: bool,
    me: &str,
    style: TimeStyle,
) -> Vec<String> {
    let log = if room.is_empty() {
        "the server's moderation log".to_string()
    } else {
        format!("the moderation log of #{room}")
    };
    if entries.is_empty() {
        return vec![format!("no entries in {log}")];
    }
    let n = entries.len();
    let more = if older {
        "; /audit again for older"
    } else {
        ""
    };
    let mut lines = vec![format!(
        "{log}, {n} {}{more}:",
        if n == 1 { "entry" } else { "entries" }
    )];
    lines.extend(
        entries
            .iter()
            .map(|r| format!("[{}] {}", timestamp(r.time, style), record(r, me))),
    );
    lines
}

/// Modes and limit as `+im, limit 50`; empty when none.
pub fn describe_modes(bits: u8, member_limit: u32) -> String {
    let mut letters = String::new();
    if bits & modes::INVITE_ONLY != 0 {
        letters.push('i');
    }
    if bits & modes::MODERATED != 0 {
        letters.push('m');
    }
    let mut parts = Vec::new();
    if !letters.is_empty() {
        parts.push(format!("+{letters}"));
    }
    if member_limit > 0 {
        parts.push(format!("limit {member_limit}"));
    }
    parts.join(", ")
}

/// A rank as a sentence says it: "you are a room operator".
pub fn role(role: Role) -> &'static str {
    match role {
        Role::User => "a member",
        Role::Voiced => "voiced",
        Role::Operator => "a room operator",
        Role::Founder => "the founder",
        Role::ServerOperator => "a server operator",
    }
}

/// `Rust talk (set by alice, 2026-11-25 14:03:07)`.
fn topic_text(s: &RoomSettings, me: &str, style: TimeStyle) -> String {
    if s.topic_by.is_empty() {
        return s.topic.clone();
    }
    let at = timestamp(s.topic_at, style);
    format!("{} (set by {}, {at})", s.topic, who(&s.topic_by, me))
}

/// What a ROOM_INFO says, as lines: on a join the topic (and modes or a
/// role, if any); as an answer everything; as a change what changed.
pub fn settings(
    s: &RoomSettings,
    cause: &SettingsCause,
    me: &str,
    style: TimeStyle,
) -> Vec<String> {
    let room = format!("#{}", s.room);
    let modes = describe_modes(s.modes, s.member_limit);
    match cause {
        SettingsCause::Joined => {
            let mut lines = Vec::new();
            if !s.topic.is_empty() {
                lines.push(format!("topic: {}", topic_text(s, me, style)));
            }
            let mut about = Vec::new();
            if !modes.is_empty() {
                about.push(format!("modes: {modes}"));
            }
            if s.role != Role::User {
                about.push(format!("you are {} here", role(s.role)));
            }
            if !about.is_empty() {
                lines.push(about.join("; "));
            }
            lines
        }
        SettingsCause::Asked => {
            let topic = if s.topic.is_empty() {
                format!("{room} has no topic")
            } else {
                format!("topic of {room}: {}", topic_text(s, me, style))
            };
            let founder = if s.founder.is_empty() {
                "no founder".to_string()
            } else {
                format!("founded by {}", who(&s.founder, me))
            };
            let modes = if modes.is_empty() {
                "no modes".into()
            } else {
                modes
            };
            vec![
                topic,
                format!("{room}: {modes}; {founder}; you are {}", role(s.role)),
            ]
        }
        SettingsCause::Changed { by, what } => {
            let by = who(by, me);
            if what.is_empty() {
                let modes = if modes.is_empty() {
                    "no modes".into()
                } else {
                    modes
                };
                return vec![format!("{by} changed the settings of {room}: now {modes}")];
            }
            what.iter()
                .map(|change| changed(by, &room, s, *change))
                .collect()
        }
    }
}

fn changed(by: &str, room: &str, s: &RoomSettings, change: Change) -> String {
    match change {
        Change::Topic if s.topic.is_empty() => format!("{by} cleared the topic of {room}"),
        Change::Topic => format!("{by} set the topic of {room}: {}", s.topic),
        Change::Mode { bit, on } => {
            let (letter, meaning) = match (bit, on) {
                (modes::INVITE_ONLY, true) => ('i', "only invited users may join"),
                (modes::INVITE_ONLY, false) => ('i', "anyone may join"),
                (_, true) => ('m', "only voiced members and operators may speak"),
                (_, false) => ('m', "anyone may speak"),
            };
            let sign = if on { '+' } else { '-' };
            format!("{sign}{letter} on {room} by {by}: {meaning}")
        }
        Change::MemberLimit(0) => format!("-l on {room} by {by}: no member limit"),
        Change::MemberLimit(n) => format!("+l on {room} by {by}: at most {n} members"),
    }
}

/// The room list: one line when no room has a topic or modes, else a
/// line per room.
pub fn room_list(rooms: &[ListedRoom]) -> Vec<String> {
    let plain = rooms.iter().all(|r| r.topic.is_empty() && r.modes == 0);
    if plain {
        let list: Vec<String> = rooms
            .iter()
            .map(|r| format!("{} ({})", r.name, r.members))
            .collect();
        return vec![format!("rooms: {}", list.join(", "))];
    }
    let mut lines = vec![format!("rooms ({}):", rooms.len())];
    for r in rooms {
        let modes = describe_modes(r.modes, 0);
        let mut line = format!("  #{} ({})", r.name, r.members);
        if !modes.is_empty() {
            line += &format!(" {modes}");
        }
        if !r.topic.is_empty() {
            line += &format!(": {}", r.topic);
        }
        lines.push(line);
    }
    lines
}

/// A refusal, naming what was refused: "cannot kick bob: kicking in #den
/// needs room operator; you are voiced" (the server names the role,
/// `[MOD-4]`); with no message from the server, what the code means.
pub fn refused(asked: &Asked, code: ErrorCode, message: &str) -> String {
    let (what, needs) = match asked {
        Asked::Moderate(m) => {
            let verb = match m.action {
                ModAction::Kick => "kick",
                ModAction::Ban => "ban",
                ModAction::Unban => "unban",
                ModAction::Mute => "mute",
                ModAction::Unmute => "unmute",
                ModAction::Invite => "invite",
                ModAction::Op => "op",
                ModAction::Deop => "deop",
                ModAction::Voice => "voice",
                ModAction::Devoice => "devoice",
                ModAction::Disconnect => "disconnect",
                ModAction::ServerBan => "server-ban",
                ModAction::ServerUnban => "server-unban",
                ModAction::Announce | ModAction::Settings => "announce",
            };
            let what = if m.target.is_empty() {
                verb.to_string()
            } else {
                format!("{verb} {}", m.target)
            };
            let needs = match m.action {
                ModAction::Op | ModAction::Deop => "the founder or a server operator",
                action if action.is_server_wide() => "a server operator",
                _ => "a room operator",
            };
            (what, needs)
        }
        Asked::Settings { room, change } if change.is_query() => {
            (format!("show the settings of #{room}"), "")
        }
        Asked::Settings { room, change } if change.topic.is_some() => {
            (format!("set the topic of #{room}"), "a room operator")
        }
        Asked::Settings { room, .. } => (format!("change the modes of #{room}"), "a room operator"),
        Asked::Audit { room } if room.is_empty() => (
            "read the server's moderation log".to_string(),
            "a server operator",
        ),
        Asked::Audit { room } => (
            format!("read the moderation log of #{room}"),
            "a room operator",
        ),
        Asked::Join => ("join".to_string(), ""),
    };
    let why = if !message.is_empty() {
        message.to_string()
    } else if code == ErrorCode::NOT_PERMITTED && !needs.is_empty() {
        format!("you need to be {needs}")
    } else {
        code.description().to_lowercase()
    };
    format!("cannot {what}: {why}")
}

#[cfg(test)]
#[path = "moderation_tests.rs"]
mod tests;
