//! Who may do what (`[MOD-3]`, `[MOD-4]`): pure functions of ranks, and the
//! plain-English refusals that name the role a request needs.

use confab_protocol::frame::{ModAction, Role};

/// A user's rank in a room, lowest first (`[MOD-3]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    None,
    Voiced,
    Operator,
    Founder,
    ServerOperator,
}

impl Rank {
    pub fn role(self) -> Role {
        match self {
            Rank::None => Role::User,
            Rank::Voiced => Role::Voiced,
            Rank::Operator => Role::Operator,
            Rank::Founder => Role::Founder,
            Rank::ServerOperator => Role::ServerOperator,
        }
    }

    /// The role's name in a sentence.
    pub fn name(self) -> &'static str {
        match self {
            Rank::None => "no role",
            Rank::Voiced => "voiced",
            Rank::Operator => "room operator",
            Rank::Founder => "founder",
            Rank::ServerOperator => "server operator",
        }
    }

    /// Who holds this rank or above, for "only ... can" sentences.
    fn holders_above(self) -> &'static str {
        match self {
            Rank::None | Rank::Voiced => "a room operator, the founder or a server operator",
            Rank::Operator => "the founder or a server operator",
            Rank::Founder | Rank::ServerOperator => "a server operator",
        }
    }
}

/// The least rank an action needs (the `action` table of section 21).
pub fn needed(action: ModAction) -> Rank {
    match action {
        ModAction::Op | ModAction::Deop => Rank::Founder,
        ModAction::Disconnect
        | ModAction::ServerBan
        | ModAction::ServerUnban
        | ModAction::Announce
        | ModAction::Settings => Rank::ServerOperator,
        _ => Rank::Operator,
    }
}

/// Whether the action acts on a person, so the rank rule applies (`[MOD-4]`).
pub fn acts_on_person(action: ModAction, target_is_pattern: bool) -> bool {
    match action {
        ModAction::Kick | ModAction::Mute | ModAction::Deop | ModAction::Devoice => true,
        ModAction::Ban | ModAction::Disconnect | ModAction::ServerBan => !target_is_pattern,
        _ => false,
    }
}

/// The action as a gerund, for refusals.
pub fn verb(action: ModAction) -> &'static str {
    match action {
        ModAction::Kick => "kicking",
        ModAction::Ban => "banning",
        ModAction::Unban => "unbanning",
        ModAction::Mute => "muting",
        ModAction::Unmute => "unmuting",
        ModAction::Invite => "inviting",
        ModAction::Op => "making room operators",
        ModAction::Deop => "removing room operators",
        ModAction::Voice => "giving voice",
        ModAction::Devoice => "removing voice",
        ModAction::Disconnect => "disconnecting users",
        ModAction::ServerBan => "banning from the server",
        ModAction::ServerUnban => "lifting server bans",
        ModAction::Announce => "announcing to the server",
        _ => "changing settings",
    }
}

/// Who is asking: its rank where it asks, and whether it is a guest.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub rank: Rank,
    pub guest: bool,
}

/// `[MOD-3]`: the refusal of a request needing `needed` in `place` (a room
/// name, or "" for the server), or `None` when the actor holds it.
pub fn lacks(what: &str, place: &str, needed: Rank, actor: Actor) -> Option<String> {
    if actor.rank >= needed && !actor.guest {
        return None;
    }
    let at = if place.is_empty() {
        String::new()
    } else {
        format!(" in {place}")
    };
    let holds = if actor.guest {
        "guests hold no roles".to_string()
    } else if actor.rank == Rank::None {
        "you hold no role".to_string()
    } else {
        format!("you are {}", actor.rank.name())
    };
    Some(format!("{what}{at} needs {}; {holds}", needed.name()))
}

/// `[MOD-3]`, `[MOD-4]`: may `actor` do `action` (to `target`, a person of
/// rank `target_rank`, when the action acts on one)? The refusal's text.
pub fn check(
    action: ModAction,
    place: &str,
    actor: Actor,
    target: Option<(&str, Rank, bool)>,
) -> Result<(), String> {
    if let Some(refusal) = lacks(verb(action), place, needed(action), actor) {
        return Err(refusal);
    }
    // spec: MOD-4 — strictly above the target; never oneself.
    if let Some((name, rank, is_self)) = target {
        if is_self {
            return Err(format!("you cannot act on yourself ({})", verb(action)));
        }
        let server_wide = action.is_server_wide();
        if (server_wide && rank == Rank::ServerOperator) || (!server_wide && rank >= actor.rank) {
            return Err(format!(
                "{name} is {}{}: only {} can do that",
                article(rank),
                rank.name(),
                rank.holders_above()
            ));
        }
    }
    Ok(())
}

fn article(rank: Rank) -> &'static str {
    match rank {
        Rank::Founder => "the ",
        Rank::Voiced | Rank::None => "",
        _ => "a ",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(rank: Rank) -> Actor {
        Actor { rank, guest: false }
    }

    #[test]
    fn each_action_needs_its_least_role() {
        // spec: MOD-3
        for action in [
            ModAction::Kick,
            ModAction::Ban,
            ModAction::Invite,
            ModAction::Voice,
        ] {
            assert!(check(action, "#den", actor(Rank::Voiced), None).is_err());
            assert!(check(action, "#den", actor(Rank::Operator), None).is_ok());
        }
        assert!(check(ModAction::Op, "#den", actor(Rank::Operator), None).is_err());
        assert!(check(ModAction::Op, "#den", actor(Rank::Founder), None).is_ok());
        assert!(check(ModAction::Announce, "", actor(Rank::Founder), None).is_err());
        assert!(check(ModAction::Announce, "", actor(Rank::ServerOperator), None).is_ok());
    }

    #[test]
    fn refusals_name_the_role_needed() {
        // spec: MOD-4
        let why = check(ModAction::Kick, "#den", actor(Rank::Voiced), None).unwrap_err();
        assert_eq!(why, "kicking in #den needs room operator; you are voiced");
        let guest = Actor {
            rank: Rank::None,
            guest: true,
        };
        let why = check(ModAction::Kick, "#den", guest, None).unwrap_err();
        assert!(
            why.ends_with("needs room operator; guests hold no roles"),
            "{why}"
        );
    }

    #[test]
    fn nobody_acts_on_an_equal_a_superior_or_themselves() {
        // spec: MOD-4
        let op = actor(Rank::Operator);
        assert!(check(
            ModAction::Kick,
            "#d",
            op,
            Some(("bob", Rank::Voiced, false))
        )
        .is_ok());
        let why = check(
            ModAction::Kick,
            "#d",
            op,
            Some(("al", Rank::Operator, false)),
        )
        .unwrap_err();
        assert_eq!(
            why,
            "al is a room operator: only the founder or a server operator can do that"
        );
        let founder = actor(Rank::Founder);
        assert!(check(
            ModAction::Deop,
            "#d",
            founder,
            Some(("f", Rank::Founder, true))
        )
        .is_err());
        let sop = actor(Rank::ServerOperator);
        let target = Some(("o", Rank::ServerOperator, false));
        assert!(check(ModAction::Disconnect, "", sop, target).is_err());
    }
}
