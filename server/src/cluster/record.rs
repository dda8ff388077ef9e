//! How messages and presence are written in Redis: the stream entries and
//! channel payloads the scripts (`scripts.rs`) make and every node reads.
//! Not Confab wire bytes: a record carries what a node needs to build the
//! frames (through the protocol crate) and to skip the sender (`[MSG-1]`).
//!
//! A room message is `"<seq> <id> "` (decimal, written by the script that
//! assigns them) then a tail: time (u64 BE), flags (u8), the sender's
//! connection id (u64 BE), node id and sender name (u8 length + bytes each),
//! and the body (the rest). A direct message is `"<id> "` then the same
//! tail with the recipient's name after the sender's. Published, a room
//! message is prefixed `M`; a direct message `D<recipient connection id> `.
//! Presence is `P`, the event (u8), node id and name. Reading never panics:
//! anything malformed reads as `None` and is logged and skipped.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use confab_protocol::frame::{DirectMessage, Message, PresenceEvent};
use confab_protocol::{Str16, Str8};

/// Who sent a message: its node and connection, so that node skips it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub node: String,
    pub conn: u64,
}

/// The tail of a room message, before the script numbers it.
/// `node` and `conn`: where the sender is, so its node skips it.
pub fn room_tail(message: &Message, node: &str, conn: u64) -> Bytes {
    let mut out = BytesMut::with_capacity(32 + message.sender.len() + message.body.len());
    put_head(&mut out, message.time, message.flags, node, conn);
    put_short(&mut out, message.sender.as_bytes());
    out.put_slice(message.body.as_bytes());
    out.freeze()
}

/// The tail of a direct message, before the script numbers it.
pub fn direct_tail(message: &DirectMessage, node: &str, conn: u64) -> Bytes {
    let mut out = BytesMut::with_capacity(40 + message.from.len() + message.body.len());
    put_head(&mut out, message.time, message.flags, node, conn);
    put_short(&mut out, message.from.as_bytes());
    put_short(&mut out, message.to.as_bytes());
    out.put_slice(message.body.as_bytes());
    out.freeze()
}

/// A presence change, published on the room's channel.
pub fn presence(event: PresenceEvent, node: &str, name: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(4 + node.len() + name.len());
    out.put_u8(b'P');
    out.put_u8(event as u8);
    put_short(&mut out, node.as_bytes());
    put_short(&mut out, name.as_bytes());
    out.freeze()
}

fn put_head(out: &mut BytesMut, time: u64, flags: u8, node: &str, conn: u64) {
    out.put_u64(time);
    out.put_u8(flags);
    out.put_u64(conn);
    put_short(out, node.as_bytes());
}

fn put_short(out: &mut BytesMut, bytes: &[u8]) {
    // Names and node ids are at most 255 bytes; longer ones are cut (never here).
    let len = bytes.len().min(255);
    out.put_u8(len as u8);
    out.put_slice(&bytes[..len]);
}

/// What a room channel carries.
#[derive(Debug)]
pub enum RoomEvent {
    Message(Message, Origin),
    Presence {
        event: PresenceEvent,
        node: String,
        name: Str8,
    },
}

/// A payload published on a room's channel; `room` names the room.
pub fn read_room_event(payload: &[u8], room: &Str8) -> Option<RoomEvent> {
    match payload.split_first()? {
        (b'M', record) => {
            let (message, origin) = read_room_message(record, room)?;
            Some(RoomEvent::Message(message, origin))
        }
        (b'P', mut rest) => {
            let event = PresenceEvent::try_from(read_u8(&mut rest)?).ok()?;
            let node = read_string(&mut rest)?;
            let name = Str8::new(&read_string(&mut rest)?).ok()?;
            rest.is_empty()
                .then_some(RoomEvent::Presence { event, node, name })
        }
        _ => None,
    }
}

/// A room message as its stream entry holds it.
pub fn read_room_message(record: &[u8], room: &Str8) -> Option<(Message, Origin)> {
    let (seq, rest) = read_number(record)?;
    let (id, mut rest) = read_number(rest)?;
    let (time, flags, origin) = read_head(&mut rest)?;
    let sender = Str8::new(&read_string(&mut rest)?).ok()?;
    let body = Str16::new(std::str::from_utf8(rest).ok()?).ok()?;
    let message = Message {
        id,
        seq,
        time,
        flags,
        room: room.clone(),
        sender,
        body,
    };
    Some((message, origin))
}

/// A direct message as its stream entry holds it.
pub fn read_direct_message(record: &[u8]) -> Option<(DirectMessage, Origin)> {
    let (id, mut rest) = read_number(record)?;
    let (time, flags, origin) = read_head(&mut rest)?;
    let from = Str8::new(&read_string(&mut rest)?).ok()?;
    let to = Str8::new(&read_string(&mut rest)?).ok()?;
    let body = Str16::new(std::str::from_utf8(rest).ok()?).ok()?;
    let message = DirectMessage {
        id,
        time,
        flags,
        from,
        to,
        body,
    };
    Some((message, origin))
}

/// A direct message as published to its recipient's node: the recipient's
/// connection id, then the record.
pub fn read_direct_delivery(payload: &[u8]) -> Option<(u64, DirectMessage, Origin)> {
    let record = payload.strip_prefix(b"D")?;
    let (conn, record) = read_number(record)?;
    let (message, origin) = read_direct_message(record)?;
    Some((conn, message, origin))
}

fn read_head(rest: &mut &[u8]) -> Option<(u64, u8, Origin)> {
    let time = read_u64(rest)?;
    let flags = read_u8(rest)?;
    let conn = read_u64(rest)?;
    let node = read_string(rest)?;
    Some((time, flags, Origin { node, conn }))
}

/// A decimal number and the space after it.
fn read_number(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let space = bytes.iter().position(|&b| b == b' ')?;
    let number = std::str::from_utf8(&bytes[..space]).ok()?.parse().ok()?;
    Some((number, &bytes[space + 1..]))
}

fn read_u8(rest: &mut &[u8]) -> Option<u8> {
    (!rest.is_empty()).then(|| rest.get_u8())
}

fn read_u64(rest: &mut &[u8]) -> Option<u64> {
    (rest.len() >= 8).then(|| rest.get_u64())
}

fn read_string(rest: &mut &[u8]) -> Option<String> {
    let len = usize::from(read_u8(rest)?);
    if rest.len() < len {
        return None;
    }
    let (text, tail) = rest.split_at(len);
    *rest = tail;
    std::str::from_utf8(text).ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            node: "node-a#1f".into(),
            conn: 42,
        }
    }

    #[test]
    fn a_room_message_reads_back_as_written_once_numbered() {
        let room = Str8::truncated("lobby");
        let message = Message {
            id: 0,
            seq: 0,
            time: 1_700_000_000_123,
            flags: Message::ACTION,
            room: room.clone(),
            sender: Str8::truncated("alice"),
            body: Str16::truncated("hi there, ünïcode"),
        };
        // What the script makes of it: "<seq> <id> " before the tail.
        let mut record = b"7 99 ".to_vec();
        record.extend_from_slice(&room_tail(&message, &origin().node, origin().conn));
        let (read, from) = read_room_message(&record, &room).expect("well-formed");
        assert_eq!((read.seq, read.id), (7, 99));
        assert_eq!((read.time, read.flags), (message.time, message.flags));
        assert_eq!((read.sender, read.body), (message.sender, message.body));
        assert_eq!(from, origin());
        let mut published = b"M".to_vec();
        published.extend_from_slice(&record);
        assert!(matches!(
            read_room_event(&published, &room),
            Some(RoomEvent::Message(m, _)) if m.seq == 7
        ));
    }

    #[test]
    fn a_direct_message_reads_back_with_its_recipients_connection() {
        let message = DirectMessage {
            id: 0,
            time: 5,
            flags: 0,
            from: Str8::truncated("alice"),
            to: Str8::truncated("bob"),
            body: Str16::truncated("psst"),
        };
        let mut payload = b"D31 12 ".to_vec();
        payload.extend_from_slice(&direct_tail(&message, &origin().node, origin().conn));
        let (conn, read, from) = read_direct_delivery(&payload).expect("well-formed");
        assert_eq!((conn, read.id), (31, 12));
        assert_eq!(
            (read.from, read.to, read.body),
            (message.from, message.to, message.body)
        );
        assert_eq!(from, origin());
    }

    #[test]
    fn presence_reads_back() {
        let room = Str8::truncated("lobby");
        let payload = presence(PresenceEvent::Joined, "node-b#2", "carol");
        match read_room_event(&payload, &room) {
            Some(RoomEvent::Presence { event, node, name }) => {
                assert_eq!(event, PresenceEvent::Joined);
                assert_eq!((node.as_str(), name.as_str()), ("node-b#2", "carol"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_truncation_and_garbage_reads_as_none_without_panicking() {
        let room = Str8::truncated("lobby");
        let message = Message {
            id: 0,
            seq: 0,
            time: 1,
            flags: 0,
            room: room.clone(),
            sender: Str8::truncated("alice"),
            body: Str16::truncated("x"),
        };
        let mut record = b"M1 2 ".to_vec();
        record.extend_from_slice(&room_tail(&message, &origin().node, origin().conn));
        // Cut anywhere before the body, every prefix is refused.
        let body_start = record.len() - 1;
        for cut in 0..body_start {
            assert!(
                read_room_event(&record[..cut], &room).is_none(),
                "cut {cut}"
            );
        }
        for garbage in [
            &b""[..],
            b"Z",
            b"M",
            b"Mx y ",
            b"P",
            b"P\x01\xff",
            b"D1",
            b"Dnope ",
        ] {
            assert!(read_room_event(garbage, &room).is_none());
            assert!(read_direct_delivery(garbage).is_none());
        }
    }
}
