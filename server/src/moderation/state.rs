//! What moderation remembers (`[MOD-5]`, `[MOD-11]`, `[MOD-19]`): per room
//! its settings, roles, bans, mutes and invitations, and the server's bans.
//! Pure data: every question takes `now` and the entries expire by it
//! (`[MOD-14]`).

use std::net::IpAddr;

use confab_protocol::moderation::AddressPattern;
use confab_protocol::names::user_key;

use super::policy::Rank;

/// The most bans, mutes and invitations one room (or the server, for its
/// bans) holds together (`[MOD-21]`).
pub const MAX_ENTRIES: usize = 1_000;

/// A ban, mute or invitation: on a username (by key) or an address pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The canonical target as announced (`[MOD-10]`).
    pub target: String,
    /// What it is compared by: the username's key, or the canonical pattern.
    pub key: String,
    pub pattern: Option<AddressPattern>,
    /// 0: never expires.
    pub expires: u64,
    pub reason: String,
}

impl Entry {
    pub fn live(&self, now: u64) -> bool {
        self.expires == 0 || now < self.expires
    }

    pub fn matches(&self, key: &str, ip: IpAddr, now: u64) -> bool {
        self.live(now)
            && match &self.pattern {
                Some(pattern) => pattern.matches(ip),
                None => self.key == key,
            }
    }
}

/// The kinds of entries, as the store numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ban = 0,
    Mute = 1,
    Invite = 2,
    Op = 3,
    Voice = 4,
}

impl Kind {
    pub fn from_number(n: i64) -> Option<Kind> {
        [Kind::Ban, Kind::Mute, Kind::Invite, Kind::Op, Kind::Voice]
            .into_iter()
            .find(|k| *k as i64 == n)
    }
}

/// One room's moderation (`[MOD-5]`): settings and lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomMod {
    /// The canonical room name.
    pub name: String,
    /// The founder's account name; empty when none (`[MOD-3]`).
    pub founder: String,
    pub topic: String,
    pub topic_by: String,
    pub topic_at: u64,
    pub modes: u8,
    pub member_limit: u32,
    /// Room operators and voiced accounts, by key (`expires` unused).
    pub ops: Vec<Entry>,
    pub voiced: Vec<Entry>,
    pub bans: Vec<Entry>,
    pub mutes: Vec<Entry>,
    pub invites: Vec<Entry>,
}

impl RoomMod {
    pub fn new(name: &str) -> RoomMod {
        RoomMod {
            name: name.to_string(),
            ..RoomMod::default()
        }
    }

    /// The rank of the account `key` (registered) in the room, server
    /// operators aside; guests hold none (`[MOD-3]`).
    pub fn rank(&self, key: &str, registered: bool) -> Rank {
        if !registered {
            Rank::None
        } else if !self.founder.is_empty() && user_key(&self.founder) == key {
            Rank::Founder
        } else if self.ops.iter().any(|e| e.key == key) {
            Rank::Operator
        } else if self.voiced.iter().any(|e| e.key == key) {
            Rank::Voiced
        } else {
            Rank::None
        }
    }

    pub fn list(&self, kind: Kind) -> &Vec<Entry> {
        match kind {
            Kind::Ban => &self.bans,
            Kind::Mute => &self.mutes,
            Kind::Invite => &self.invites,
            Kind::Op => &self.ops,
            Kind::Voice => &self.voiced,
        }
    }

    pub fn list_mut(&mut self, kind: Kind) -> &mut Vec<Entry> {
        match kind {
            Kind::Ban => &mut self.bans,
            Kind::Mute => &mut self.mutes,
            Kind::Invite => &mut self.invites,
            Kind::Op => &mut self.ops,
            Kind::Voice => &mut self.voiced,
        }
    }

    /// Whether the room keeps anything worth storing (`[MOD-19]`).
    pub fn is_empty(&self) -> bool {
        *self == RoomMod::new(&self.name)
    }

    /// Drops expired bans, mutes and invitations (`[MOD-14]`: silently).
    pub fn purge(&mut self, now: u64) -> bool {
        let before = self.bans.len() + self.mutes.len() + self.invites.len();
        for kind in [Kind::Ban, Kind::Mute, Kind::Invite] {
            self.list_mut(kind).retain(|e| e.live(now));
        }
        before != self.bans.len() + self.mutes.len() + self.invites.len()
    }

    /// Bans, mutes and invitations held, against `MAX_ENTRIES`.
    pub fn entry_count(&self) -> usize {
        self.bans.len() + self.mutes.len() + self.invites.len()
    }
}

/// Puts `entry` in `list`, replacing one of the same key (`[MOD-11]`: a
/// repeated request replaces the expiry and reason). False when the list
/// is full and the entry would be new (`[MOD-21]`).
pub fn put(list: &mut Vec<Entry>, entry: Entry, room_for_more: bool) -> bool {
    if let Some(old) = list.iter_mut().find(|e| e.key == entry.key) {
        *old = entry;
        return true;
    }
    if !room_for_more {
        return false;
    }
    list.push(entry);
    true
}

/// Removes the live entry of `key`; false when there was none (`[MOD-11]`).
pub fn remove(list: &mut Vec<Entry>, key: &str, now: u64) -> bool {
    let before = list.len();
    list.retain(|e| !(e.key == key && e.live(now)));
    // An expired one is gone too, but removing it removed nothing.
    let removed = before != list.len();
    list.retain(|e| e.key != key);
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, expires: u64) -> Entry {
        Entry {
            target: key.into(),
            key: key.into(),
            pattern: None,
            expires,
            reason: String::new(),
        }
    }

    #[test]
    fn entries_expire_by_the_clock() {
        // spec: MOD-14
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let ban = entry("bob", 1_000);
        assert!(ban.matches("bob", ip, 999));
        assert!(!ban.matches("bob", ip, 1_000));
        assert!(entry("bob", 0).matches("bob", ip, u64::MAX));
        let pattern: AddressPattern = "@192.0.2.0/24".parse().unwrap();
        let by_address = Entry {
            pattern: Some(pattern),
            ..entry("@192.0.2.0/24", 0)
        };
        assert!(by_address.matches("anyone", ip, 5));
        assert!(!by_address.matches("anyone", "198.51.100.1".parse().unwrap(), 5));
    }

    #[test]
    fn a_repeat_replaces_and_removing_nothing_is_false() {
        // spec: MOD-11, MOD-21
        let mut list = vec![entry("bob", 10)];
        assert!(put(&mut list, entry("bob", 20), false));
        assert_eq!(list, [entry("bob", 20)]);
        assert!(!put(&mut list, entry("eve", 0), false), "full");
        assert!(remove(&mut list, "bob", 5));
        assert!(!remove(&mut list, "bob", 5));
        list.push(entry("old", 3));
        assert!(!remove(&mut list, "old", 5), "expired is nothing");
        assert!(list.is_empty());
    }

    #[test]
    fn guests_hold_no_rank_and_the_founder_outranks_operators() {
        // spec: MOD-3
        let mut room = RoomMod::new("#den");
        room.founder = "fay".into();
        room.ops.push(entry(&user_key("al"), 0));
        assert_eq!(room.rank(&user_key("al"), true), Rank::Operator);
        assert_eq!(room.rank(&user_key("al"), false), Rank::None);
        assert_eq!(room.rank(&user_key("fay"), true), Rank::Founder);
        assert_eq!(room.rank(&user_key("zed"), true), Rank::None);
    }
}
