//! The header model of spec section 4, and the decoder checked against it step by step.

use super::*;

// ------------------------------------------------------- the header model

/// What spec section 4 says the bytes at the front of the buffer are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Not a whole header, or a header whose body has not fully arrived.
    Incomplete,
    /// `[FRAMING-4]`: printable ASCII type byte, judged before the length.
    Ascii(u8),
    /// `[FRAMING-2]`: declared length above `max_frame`, judged on the header.
    TooLarge(u32),
    /// A whole frame of `total` bytes is present.
    Whole { frame_type: u8, total: usize },
}

pub(crate) fn expect(rest: &[u8], max_frame: u32) -> Expect {
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
pub(crate) fn check_decoder(input: &[u8], max_frame: u32) -> Result<(), TestCaseError> {
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
