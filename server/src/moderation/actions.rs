//! What each action changes in a scope's state (`[MOD-11]`, `[MOD-21]`).

use confab_protocol::frame::ModAction;
use confab_protocol::ErrorCode;

use super::state::{self, Entry, Kind, RoomMod, MAX_ENTRIES};
use super::Refused;

fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Refused> {
    Err((code, message.into()))
}

/// `[MOD-11]`: what an action changes in the scope's state.
pub fn change(
    r: &mut RoomMod,
    action: ModAction,
    entry: Entry,
    place: &str,
    now: u64,
) -> Result<(), Refused> {
    let room_for_more = r.entry_count() < MAX_ENTRIES;
    let key = entry.key.clone();
    let target = entry.target.clone();
    let (kind, adding) = match action {
        ModAction::Ban | ModAction::ServerBan => (Kind::Ban, true),
        ModAction::Unban | ModAction::ServerUnban => (Kind::Ban, false),
        ModAction::Mute => (Kind::Mute, true),
        ModAction::Unmute => (Kind::Mute, false),
        ModAction::Invite => (Kind::Invite, true),
        ModAction::Op => (Kind::Op, true),
        ModAction::Deop => (Kind::Op, false),
        ModAction::Voice => (Kind::Voice, true),
        ModAction::Devoice => (Kind::Voice, false),
        // KICK, DISCONNECT and ANNOUNCE change no state.
        _ => return Ok(()),
    };
    let at = if place.is_empty() {
        "on the server".to_string()
    } else {
        format!("in {place}")
    };
    if adding {
        // Roles are not counted against the bound of MOD-21.
        let bounded = matches!(kind, Kind::Ban | Kind::Mute | Kind::Invite);
        if !state::put(r.list_mut(kind), entry, room_for_more || !bounded) {
            // spec: MOD-21
            return refuse(
                ErrorCode::INVALID_TARGET,
                format!("{at}: {MAX_ENTRIES} bans, mutes and invitations are held, the most allowed; remove one first"),
            );
        }
    } else if !state::remove(r.list_mut(kind), &key, now) {
        // spec: MOD-11 — removing what does not exist.
        let what = match kind {
            Kind::Ban => "ban of",
            Kind::Mute => "mute of",
            Kind::Op => "room operator role for",
            _ => "voice for",
        };
        return refuse(
            ErrorCode::INVALID_TARGET,
            format!("there is no {what} {target} {at}"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> Entry {
        Entry {
            target: key.into(),
            key: key.into(),
            pattern: None,
            expires: 0,
            reason: String::new(),
        }
    }

    #[test]
    fn removing_nothing_is_an_invalid_target() {
        // spec: MOD-11
        let mut room = RoomMod::new("den");
        let refused = change(&mut room, ModAction::Devoice, entry("bob"), "den", 1);
        assert_eq!(refused.unwrap_err().0, ErrorCode::INVALID_TARGET);
        change(&mut room, ModAction::Voice, entry("bob"), "den", 1).unwrap();
        change(&mut room, ModAction::Devoice, entry("bob"), "den", 1).unwrap();
        assert!(room.is_empty());
    }

    #[test]
    fn a_full_room_refuses_new_entries_but_replaces_old_ones() {
        // spec: MOD-21
        let mut room = RoomMod::new("den");
        for n in 0..MAX_ENTRIES {
            change(&mut room, ModAction::Ban, entry(&format!("u{n}")), "den", 1).unwrap();
        }
        let refused = change(&mut room, ModAction::Mute, entry("x"), "den", 1).unwrap_err();
        assert_eq!(refused.0, ErrorCode::INVALID_TARGET);
        assert!(refused.1.contains("the most allowed"), "{}", refused.1);
        change(&mut room, ModAction::Ban, entry("u0"), "den", 1).unwrap();
        change(&mut room, ModAction::Op, entry("x"), "den", 1).unwrap();
    }
}
