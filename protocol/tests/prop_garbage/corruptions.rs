//! Targeted corruptions: short and long bodies, invalid UTF-8, undefined enum values.

use super::*;

// ------------------------------------------------- targeted corruptions

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
