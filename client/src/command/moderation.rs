//! Parsing the moderation commands (spec section 21): actions on a person
//! (`/kick`, `/ban`, …), room settings (`/topic`, `/mode`), server-wide
//! actions (`/disconnect`, `/sban`, `/announce`) and `/audit`.
//!
//! A room action acts in the current room unless a `#ROOM` comes first
//! (names never start with `#`, `[SEC-4]`, so it cannot be a nick).

use confab_protocol::frame::{modes, ModAction};
use confab_protocol::moderation::{AddressPattern, MOD_TEXT_MAX};

use super::{room_name, Command, DEFAULT_HISTORY};
use crate::moderation::parse_duration;

/// A moderation action as typed: MODERATE's fields (`[MOD-20]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moderation {
    pub action: ModAction,
    /// Empty for a server-wide action.
    pub room: String,
    /// A username, an address pattern (`@…`), or empty (`/announce`).
    pub target: String,
    /// 0: never expires (or the action takes no duration).
    pub duration_ms: u64,
    /// The reason; `/announce`'s text.
    pub reason: String,
}

/// What `/topic` or `/mode` changes; nothing: a query (`[MOD-5]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    /// The new topic; blank clears it.
    pub topic: Option<String>,
    /// Mode bits turned on and off (`modes::INVITE_ONLY`, `modes::MODERATED`).
    pub set: u8,
    pub clear: u8,
    /// The new member limit; 0: none.
    pub member_limit: Option<u32>,
}

impl SettingsChange {
    /// Nothing to change: asks for the room's settings.
    pub fn is_query(&self) -> bool {
        self.topic.is_none() && self.set == 0 && self.clear == 0 && self.member_limit.is_none()
    }

    /// The modes after this change of `current`.
    pub fn modes_from(&self, current: u8) -> u8 {
        (current & !self.clear) | self.set
    }
}

/// Help for the moderation commands, shown by `/help`.
pub const HELP: &str = "\
Moderation (a room action acts in the current room unless #ROOM comes first;
DURATION is like 30s, 10m, 2h, 1d, 1w; without it, until undone):
/topic [TEXT]       show the topic, or set it (/topic -delete clears it)
/mode [+i|-i] [+m|-m] [+l N|-l]
                    show the room's settings, or change them: invite-only,
                    moderated (only voiced members and operators speak), limit
/kick NICK [REASON] remove NICK from the room
/ban NICK|@ADDR[/PREFIX] [DURATION] [REASON]   /unban NICK|@ADDR[/PREFIX]
/mute NICK [DURATION] [REASON]                 /unmute NICK
/op NICK, /deop NICK        make NICK a room operator, or no longer one
/voice NICK, /devoice NICK  let NICK speak in a moderated room, or no longer
/invite NICK [#ROOM] let NICK join an invite-only room once
/audit [#ROOM|*] [N] the room's moderation log (*: the server's); again for older
Server operators: /disconnect NICK [REASON], /sban NICK|@ADDR [DURATION] [REASON],
/sunban NICK|@ADDR, /announce TEXT (a notice to everyone)";

/// The commands of this module, for Tab.
pub const NAMES: &[&str] = &[
    "/announce",
    "/audit",
    "/ban",
    "/deop",
    "/devoice",
    "/disconnect",
    "/invite",
    "/kick",
    "/mode",
    "/mute",
    "/op",
    "/sban",
    "/sunban",
    "/topic",
    "/unban",
    "/unmute",
    "/voice",
];

/// Parses a moderation command; `None` when `name` is none of them.
pub(super) fn parse(name: &str, args: &str, room: &str) -> Option<Result<Command, String>> {
    let (action, usage) = match name {
        "topic" | "t" => return Some(topic(args, room)),
        "mode" => return Some(mode(args, room)),
        "audit" => return Some(audit(args, room)),
        "announce" => return Some(announce(args)),
        "kick" | "k" => (ModAction::Kick, "/kick [#ROOM] NICK [REASON]"),
        "ban" => (
            ModAction::Ban,
            "/ban [#ROOM] NICK|@ADDR[/PREFIX] [DURATION] [REASON]",
        ),
        "unban" => (ModAction::Unban, "/unban [#ROOM] NICK|@ADDR[/PREFIX]"),
        "mute" => (ModAction::Mute, "/mute [#ROOM] NICK [DURATION] [REASON]"),
        "unmute" => (ModAction::Unmute, "/unmute [#ROOM] NICK"),
        "op" => (ModAction::Op, "/op [#ROOM] NICK"),
        "deop" => (ModAction::Deop, "/deop [#ROOM] NICK"),
        "voice" => (ModAction::Voice, "/voice [#ROOM] NICK"),
        "devoice" => (ModAction::Devoice, "/devoice [#ROOM] NICK"),
        "invite" => (ModAction::Invite, "/invite NICK [#ROOM] [DURATION]"),
        "disconnect" => (ModAction::Disconnect, "/disconnect NICK [REASON]"),
        "sban" => (
            ModAction::ServerBan,
            "/sban NICK|@ADDR[/PREFIX] [DURATION] [REASON]",
        ),
        "sunban" => (ModAction::ServerUnban, "/sunban NICK|@ADDR[/PREFIX]"),
        _ => return None,
    };
    Some(act(action, args, room, &format!("usage: {usage}")))
}

/// `[#ROOM] TARGET [DURATION] [REASON]`, and `/invite`'s room after the target.
fn act(action: ModAction, args: &str, current: &str, usage: &str) -> Result<Command, String> {
    let (room, rest) = room_first(args);
    let (target, mut rest) = split_word(rest);
    if target.is_empty() {
        return Err(usage.into());
    }
    let mut room = room.map(str::to_string);
    if action == ModAction::Invite && room.is_none() {
        let (word, after) = split_word(rest);
        if word.starts_with('#') {
            room = Some(room_name(word.to_string()));
            rest = after;
        }
    }
    let room = if action.is_server_wide() {
        String::new()
    } else {
        in_room(room, current, usage)?
    };
    let target = if action.takes_pattern() && target.starts_with('@') {
        // spec: MOD-10 — said here rather than as the server's INVALID_TARGET.
        target
            .parse::<AddressPattern>()
            .map_err(|e| format!("{target} is not an address pattern: {e}"))?;
        target.to_string()
    } else {
        // `@bob` is how people write a nick; only bans take addresses.
        let name = target.strip_prefix('@').unwrap_or(target);
        if name.is_empty() || name.starts_with('@') {
            return Err(format!("{target}: a nick is needed here; {usage}"));
        }
        name.to_string()
    };
    let mut duration_ms = 0;
    if action.takes_duration() {
        let (word, after) = split_word(rest);
        if let Some(ms) = parse_duration(word) {
            duration_ms = ms;
            rest = after;
        } else if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{word}: a duration needs a unit, as in 30s, 10m, 2h, 1d; {usage}"
            ));
        }
    }
    Ok(Command::Moderate(Moderation {
        action,
        room,
        target,
        duration_ms,
        reason: text(rest, "the reason")?,
    }))
}

/// `/topic [#ROOM] [TEXT]`, `/topic [#ROOM] -delete`.
fn topic(args: &str, current: &str) -> Result<Command, String> {
    const USAGE: &str = "usage: /topic [#ROOM] [TEXT], or -delete to clear it";
    let (room, rest) = room_first(args);
    let room = in_room(room.map(str::to_string), current, USAGE)?;
    let topic = match rest {
        "" => None,
        "-delete" => Some(String::new()),
        text_ => Some(text(text_, "a topic")?),
    };
    Ok(Command::Settings {
        room,
        change: SettingsChange {
            topic,
            ..SettingsChange::default()
        },
    })
}

/// `/mode [#ROOM] [+i|-i] [+m|-m] [+l N|-l]`; the letters combine (`+im`).
fn mode(args: &str, current: &str) -> Result<Command, String> {
    const USAGE: &str = "usage: /mode [#ROOM] [+i|-i] [+m|-m] [+l N|-l]";
    let (room, rest) = room_first(args);
    let room = in_room(room.map(str::to_string), current, USAGE)?;
    let mut change = SettingsChange::default();
    let mut words = rest.split_whitespace();
    while let Some(word) = words.next() {
        let mut on = None;
        for c in word.chars() {
            match (c, on) {
                ('+', _) => on = Some(true),
                ('-', _) => on = Some(false),
                ('i' | 'm', Some(on)) => {
                    let bit = if c == 'i' {
                        modes::INVITE_ONLY
                    } else {
                        modes::MODERATED
                    };
                    let (add, remove) = if on {
                        (&mut change.set, &mut change.clear)
                    } else {
                        (&mut change.clear, &mut change.set)
                    };
                    *add |= bit;
                    *remove &= !bit;
                }
                ('l', Some(true)) => {
                    let limit = words.next().and_then(|n| n.parse::<u32>().ok());
                    let limit = limit.filter(|n| *n > 0).ok_or(
                        "+l takes the most members, a number from 1; -l removes the limit",
                    )?;
                    change.member_limit = Some(limit);
                }
                ('l', Some(false)) => change.member_limit = Some(0),
                _ => return Err(format!("{word}: unknown mode; {USAGE}")),
            }
        }
    }
    Ok(Command::Settings { room, change })
}

/// `/audit [#ROOM|*] [N]`: `*` is the whole server's log.
fn audit(args: &str, current: &str) -> Result<Command, String> {
    const USAGE: &str = "usage: /audit [#ROOM|*] [N], N from 1 to 65535";
    let count = |word: &str| word.parse::<u16>().ok().filter(|n| *n > 0);
    let words: Vec<&str> = args.split_whitespace().collect();
    let scope = |word: &str| match word {
        "*" => String::new(),
        room => room_name(room.to_string()),
    };
    let (room, count) = match words.as_slice() {
        [] => (None, DEFAULT_HISTORY),
        [word] => match count(word) {
            Some(n) => (None, n),
            None => (Some(scope(word)), DEFAULT_HISTORY),
        },
        [room, n] => (Some(scope(room)), count(n).ok_or(USAGE)?),
        _ => return Err(USAGE.into()),
    };
    let room = match room {
        Some(room) => room,
        None => in_room(None, current, USAGE)?,
    };
    Ok(Command::Audit { room, count })
}

/// `/announce TEXT`: a notice to everyone (`[MOD-13]`).
fn announce(args: &str) -> Result<Command, String> {
    if args.is_empty() {
        return Err("usage: /announce TEXT".into());
    }
    Ok(Command::Moderate(Moderation {
        action: ModAction::Announce,
        room: String::new(),
        target: String::new(),
        duration_ms: 0,
        reason: text(args, "the announcement")?,
    }))
}

/// A leading `#ROOM`, and the rest.
fn room_first(args: &str) -> (Option<&str>, &str) {
    let (word, rest) = split_word(args);
    match word.strip_prefix('#') {
        Some(room) if !room.is_empty() => (Some(room), rest),
        _ => (None, args),
    }
}

/// The first word and the rest, trimmed.
fn split_word(args: &str) -> (&str, &str) {
    let args = args.trim();
    let (word, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    (word, rest.trim())
}

/// The named room, else the current one, else the user is told to name one.
fn in_room(room: Option<String>, current: &str, usage: &str) -> Result<String, String> {
    match room {
        Some(room) => Ok(room),
        None if !current.is_empty() => Ok(current.to_string()),
        None => Err(format!(
            "you are in no room: name one, as in {}",
            usage
                .trim_start_matches("usage: ")
                .replacen("[#ROOM]", "#ROOM", 1)
        )),
    }
}

/// A topic or reason: at most 390 bytes (`[MOD-18]`), said before sending.
fn text(text: &str, what: &str) -> Result<String, String> {
    if text.len() > MOD_TEXT_MAX {
        return Err(format!(
            "{what} is {} bytes; the most is {MOD_TEXT_MAX}",
            text.len()
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
#[path = "moderation_tests.rs"]
mod tests;
