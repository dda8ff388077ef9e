//! Property: the decoder survives anything. Arbitrary bytes, loosely framed
//! bytes and mutated valid frames (flipped or overwritten bytes, truncations,
//! insertions, changed length fields and type bytes), with any `max_frame`
//! in 4096..=1 MiB, end in frames, in `Ok(None)` (waiting for more), or in a
//! typed `DecodeError` of the registry (spec section 15) — never a panic —
//! and the buffer never grows past one header plus `max_frame` beyond the
//! input. Each step is checked against an independent model of the header
//! rules (spec section 4).

mod strategies;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{BufMut, BytesMut};
use confab_protocol::frame::{self, RoomEntry, HEADER_LEN};
use confab_protocol::{DecodeError, ErrorCode, Frame, Malformation, Str8};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use strategies as s;

/// The only codes a decoder may fail with.
const ALLOWED: [ErrorCode; 4] = [
    ErrorCode::MALFORMED_FRAME,
    ErrorCode::FRAME_TOO_LARGE,
    ErrorCode::INVALID_UTF8,
    ErrorCode::NOT_CONFAB,
];

const HELLO: u8 = 0x10;
const GREETING: u8 = 0x80;
const ROOM_LIST: u8 = 0x88;
const WHO_LIST: u8 = 0x89;

// ------------------------------------------------- allocation measurement

/// Records the largest single allocation made by the current thread, so a
/// test can see how much the decoder reserves (`[SEC-1]`).
struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|largest| {
        if size > largest.get() {
            largest.set(size);
        }
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Runs `f` and returns its result with the largest allocation it made.
fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|largest| largest.set(0));
    let result = f();
    (result, LARGEST.with(Cell::get))
}

// ------------------------------------------------------- the header model

/// What spec section 4 says the bytes at the front of the buffer are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Not a whole header, or a header whose body has not fully arrived.
    Incomplete,
    /// `[FRAMING-4]`: printable ASCII type byte, judged before the length.
    Ascii(u8),
    /// `[FRAMING-2]`: declared length above `max_frame`, judged on the header.
    TooLarge(u32),
    /// A whole frame of `total` bytes is present.
    Whole { frame_type: u8, total: usize },
}

fn expect(rest: &[u8], max_frame: u32) -> Expect {
    let Some(&frame_type) = rest.first() else {
        return Expect::Incomplete;
    };
    if s::is_ascii_type(frame_type) {
        return Expect::Ascii(frame_type);
    }
    if rest.len() < HEADER_LEN {
        return Expect::Incomplete;
    }
    let declared = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]);
    if declared > max_frame {
        return Expect::TooLarge(declared);
    }
    let total = HEADER_LEN + declared as usize;
    if rest.len() < total {
        Expect::Incomplete
    } else {
        Expect::Whole { frame_type, total }
    }
}

/// Decodes `input` (all of it in the buffer) until the decoder waits or
/// fails, checking every step against the model.
fn check_decoder(input: &[u8], max_frame: u32) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::from(input);
    let bound = input.len() + HEADER_LEN + max_frame as usize;
    let mut pos = 0;
    loop {
        let want = expect(&input[pos..], max_frame);
        let got = frame::decode(&mut buf, max_frame);
        prop_assert!(
            buf.capacity() <= bound,
            "buffer capacity {} above input {} + header + max_frame {}",
            buf.capacity(),
            input.len(),
            max_frame
        );
        if let Err(error) = &got {
            prop_assert!(
                ALLOWED.contains(&error.code()),
                "{:?} maps to {:?}",
                error,
                error.code()
            );
        }
        match (want, got) {
            (Expect::Incomplete, Ok(None)) => {
                // A partial frame is kept, not consumed and not an error.
                prop_assert_eq!(&buf[..], &input[pos..]);
                return Ok(());
            }
            (Expect::Ascii(byte), Err(error)) => {
                prop_assert_eq!(&error, &DecodeError::AsciiFrameType { byte });
                prop_assert_eq!(error.code(), ErrorCode::NOT_CONFAB);
                return Ok(());
            }
            (Expect::TooLarge(declared), Err(error)) => {
                prop_assert_eq!(
                    &error,
                    &DecodeError::FrameTooLarge {
                        declared,
                        max: max_frame
                    }
                );
                prop_assert_eq!(error.code(), ErrorCode::FRAME_TOO_LARGE);
                return Ok(());
            }
            (Expect::Whole { frame_type, total }, Ok(Some(decoded))) => {
                prop_assert_eq!(decoded.frame_type(), frame_type);
                prop_assert_eq!(
                    matches!(decoded, Frame::Unknown(_)),
                    !s::is_assigned(frame_type)
                );
                // A frame that decodes is exactly the bytes it came from: the
                // body was consumed exactly, and the encoding is canonical.
                prop_assert_eq!(&decoded.to_bytes()[..], &input[pos..pos + total]);
                pos += total;
                prop_assert_eq!(&buf[..], &input[pos..]);
            }
            (Expect::Whole { frame_type, .. }, Err(error)) => {
                // Unknown frames are skipped by length, never rejected.
                prop_assert!(
                    s::is_assigned(frame_type),
                    "unknown type {:#04x} rejected: {:?}",
                    frame_type,
                    error
                );
                prop_assert_eq!(error.frame_type(), frame_type);
                match error {
                    DecodeError::Malformed { .. } | DecodeError::InvalidUtf8 { .. } => {}
                    DecodeError::BadMagic { .. } => prop_assert!(
                        frame_type == HELLO || frame_type == GREETING,
                        "bad magic reported for {:#04x}",
                        frame_type
                    ),
                    other => prop_assert!(false, "header error {:?} for a whole frame", other),
                }
                return Ok(());
            }
            (want, got) => {
                prop_assert!(
                    false,
                    "model says {:?}, decoder gave {:?}",
                    want,
                    got.map(|f| f.map(|f| f.name()))
                );
            }
        }
    }
}

// --------------------------------------------------------------- inputs

fn max_frame() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => Just(4096u32),
        1 => Just(1u32 << 20),
        1 => Just(65_536u32),
        3 => 4096u32..=(1 << 20),
    ]
}

/// A type byte: assigned, unknown, ASCII, or anything.
fn type_byte() -> BoxedStrategy<u8> {
    prop_oneof![
        4 => prop::sample::select(s::ASSIGNED.iter().map(|(c, _)| *c).collect::<Vec<_>>()),
        2 => s::unknown_code(),
        1 => 0x20u8..=0x7E,
        1 => any::<u8>(),
    ]
    .boxed()
}

/// Bytes that look like frames: a type byte, a (mostly correct) length and
/// a random body, several in a row, then a random tail.
fn framed_noise() -> BoxedStrategy<Vec<u8>> {
    let piece = (
        type_byte(),
        vec(any::<u8>(), 0..48),
        prop_oneof![4 => Just(None), 1 => any::<u32>().prop_map(Some)],
    );
    (vec(piece, 1..6), vec(any::<u8>(), 0..8))
        .prop_map(|(pieces, tail)| {
            let mut out = Vec::new();
            for (frame_type, body, length) in pieces {
                out.push(frame_type);
                out.extend_from_slice(&length.unwrap_or(body.len() as u32).to_be_bytes());
                out.extend_from_slice(&body);
            }
            out.extend_from_slice(&tail);
            out
        })
        .boxed()
}

/// A new value for a frame's length field.
#[derive(Debug, Clone)]
enum NewLength {
    Delta(i64),
    Value(u32),
    MaxFramePlus(i64),
}

#[derive(Debug, Clone)]
enum Mutation {
    /// XOR one byte with a non-zero mask.
    Flip(Index, u8),
    /// Overwrite one byte (often with bytes that break UTF-8).
    Set(Index, u8),
    /// Cut the input short.
    Truncate(Index),
    /// Insert bytes.
    Insert(Index, Vec<u8>),
    /// Remove up to n bytes.
    Remove(Index, usize),
    /// Change the length field of one frame.
    Length(Index, NewLength),
    /// Change the type byte of one frame.
    Type(Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let utf8_breakers =
        prop::sample::select(&[0x80u8, 0xBF, 0xC0, 0xC1, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF][..]);
    let new_length = prop_oneof![
        2 => (-4i64..=4).prop_map(NewLength::Delta),
        1 => prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()].prop_map(NewLength::Value),
        1 => (-1i64..=1).prop_map(NewLength::MaxFramePlus),
    ];
    prop_oneof![
        3 => (any::<Index>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        3 => (any::<Index>(), prop_oneof![utf8_breakers, any::<u8>()]).prop_map(|(i, b)| Mutation::Set(i, b)),
        2 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), vec(any::<u8>(), 1..6)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<Index>(), 1usize..6).prop_map(|(i, n)| Mutation::Remove(i, n)),
        3 => (any::<Index>(), new_length).prop_map(|(i, l)| Mutation::Length(i, l)),
        1 => (any::<Index>(), type_byte()).prop_map(|(i, t)| Mutation::Type(i, t)),
    ]
}

/// Encodes the frames and applies the mutations: header mutations first (on
/// the original layout), then byte-level ones in order.
fn mutate(frames: &[Frame], mutations: &[Mutation], max_frame: u32) -> Vec<u8> {
    let mut wire = BytesMut::new();
    let mut starts = Vec::new();
    for frame in frames {
        starts.push(wire.len());
        frame.encode(&mut wire);
    }
    let mut wire = wire.to_vec();
    for m in mutations {
        match m {
            Mutation::Length(which, new) => {
                let at = starts[which.index(starts.len())];
                let old =
                    u32::from_be_bytes([wire[at + 1], wire[at + 2], wire[at + 3], wire[at + 4]]);
                let len = match new {
                    NewLength::Delta(d) => {
                        (i64::from(old) + d).clamp(0, i64::from(u32::MAX)) as u32
                    }
                    NewLength::Value(v) => *v,
                    NewLength::MaxFramePlus(d) => (i64::from(max_frame) + d) as u32,
                };
                wire[at + 1..at + 5].copy_from_slice(&len.to_be_bytes());
            }
            Mutation::Type(which, t) => wire[starts[which.index(starts.len())]] = *t,
            _ => {}
        }
    }
    for m in mutations {
        match m {
            Mutation::Flip(i, mask) if !wire.is_empty() => {
                let i = i.index(wire.len());
                wire[i] ^= mask;
            }
            Mutation::Set(i, byte) if !wire.is_empty() => {
                let i = i.index(wire.len());
                wire[i] = *byte;
            }
            Mutation::Truncate(i) => wire.truncate(i.index(wire.len() + 1)),
            Mutation::Insert(i, bytes) => {
                let i = i.index(wire.len() + 1);
                wire.splice(i..i, bytes.iter().copied());
            }
            Mutation::Remove(i, n) if !wire.is_empty() => {
                let i = i.index(wire.len());
                let end = (i + n).min(wire.len());
                wire.drain(i..end);
            }
            _ => {}
        }
    }
    wire
}

proptest! {
    #![proptest_config(s::config(384))]

    // Arbitrary bytes end in frames, Ok(None) or a registry error, exactly
    // as the header rules predict; the buffer stays bounded.
    // spec: SEC-1, SEC-2, FRAMING-2, FRAMING-4, FRAMING-5, FRAMING-6
    #[test]
    fn arbitrary_bytes_never_panic(input in vec(any::<u8>(), 0..512), max_frame in max_frame()) {
        check_decoder(&input, max_frame)?;
    }

    // Loosely framed noise reaches the body parsers of every frame type:
    // wrong layouts are MALFORMED_FRAME / INVALID_UTF8 / NOT_CONFAB, never
    // anything else, and unknown types are always skipped by length.
    // spec: SEC-2, FRAMING-3, FRAMING-5
    #[test]
    fn framed_noise_never_panics(input in framed_noise(), max_frame in max_frame()) {
        check_decoder(&input, max_frame)?;
    }
}

proptest! {
    #![proptest_config(s::config(256))]

    // Valid frames with flipped bytes, truncations, insertions, changed
    // length fields and type bytes.
    // spec: SEC-1, SEC-2, FRAMING-2, FRAMING-3, FRAMING-6
    #[test]
    fn mutated_frames_never_panic(
        frames in vec(s::any_frame(), 1..5),
        mutations in vec(mutation(), 1..4),
        max_frame in max_frame(),
    ) {
        let input = mutate(&frames, &mutations, max_frame);
        check_decoder(&input, max_frame)?;
    }

    // A declared length above max_frame is refused as soon as the 5 header
    // bytes are there — nothing reserved for the body, whether the header
    // arrives at once or byte by byte, with or without body bytes after it.
    // spec: FRAMING-2, SEC-1
    #[test]
    fn oversized_length_is_refused_on_the_header_alone(
        frame_type in any::<u8>().prop_filter("ASCII types fail first", |t| !s::is_ascii_type(*t)),
        max_frame in max_frame(),
        over in prop_oneof![Just(1u32), Just(u32::MAX), any::<u32>()],
        body in vec(any::<u8>(), 0..16),
    ) {
        let declared = max_frame.saturating_add(over.max(1));
        let mut header = vec![frame_type];
        header.extend_from_slice(&declared.to_be_bytes());

        let expected = DecodeError::FrameTooLarge { declared, max: max_frame };
        prop_assert_eq!(frame::parse_header(&header, max_frame), Err(expected.clone()));

        let mut buf = BytesMut::from(&header[..]);
        buf.extend_from_slice(&body);
        let capacity = buf.capacity();
        prop_assert_eq!(frame::decode(&mut buf, max_frame), Err(expected.clone()));
        prop_assert_eq!(buf.capacity(), capacity, "reserved after refusing");

        let mut buf = BytesMut::new();
        for (i, byte) in header.iter().enumerate() {
            buf.put_u8(*byte);
            let (got, largest) = largest_allocation(|| frame::decode(&mut buf, max_frame));
            prop_assert!(largest < 64, "{} bytes allocated for a header", largest);
            prop_assert!(buf.capacity() < 64);
            if i + 1 < HEADER_LEN {
                prop_assert_eq!(got, Ok(None));
            } else {
                prop_assert_eq!(got, Err(expected.clone()));
            }
        }
    }

    // A printable ASCII byte where a type belongs is NOT_CONFAB at once,
    // without waiting for (or looking at) a length.
    // spec: FRAMING-4, VERSION-5
    #[test]
    fn ascii_type_is_refused_without_a_length(
        byte in 0x20u8..=0x7E,
        rest in vec(any::<u8>(), 0..8),
        max_frame in max_frame(),
    ) {
        let mut buf = BytesMut::from(&[byte][..]);
        buf.extend_from_slice(&rest);
        let got = frame::decode(&mut buf, max_frame);
        prop_assert_eq!(&got, &Err(DecodeError::AsciiFrameType { byte }));
        prop_assert_eq!(got.unwrap_err().code(), ErrorCode::NOT_CONFAB);
    }
}

// ------------------------------------------------- targeted corruptions

/// Frames a header around `body`.
fn framed(frame_type: u8, body: &[u8]) -> BytesMut {
    let mut wire = BytesMut::new();
    wire.put_u8(frame_type);
    wire.put_u32(body.len() as u32);
    wire.extend_from_slice(body);
    wire
}

/// Byte sequences that are not well-formed UTF-8 (RFC 3629): overlong
/// forms, surrogates, values above U+10FFFF, bytes that never appear, lone
/// continuation bytes and sequences cut short.
const NOT_UTF8: &[&[u8]] = &[
    &[0xC0, 0x80],
    &[0xC1, 0xBF],
    &[0xE0, 0x80, 0x80],
    &[0xF0, 0x80, 0x80, 0x80],
    &[0xED, 0xA0, 0x80],
    &[0xED, 0xBF, 0xBF],
    &[0xF4, 0x90, 0x80, 0x80],
    &[0xF5, 0x80, 0x80, 0x80],
    &[0xFE],
    &[0xFF],
    &[0x80],
    &[0xBF],
    &[0xE2, 0x82],
    &[0xF0, 0x9F, 0x98],
];

proptest! {
    #![proptest_config(s::config(128))]

    // A known frame's body cut short is MALFORMED_FRAME (a field runs past
    // the end); one with bytes added after the last field is MALFORMED_FRAME
    // (trailing bytes). An unknown frame is just a shorter or longer unknown
    // frame.
    // spec: TYPES-2, FRAMING-3, FRAMING-5
    #[test]
    fn short_and_long_bodies_are_malformed(
        frame in s::any_frame(),
        cut in any::<Index>(),
        extra in vec(any::<u8>(), 1..8),
        longer in any::<bool>(),
    ) {
        let wire = frame.to_bytes();
        let body = &wire[HEADER_LEN..];
        let longer = longer || body.is_empty();
        let new_body = if longer {
            [body, &extra[..]].concat()
        } else {
            body[..cut.index(body.len())].to_vec()
        };
        let frame_type = frame.frame_type();
        let got = frame::decode(&mut framed(frame_type, &new_body), 1 << 24);
        if let Frame::Unknown(_) = frame {
            let Ok(Some(Frame::Unknown(unknown))) = got else {
                return Err(TestCaseError::fail(format!("unknown frame gave {got:?}")));
            };
            prop_assert_eq!(&unknown.body[..], &new_body[..]);
        } else {
            let reason = if longer { Malformation::TrailingBytes } else { Malformation::Truncated };
            prop_assert_eq!(&got, &Err(DecodeError::Malformed { frame_type, reason }));
            prop_assert_eq!(got.unwrap_err().code(), ErrorCode::MALFORMED_FRAME);
        }
    }

    // A string field holding bytes that are not well-formed UTF-8, anywhere
    // in the string, is INVALID_UTF8.
    // spec: TYPES-1
    #[test]
    fn strings_that_are_not_utf8_are_invalid_utf8(
        text in s::text(200, 1),
        at in any::<Index>(),
        bad in prop::sample::select(NOT_UTF8),
        which in 0usize..6,
    ) {
        let boundaries: Vec<usize> = (0..=text.len()).filter(|i| text.is_char_boundary(*i)).collect();
        let at = boundaries[at.index(boundaries.len())];
        let bytes = [&text.as_bytes()[..at], bad, &text.as_bytes()[at..]].concat();
        prop_assert!(std::str::from_utf8(&bytes).is_err());
        let str8 = [&[bytes.len() as u8][..], &bytes].concat();
        let str16 = [&(bytes.len() as u16).to_be_bytes()[..], &bytes].concat();
        let (frame_type, body) = match which {
            0 => (0x13, str8),                                      // LEAVE room
            1 => (0x17, str8),                                      // WHO room
            2 => (0x87, str8),                                      // LEFT room
            3 => (0x8D, [&[0][..], &str16].concat()),               // NOTICE text
            4 => (0x03, [&[0, 0][..], &str16].concat()),            // GOODBYE message
            _ => (0x11, [&[0][..], &str8, &[0][..]].concat()),      // LOGIN username
        };
        let got = frame::decode(&mut framed(frame_type, &body), 1 << 20);
        prop_assert_eq!(&got, &Err(DecodeError::InvalidUtf8 { frame_type }));
        prop_assert_eq!(got.unwrap_err().code(), ErrorCode::INVALID_UTF8);
    }

    // An enumerated field (LOGIN mode, HISTORY kind and direction, PRESENCE
    // event, HISTORY_END kind, NOTICE level) with a value the spec does not
    // define is MALFORMED_FRAME.
    // spec: TYPES-4
    #[test]
    fn undefined_enum_values_are_malformed(
        frame in prop_oneof![s::login(), s::history(), s::presence(), s::history_end(), s::notice()],
        value in any::<u8>(),
        direction_field in any::<bool>(),
    ) {
        let mut body = frame.to_bytes()[HEADER_LEN..].to_vec();
        let (at, defined): (usize, &[u8]) = match &frame {
            Frame::Login(_) => (0, &[0, 1, 2]),
            Frame::History(h) if direction_field => (2 + h.target.len(), &[0, 1]),
            Frame::History(_) | Frame::HistoryEnd(_) => (0, &[0, 1]),
            Frame::Presence(_) => (0, &[1, 2, 3]),
            Frame::Notice(_) => (0, &[0, 1]),
            other => unreachable!("{other:?}"),
        };
        prop_assume!(!defined.contains(&value));
        body[at] = value;
        let frame_type = frame.frame_type();
        let got = frame::decode(&mut framed(frame_type, &body), 1 << 20);
        prop_assert_eq!(
            &got,
            &Err(DecodeError::Malformed { frame_type, reason: Malformation::BadEnumValue })
        );
        prop_assert_eq!(got.unwrap_err().code(), ErrorCode::MALFORMED_FRAME);
    }
}

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
