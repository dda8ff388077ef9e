//! `[LIMIT-9]`: the largest frame body a server can be made to send, from
//! its advertised limits, so a configuration whose frames would not fit its
//! own `max_frame` can be refused before the first connection.

use crate::frame::Limits;

/// MESSAGE body bytes besides the room, sender and body text: `id`, `seq`,
/// `time`, `flags` and the three length prefixes.
pub const MESSAGE_OVERHEAD: u32 = 8 + 8 + 8 + 1 + 1 + 1 + 2;

/// DIRECT_MESSAGE body bytes besides the two names and the body text: `id`,
/// `time`, `flags` and the three length prefixes.
pub const DIRECT_MESSAGE_OVERHEAD: u32 = 8 + 8 + 1 + 1 + 1 + 2;

/// The largest MESSAGE body: longest room name, sender and body.
pub fn largest_message(limits: &Limits) -> u32 {
    MESSAGE_OVERHEAD
        + u32::from(limits.max_room_name)
        + u32::from(limits.max_username)
        + u32::from(limits.max_body)
}

/// The largest DIRECT_MESSAGE body: two longest names and the longest body.
pub fn largest_direct_message(limits: &Limits) -> u32 {
    DIRECT_MESSAGE_OVERHEAD + 2 * u32::from(limits.max_username) + u32::from(limits.max_body)
}

/// The largest body any server frame can have under `limits`. Every other
/// frame is smaller or paged to `max_frame` (ROOM_LIST, WHO_LIST), and the
/// GREETING is at most 4,096 bytes (`[HANDSHAKE-1]`).
pub fn largest_relayed(limits: &Limits) -> u32 {
    largest_message(limits).max(largest_direct_message(limits))
}

/// Whether every message the server relays or replays fits `max_frame`.
pub fn frames_fit(limits: &Limits) -> bool {
    largest_relayed(limits) <= limits.max_frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{DirectMessage, Frame, Message};
    use crate::wire::{Str16, Str8};

    fn limits(max_username: u8, max_room_name: u8, max_body: u16) -> Limits {
        Limits {
            max_username,
            max_room_name,
            max_body,
            ..Limits::default()
        }
    }

    #[test]
    fn the_overheads_are_those_of_the_encoded_frames() {
        // spec: LIMIT-9
        let l = limits(200, 17, 3000);
        let message = Frame::Message(Message {
            id: u64::MAX,
            seq: u64::MAX,
            time: u64::MAX,
            flags: 0xFF,
            room: Str8::new(&"r".repeat(17)).unwrap(),
            sender: Str8::new(&"s".repeat(200)).unwrap(),
            body: Str16::new(&"b".repeat(3000)).unwrap(),
        });
        assert_eq!(message.body_len() as u32, largest_message(&l));
        let direct = Frame::DirectMessage(DirectMessage {
            id: 1,
            time: 2,
            flags: 1,
            from: Str8::new(&"f".repeat(200)).unwrap(),
            to: Str8::new(&"t".repeat(200)).unwrap(),
            body: Str16::new(&"b".repeat(3000)).unwrap(),
        });
        assert_eq!(direct.body_len() as u32, largest_direct_message(&l));
        // Long names and a short room: the direct message is the larger.
        assert_eq!(largest_relayed(&l), largest_direct_message(&l));
    }

    #[test]
    fn the_defaults_fit_and_the_issue_13_configuration_does_not() {
        // spec: LIMIT-9
        assert!(frames_fit(&Limits::default()));
        let tight = Limits {
            max_frame: 4096,
            ..Limits::default()
        };
        assert_eq!(largest_relayed(&tight), 29 + 64 + 32 + 4096);
        assert!(!frames_fit(&tight));
        let boundary = Limits {
            max_frame: 4096,
            max_body: 4096 - 29 - 64 - 32,
            ..Limits::default()
        };
        assert!(frames_fit(&boundary));
        assert!(!frames_fit(&Limits {
            max_body: boundary.max_body + 1,
            ..boundary
        }));
    }
}
