//! List counts: the decoder reserves no more than the body can hold (`[SEC-1]`).

use super::*;

// -------------------------------------------------- list count reservations

/// A list body: the bytes before the count, the count, and `tail` after it.
fn list_body(prefix: &[u8], count: u16, tail: &[u8]) -> Vec<u8> {
    let mut body = prefix.to_vec();
    body.extend_from_slice(&count.to_be_bytes());
    body.extend_from_slice(tail);
    body
}

/// A count near what the tail can hold with `min_entry` bytes per entry, or
/// near what it cannot.
fn count_for(tail_len: usize, min_entry: usize, pick: u8, random: u16) -> u16 {
    let clamp = |n: usize| n.min(usize::from(u16::MAX)) as u16;
    match pick % 5 {
        0 => clamp(tail_len),
        1 => clamp(tail_len / min_entry),
        2 => clamp(tail_len / min_entry + 1),
        3 => u16::MAX,
        _ => random,
    }
}

/// Decodes one list frame and returns the largest allocation made.
fn decode_list_frame(frame_type: u8, body: &[u8]) -> (Result<Option<Frame>, DecodeError>, usize) {
    let mut wire = framed(frame_type, body);
    largest_allocation(|| frame::decode(&mut wire, 1 << 20))
}

/// Slack for the decoder's own small allocations (the shared buffer header).
const SLACK: usize = 128;

proptest! {
    #![proptest_config(s::config(128))]

    // WHO_LIST: each username takes at least 1 byte (an empty str8), so the
    // decoder may reserve at most one entry per remaining body byte.
    // spec: SEC-1, SEC-2
    #[test]
    fn who_list_count_reserves_no_more_than_the_body_holds(
        room in vec(b'a'..=b'z', 0..8),
        tail in prop_oneof![vec(Just(0u8), 0..2000), vec(any::<u8>(), 0..2000)],
        pick in any::<u8>(),
        random in any::<u16>(),
    ) {
        let count = count_for(tail.len(), 1, pick, random);
        let mut prefix = vec![0u8, room.len() as u8];
        prefix.extend_from_slice(&room);
        let (result, largest) = decode_list_frame(WHO_LIST, &list_body(&prefix, count, &tail));
        let fit = tail.len();
        prop_assert!(
            largest <= (fit * std::mem::size_of::<Str8>()).max(SLACK),
            "count {} with {} bytes left: {} bytes allocated, room for {} entries is {} bytes",
            count, tail.len(), largest, fit, fit * std::mem::size_of::<Str8>()
        );
        if let Err(e) = result {
            prop_assert!(ALLOWED.contains(&e.code()));
        }
    }
}

proptest! {
    #![proptest_config(s::config(128))]

    // ROOM_LIST: each entry (name: str8, members: u32) takes at least 5 bytes,
    // so a body with N bytes after the count holds at most N / 5 entries, and
    // [SEC-1] says the receiver MUST NOT reserve room for more. (Regression:
    // `List::parse` once bounded the count by one byte per entry.)
    // spec: SEC-1
    #[test]
    fn room_list_count_reserves_no_more_than_the_body_holds(
        tail in prop_oneof![vec(Just(0u8), 0..2000), vec(any::<u8>(), 0..2000)],
        pick in any::<u8>(),
        random in any::<u16>(),
    ) {
        let count = count_for(tail.len(), 5, pick, random);
        let (result, largest) = decode_list_frame(ROOM_LIST, &list_body(&[0], count, &tail));
        let fit = tail.len() / 5;
        prop_assert!(
            largest <= (fit * std::mem::size_of::<RoomEntry>()).max(SLACK),
            "count {} with {} bytes left: {} bytes allocated, room for {} entries is {} bytes",
            count, tail.len(), largest, fit, fit * std::mem::size_of::<RoomEntry>()
        );
        if let Err(e) = result {
            prop_assert!(ALLOWED.contains(&e.code()));
        }
    }
}

// Regression for the bug above: a ROOM_LIST whose body is flags 0, count 1000, then 1000 zero bytes: the
// body holds at most 200 entries, yet the decoder reserves 1000 `RoomEntry`s
// before failing with MALFORMED_FRAME.
// spec: SEC-1
#[test]
fn room_list_count_reservation_reproducer() {
    let (result, largest) = decode_list_frame(ROOM_LIST, &list_body(&[0], 1000, &[0; 1000]));
    assert_eq!(
        result.map_err(|e| e.code()),
        Err(ErrorCode::MALFORMED_FRAME)
    );
    let room_for = 200 * std::mem::size_of::<RoomEntry>();
    assert!(
        largest <= room_for,
        "reserved {largest} bytes; 200 entries (all the body can hold) need {room_for}"
    );
}
