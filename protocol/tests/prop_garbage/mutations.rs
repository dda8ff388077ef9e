//! Arbitrary bytes, framed noise and mutated valid frames: the decoder never panics.

use super::*;

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
