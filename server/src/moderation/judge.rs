//! Moderation's judgements of JOIN (`[MOD-7]`), SEND (`[MOD-9]`), LOGIN
//! and new connections (`[MOD-13]`), by the state as it stands.

use std::net::IpAddr;

use confab_protocol::names::name_key;
use confab_protocol::ErrorCode;

use super::{until, Entry, Moderation, Rank, Refused, Who};

impl Moderation {
    /// `[MOD-7]`: may `who` join the room, which has `members` members?
    /// `Ok(true)` when it comes in on an invitation, which the join uses up
    /// (`[MOD-8]`, see [`Moderation::use_invitation`]).
    pub fn admit(&self, room: &str, who: &Who, members: u32) -> Result<bool, Refused> {
        let key = name_key(room).to_string();
        // spec: MOD-7 — operators and above are never refused these three.
        if self.rank(&key, who) >= Rank::Operator {
            return Ok(false);
        }
        let now = self.now();
        let state = self.read();
        let Some(settings) = state.rooms.get(&key) else {
            return Ok(false);
        };
        // spec: MOD-7, MOD-20 — BANNED, then INVITE_ONLY, then ROOM_FULL.
        if let Some(ban) = settings
            .bans
            .iter()
            .find(|b| b.matches(&who.key, who.ip, now))
        {
            return Err((
                ErrorCode::BANNED,
                format!("you are banned from {room}{}", until(ban.expires)),
            ));
        }
        let invited = settings
            .invites
            .iter()
            .any(|i| i.matches(&who.key, who.ip, now));
        if settings.modes & confab_protocol::frame::modes::INVITE_ONLY != 0 && !invited {
            return Err((
                ErrorCode::INVITE_ONLY,
                format!("{room} is invite-only: ask one of its operators to invite you"),
            ));
        }
        if settings.member_limit > 0 && members >= settings.member_limit {
            return Err((
                ErrorCode::ROOM_FULL,
                format!("{room} is full ({} members)", settings.member_limit),
            ));
        }
        Ok(invited)
    }

    /// `[MOD-9]`: may `who` speak in the room? The refusal says why.
    /// `who` is asked for only in a room that restricts speech: SEND is the
    /// hot path, and most rooms restrict nothing.
    pub fn may_speak(&self, room: &str, who: impl FnOnce() -> Who) -> Result<(), String> {
        if !self
            .speech_restricted
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Ok(());
        }
        let state = self.read();
        let Some(settings) = state.rooms.get(&name_key(room).to_string()) else {
            return Ok(());
        };
        let moderated = settings.modes & confab_protocol::frame::modes::MODERATED != 0;
        if settings.mutes.is_empty() && !moderated {
            return Ok(());
        }
        let who = &who();
        let rank = if self.is_operator(who) {
            Rank::ServerOperator
        } else {
            settings.rank(&who.key, who.registered)
        };
        let now = self.now();
        if let Some(mute) = settings
            .mutes
            .iter()
            .find(|m| m.matches(&who.key, who.ip, now))
        {
            // Operators are never muted (`[MOD-9]`): a mute left from
            // before they became one does not hold.
            if rank < Rank::Operator {
                return Err(format!("you are muted in {room}{}", until(mute.expires)));
            }
        }
        if moderated && rank < Rank::Voiced {
            return Err(format!(
                "{room} is moderated: only voiced members and operators speak"
            ));
        }
        Ok(())
    }

    /// `[MOD-13]`: the server ban on a name, if any, for its LOGIN.
    pub fn name_banned(&self, key: &str, now: u64) -> Option<Entry> {
        let unmatched: IpAddr = IpAddr::from([0u8; 16]);
        self.read()
            .server
            .bans
            .iter()
            .find(|b| b.pattern.is_none() && b.matches(key, unmatched, now))
            .cloned()
    }

    /// `[MOD-13]`: the server ban on an address, if any, for a new connection.
    pub fn address_banned(&self, ip: IpAddr) -> Option<Entry> {
        let now = self.now();
        let state = self.read();
        if state.server.bans.is_empty() {
            return None;
        }
        state
            .server
            .bans
            .iter()
            .find(|b| b.pattern.is_some() && b.matches("", ip, now))
            .cloned()
    }
}
