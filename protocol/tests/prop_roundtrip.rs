//! Property: every frame, with every field at its boundary values, encodes to
//! exactly `encoded_len()` bytes whose header carries the type and the body
//! length, and decodes back to an equal frame (spec sections 3, 4 and 5).

mod strategies;

use bytes::BytesMut;
use confab_protocol::frame::{self, Header, HeaderStatus, Leave, HEADER_LEN};
use confab_protocol::{CodecError, DecodeError, EncodeError, Frame, FrameCodec, Str16, Str8};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use strategies as s;
use tokio_util::codec::Encoder;

/// The tail of a following frame's header, appended after the frame under
/// test so the decoder has to stop exactly at the end of the body.
const NEXT: &[u8] = &[0x01, 0x00, 0x00];

/// Checks one frame: lengths, header, encode-after-existing-bytes, decode
/// with `max_frame` equal to the body length (accepted) and one below it
/// (rejected on the header), `parse_header`, `parse_body`, and `FrameCodec`'s
/// encoder with the same two limits.
fn check_roundtrip(frame: &Frame) -> Result<(), TestCaseError> {
    let bytes = frame.to_bytes();
    let len = frame.encoded_len();
    let body_len = frame.body_len();

    // encoded_len() == bytes written == 5 + the header's length field.
    prop_assert_eq!(bytes.len(), len);
    prop_assert_eq!(len, HEADER_LEN + body_len);
    prop_assert_eq!(bytes[0], frame.frame_type());
    let declared = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    prop_assert_eq!(declared as usize + HEADER_LEN, len);

    // encode() appends and writes exactly encoded_len() bytes.
    let mut dst = BytesMut::from(&b"prefix"[..]);
    frame.encode(&mut dst);
    prop_assert_eq!(dst.len() - 6, len);
    prop_assert_eq!(&dst[..6], &b"prefix"[..]);
    prop_assert_eq!(&dst[6..], &bytes[..]);

    // A body encoded alone, without a `Frame` around it, is the same frame.
    let alone = match frame {
        Frame::Message(body) => Some(body.to_frame_bytes()),
        Frame::Ack(body) => Some(body.to_frame_bytes()),
        Frame::DirectMessage(body) => Some(body.to_frame_bytes()),
        Frame::Presence(body) => Some(body.to_frame_bytes()),
        Frame::ErrorFrame(body) => Some(body.to_frame_bytes()),
        _ => None,
    };
    if let Some(alone) = alone {
        prop_assert_eq!(&alone[..], &bytes[..]);
    }

    // decode() returns the same frame and leaves the next frame's bytes.
    let mut buf = BytesMut::from(&bytes[..]);
    buf.extend_from_slice(NEXT);
    let decoded = frame::decode(&mut buf, declared);
    prop_assert!(
        decoded.as_ref() == Ok(&Some(frame.clone())),
        "decode gave {:?}",
        decoded.map(|f| f.map(|f| f.name()))
    );
    prop_assert_eq!(&buf[..], NEXT);

    // A limit one below the body length is refused on the header alone.
    if declared > 0 {
        let mut buf = BytesMut::from(&bytes[..HEADER_LEN]);
        prop_assert_eq!(
            frame::decode(&mut buf, declared - 1),
            Err(DecodeError::FrameTooLarge {
                declared,
                max: declared - 1
            })
        );
    }

    prop_assert_eq!(
        frame::parse_header(&bytes, declared),
        Ok(HeaderStatus::Ready(Header {
            frame_type: frame.frame_type(),
            body_len: declared,
        }))
    );
    let parsed = Frame::parse_body(frame.frame_type(), bytes.slice(HEADER_LEN..));
    prop_assert!(parsed.as_ref() == Ok(frame), "parse_body differs");

    // The codec's encoder writes the same bytes, and refuses a body above its limit
    // without writing anything.
    let mut out = BytesMut::new();
    FrameCodec::new(declared)
        .encode(frame, &mut out)
        .map_err(|e| TestCaseError::fail(format!("codec refused a frame within its limit: {e}")))?;
    prop_assert_eq!(&out[..], &bytes[..]);
    if declared > 0 {
        let mut out = BytesMut::new();
        let refused = FrameCodec::new(declared - 1).encode(frame, &mut out);
        prop_assert!(
            matches!(refused, Err(CodecError::Encode(EncodeError::FrameTooLarge { len, max }))
                if len == body_len && max == declared - 1),
            "codec encoded a frame above its limit: {:?}",
            refused
        );
        prop_assert!(out.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(s::config(48))]

    // spec: FRAMING-1, FRAMING-2, FRAMING-3
    #[test]
    fn roundtrip_ping(frame in s::ping()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3
    #[test]
    fn roundtrip_pong(frame in s::pong()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_goodbye(frame in s::goodbye()) { check_roundtrip(&frame)?; }

    // Any error code (unassigned ones too) and any flag bits are carried.
    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1, TYPES-3, VERSION-2
    #[test]
    fn roundtrip_error(frame in s::error_frame()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1, TYPES-3
    #[test]
    fn roundtrip_hello(frame in s::hello()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_login(frame in s::login()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_join(frame in s::join()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_leave(frame in s::leave()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3
    #[test]
    fn roundtrip_list_rooms(frame in s::list_rooms()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_send(frame in s::send()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_direct(frame in s::direct()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_who(frame in s::who()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_history(frame in s::history()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1, TYPES-3
    #[test]
    fn roundtrip_greeting(frame in s::greeting()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1, TYPES-3
    #[test]
    fn roundtrip_welcome(frame in s::welcome()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_login_rejected(frame in s::login_rejected()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1, TYPES-3
    #[test]
    fn roundtrip_message(frame in s::message()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3
    #[test]
    fn roundtrip_ack(frame in s::ack()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1, TYPES-3
    #[test]
    fn roundtrip_direct_message(frame in s::direct_message()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_joined(frame in s::joined()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_left(frame in s::left()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1, TYPES-3
    #[test]
    fn roundtrip_room_list(frame in s::room_list()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1, TYPES-3
    #[test]
    fn roundtrip_who_list(frame in s::who_list()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_presence(frame in s::presence()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1, TYPES-3
    #[test]
    fn roundtrip_history_end(frame in s::history_end()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_missed(frame in s::missed()) { check_roundtrip(&frame)?; }

    // spec: FRAMING-1, FRAMING-2, FRAMING-3, TYPES-1
    #[test]
    fn roundtrip_notice(frame in s::notice()) { check_roundtrip(&frame)?; }

    // Unknown frames (unassigned, non-ASCII codes: room for a later
    // version's frame types) are delimited by their length and come back
    // with their body untouched.
    // spec: FRAMING-1, FRAMING-2, FRAMING-5, VERSION-2
    #[test]
    fn roundtrip_unknown(frame in s::unknown()) {
        let code = frame.frame_type();
        prop_assert!(!s::is_assigned(code) && !s::is_ascii_type(code));
        prop_assert!(matches!(frame, Frame::Unknown(_)));
        check_roundtrip(&frame)?;
    }
}

/// A string near (below or above) a byte limit: a few leading characters,
/// then one character repeated to `target` bytes.
fn near_limit(limit: usize) -> BoxedStrategy<String> {
    (
        proptest::collection::vec(s::utf8_char(), 0..4),
        s::utf8_char(),
        limit.saturating_sub(6)..=limit + 6,
    )
        .prop_map(|(lead, fill, target)| {
            let mut text: String = lead.into_iter().collect();
            while text.len() < target {
                text.push(fill);
            }
            text
        })
        .boxed()
}

proptest! {
    #![proptest_config(s::config(128))]

    // String lengths count bytes: `Str8::new` accepts exactly the texts of at
    // most 255 bytes, `truncated` cuts at the last character boundary that
    // fits, and the encoded prefix is the byte length, not the char count.
    // spec: TYPES-1
    #[test]
    fn str8_length_counts_bytes(text in prop_oneof![s::text(600, 2), near_limit(s::STR8_MAX)]) {
        prop_assert_eq!(Str8::new(&text).is_ok(), text.len() <= s::STR8_MAX);
        let cut = Str8::truncated(&text);
        let expected = s::cut_to(text.clone(), s::STR8_MAX);
        prop_assert_eq!(cut.as_str(), expected.as_str());
        let wire = Frame::Leave(Leave { room: cut.clone() }).to_bytes();
        prop_assert_eq!(usize::from(wire[HEADER_LEN]), cut.len());
        prop_assert_eq!(&wire[HEADER_LEN + 1..], cut.as_bytes());
    }

    // spec: TYPES-1
    #[test]
    fn str16_length_counts_bytes(text in near_limit(s::STR16_MAX)) {
        prop_assert_eq!(Str16::new(&text).is_ok(), text.len() <= s::STR16_MAX);
        let cut = Str16::truncated(&text);
        prop_assert_eq!(cut.len(), s::cut_to(text.clone(), s::STR16_MAX).len());
        prop_assert!(text.starts_with(cut.as_str()));
        let notice = Frame::Notice(confab_protocol::frame::Notice {
            level: confab_protocol::frame::NoticeLevel::Info,
            text: cut.clone(),
        });
        let wire = notice.to_bytes();
        let prefix = u16::from_be_bytes([wire[HEADER_LEN + 1], wire[HEADER_LEN + 2]]);
        prop_assert_eq!(usize::from(prefix), cut.len());
    }
}

/// Draws `n` values from a strategy with a fixed seed.
fn sample<T: std::fmt::Debug>(strategy: BoxedStrategy<T>, n: usize) -> Vec<T> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("strategy").current())
        .collect()
}

// The strategies really reach the boundaries this suite claims to test, and
// every boundary string they produce round-trips with a byte-count prefix.
// spec: TYPES-1, FRAMING-3
#[test]
fn strategies_reach_field_boundaries() {
    let texts = sample(s::str8(), 800);
    let has = |pred: &dyn Fn(&Str8) -> bool| texts.iter().any(pred);
    assert!(has(&|t| t.is_empty()), "empty str8");
    assert!(has(&|t| t.len() == 255), "255-byte str8");
    for width in 2..=4 {
        assert!(
            has(&|t| t.chars().any(|c| c.len_utf8() == width)),
            "{width}-byte characters"
        );
        assert!(
            has(&|t| t.len() == 255 && t.chars().last().map(char::len_utf8) == Some(width)),
            "255-byte str8 ending in a {width}-byte character"
        );
    }
    assert!(
        has(&|t| t.len() < 255 && t.len() > 251),
        "str8 cut short of a character"
    );
    for text in &texts {
        let frame = Frame::Leave(Leave { room: text.clone() });
        let wire = frame.to_bytes();
        assert_eq!(usize::from(wire[HEADER_LEN]), text.len());
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(frame::decode(&mut buf, 65_536), Ok(Some(frame)));
    }

    let long = sample(s::str16(), 400);
    assert!(long.iter().any(|t| t.is_empty()), "empty str16");
    assert!(long.iter().any(|t| t.len() == 65_535), "65,535-byte str16");

    let ints = sample(s::u64s(), 200);
    assert!(ints.contains(&0) && ints.contains(&u64::MAX));
    let flags = sample(s::flags(), 200);
    for bit in 0..8 {
        assert!(flags.contains(&(1 << bit)), "flag bit {bit}");
    }
    assert!(flags.contains(&0) && flags.contains(&0xFF));

    let frames = sample(s::any_frame(), 500);
    for (code, name) in s::ASSIGNED {
        assert!(
            frames.iter().any(|f| f.frame_type() == *code),
            "no {name} frame generated"
        );
        assert_eq!(frame::name_of(*code), *name);
    }
    assert!(frames.iter().any(|f| matches!(f, Frame::Unknown(_))));
    let lists = sample(
        proptest::strategy::Union::new(vec![s::who_list(), s::room_list()]).boxed(),
        120,
    );
    let list_lens: Vec<usize> = lists
        .iter()
        .filter_map(|f| match f {
            Frame::WhoList(w) => Some(w.users.len()),
            Frame::RoomList(r) => Some(r.rooms.len()),
            _ => None,
        })
        .collect();
    assert!(list_lens.contains(&0), "empty list");
    assert!(
        list_lens.iter().any(|n| (2..100).contains(n)),
        "multi-entry list"
    );
    assert!(list_lens.contains(&65_535), "list of 65,535 entries");
}
