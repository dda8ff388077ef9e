//! Moderation rules shared by server and client (spec section 21): the
//! address patterns of bans (`[MOD-10]`) and the fixed text limit
//! (`[MOD-18]`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The most bytes of a `topic` or `reason` (`[MOD-18]`): fixed, not advertised.
pub const MOD_TEXT_MAX: usize = 390;

/// The most bytes of an address pattern as a client may write it (`[MOD-18]`):
/// `@`, an IPv6 address with an embedded IPv4 one (45) and `/128`.
pub const PATTERN_MAX: usize = 50;

/// An address pattern (`[MOD-10]`): an IP address and a prefix length, the
/// bits past the prefix cleared. IPv4-mapped IPv6 patterns of at least
/// /96 are held as IPv4, the way peer addresses are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressPattern {
    addr: IpAddr,
    prefix: u8,
}

/// Why a text is not an address pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("an address pattern starts with '@'")]
    NoAt,
    #[error("an address pattern is at most {PATTERN_MAX} bytes")]
    TooLong,
    #[error("not an IPv4 or IPv6 address")]
    BadAddress,
    #[error("the prefix length is not a decimal number within the address's length")]
    BadPrefix,
}

impl AddressPattern {
    /// Whether `target` is meant as a pattern rather than a name: names
    /// never start with `@` (`[SEC-4]`).
    pub fn is_pattern(target: &str) -> bool {
        target.starts_with('@')
    }

    /// The address, masked to the prefix.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether a peer address falls under the pattern; an IPv4-mapped IPv6
    /// peer is compared as IPv4 (`[MOD-10]`).
    pub fn matches(&self, peer: IpAddr) -> bool {
        match (self.addr, unmap(peer)) {
            (IpAddr::V4(net), IpAddr::V4(peer)) => mask4(peer, self.prefix) == net,
            (IpAddr::V6(net), IpAddr::V6(peer)) => mask6(peer, self.prefix) == net,
            _ => false,
        }
    }
}

impl FromStr for AddressPattern {
    type Err = PatternError;

    /// spec: MOD-10 — `@`, an address, optionally `/` and a decimal prefix.
    fn from_str(text: &str) -> Result<Self, PatternError> {
        if text.len() > PATTERN_MAX {
            return Err(PatternError::TooLong);
        }
        let rest = text.strip_prefix('@').ok_or(PatternError::NoAt)?;
        let (addr, prefix) = match rest.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (rest, None),
        };
        // `Ipv4Addr` refuses leading zeros; both refuse zones, brackets and spaces.
        let addr: IpAddr = addr.parse().map_err(|_| PatternError::BadAddress)?;
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => full,
            Some(digits) => parse_prefix(digits, full)?,
        };
        Ok(normalise(addr, prefix))
    }
}

impl fmt::Display for AddressPattern {
    /// The canonical form (`[MOD-10]`): `/prefix` only when shorter than the address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        write!(f, "@{}", self.addr)?;
        if self.prefix < full {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

fn parse_prefix(digits: &str, full: u8) -> Result<u8, PatternError> {
    let decimal = !digits.is_empty()
        && digits.len() <= 3
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    match digits.parse::<u8>() {
        Ok(prefix) if decimal && prefix <= full => Ok(prefix),
        _ => Err(PatternError::BadPrefix),
    }
}

fn normalise(addr: IpAddr, prefix: u8) -> AddressPattern {
    match addr {
        IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => AddressPattern {
                addr: IpAddr::V4(mask4(v4, prefix - 96)),
                prefix: prefix - 96,
            },
            None => AddressPattern {
                addr: IpAddr::V6(mask6(v6, prefix)),
                prefix,
            },
        },
        IpAddr::V6(v6) => AddressPattern {
            addr: IpAddr::V6(mask6(v6, prefix)),
            prefix,
        },
        IpAddr::V4(v4) => AddressPattern {
            addr: IpAddr::V4(mask4(v4, prefix)),
            prefix,
        },
    }
}

fn unmap(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    }
}

fn mask4(addr: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    Ipv4Addr::from(u32::from(addr) & mask)
}

fn mask6(addr: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    Ipv6Addr::from(u128::from(addr) & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> Result<String, PatternError> {
        text.parse::<AddressPattern>().map(|p| p.to_string())
    }

    #[test]
    fn patterns_parse_to_their_canonical_form() {
        // spec: MOD-10
        assert_eq!(canonical("@198.51.100.7").unwrap(), "@198.51.100.7");
        assert_eq!(canonical("@198.51.100.7/32").unwrap(), "@198.51.100.7");
        assert_eq!(canonical("@203.0.113.77/24").unwrap(), "@203.0.113.0/24");
        assert_eq!(canonical("@0.0.0.0/0").unwrap(), "@0.0.0.0/0");
        assert_eq!(canonical("@2001:DB8:0:0::1/32").unwrap(), "@2001:db8::/32");
        assert_eq!(canonical("@2001:db8::1").unwrap(), "@2001:db8::1");
        assert_eq!(canonical("@::ffff:192.0.2.9/120").unwrap(), "@192.0.2.0/24");
    }

    #[test]
    fn anything_else_is_refused() {
        // spec: MOD-10
        for bad in [
            "198.51.100.7",
            "@",
            "@host.example",
            "@198.51.100.*",
            "@198.051.100.7",
            "@198.51.100.7/33",
            "@198.51.100.7/024",
            "@198.51.100.7/",
            "@198.51.100.7/+8",
            "@[2001:db8::1]",
            "@fe80::1%eth0",
            "@2001:db8::/129",
            "@ 198.51.100.7",
        ] {
            assert!(canonical(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("@{}", "0".repeat(PATTERN_MAX));
        assert_eq!(canonical(&long), Err(PatternError::TooLong));
        let widest = "@0000:0000:0000:0000:0000:ffff:255.255.255.255/128";
        assert_eq!(widest.len(), PATTERN_MAX);
        assert_eq!(canonical(widest).unwrap(), "@255.255.255.255");
    }

    #[test]
    fn patterns_match_peers_by_prefix_and_mapped_peers_as_ipv4() {
        // spec: MOD-10
        let net: AddressPattern = "@203.0.113.0/24".parse().unwrap();
        assert!(net.matches("203.0.113.200".parse().unwrap()));
        assert!(net.matches("::ffff:203.0.113.5".parse().unwrap()));
        assert!(!net.matches("203.0.114.1".parse().unwrap()));
        assert!(!net.matches("2001:db8::1".parse().unwrap()));
        let v6: AddressPattern = "@2001:db8::/32".parse().unwrap();
        assert!(v6.matches("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.matches("2001:db9::1".parse().unwrap()));
        let all: AddressPattern = "@::/0".parse().unwrap();
        assert!(all.matches("::1".parse().unwrap()));
        assert!(!all.matches("192.0.2.1".parse().unwrap()));
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;
    use crate::frame::{Frame, ModAction, ModerationEvent, Role, RoomInfo};
    use crate::wire::{Str16, Str8};

    #[test]
    fn the_largest_event_and_room_info_fit_the_smallest_max_frame() {
        // spec: MOD-18
        let name = Str8::new(&"n".repeat(255)).unwrap();
        let text = Str16::new(&"t".repeat(MOD_TEXT_MAX)).unwrap();
        let event = Frame::ModerationEvent(ModerationEvent {
            id: u64::MAX,
            time: u64::MAX,
            action: ModAction::Ban,
            room: name.clone(),
            actor: name.clone(),
            target: name.clone(),
            expires: u64::MAX,
            reason: text.clone(),
        });
        assert_eq!(event.body_len(), 8 + 8 + 1 + 3 * 256 + 8 + 2 + MOD_TEXT_MAX);
        let info = Frame::RoomInfo(RoomInfo {
            room: name.clone(),
            modes: 0xFF,
            member_limit: u32::MAX,
            role: Role::ServerOperator,
            founder: name.clone(),
            changed_by: name.clone(),
            topic_by: name,
            topic_at: u64::MAX,
            topic: text,
        });
        assert_eq!(
            info.body_len(),
            256 + 1 + 4 + 1 + 3 * 256 + 8 + 2 + MOD_TEXT_MAX
        );
        for frame in [event, info] {
            assert!(frame.body_len() <= crate::GREETING_MAX_FRAME as usize);
        }
    }
}
