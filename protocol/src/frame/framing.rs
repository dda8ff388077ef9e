//! Reading frames off a byte stream (spec section 4): the streaming header
//! check and `decode`, which takes one whole frame out of a buffer.

use bytes::{Buf, BytesMut};
use nom::number::streaming::{be_u32, be_u8};

use super::{Frame, Unknown, HEADER_LEN};
use crate::error::DecodeError;

/// Most bytes `decode` reserves at once for a body still arriving.
const RESERVE_STEP: usize = 16 * 1024;

/// A frame header (`[FRAMING-1]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub frame_type: u8,
    pub body_len: u32,
}

/// What the bytes at the front of a buffer hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderStatus {
    /// A whole header was read and its length is within the limit.
    Ready(Header),
    /// At least this many more bytes are needed for the header.
    Incomplete(usize),
}

/// Streaming header parser: the type byte is checked before the length
/// (`[FRAMING-4]`), the length against `max_frame` as soon as it is known
/// (`[FRAMING-2]`), so no body byte is ever buffered for a rejected frame.
pub fn parse_header(input: &[u8], max_frame: u32) -> Result<HeaderStatus, DecodeError> {
    let (rest, frame_type) = match be_u8::<_, nom::error::Error<&[u8]>>(input) {
        Ok(parsed) => parsed,
        Err(_) => return Ok(HeaderStatus::Incomplete(HEADER_LEN)),
    };
    if (0x20..=0x7E).contains(&frame_type) {
        // spec: FRAMING-4
        return Err(DecodeError::AsciiFrameType { byte: frame_type });
    }
    match be_u32::<_, nom::error::Error<&[u8]>>(rest) {
        Ok((_, body_len)) if body_len > max_frame => {
            // spec: FRAMING-2
            Err(DecodeError::FrameTooLarge {
                declared: body_len,
                max: max_frame,
            })
        }
        Ok((_, body_len)) => Ok(HeaderStatus::Ready(Header {
            frame_type,
            body_len,
        })),
        Err(nom::Err::Incomplete(needed)) => Ok(HeaderStatus::Incomplete(match needed {
            nom::Needed::Size(n) => n.get(),
            nom::Needed::Unknown => HEADER_LEN - input.len(),
        })),
        Err(_) => Ok(HeaderStatus::Incomplete(HEADER_LEN - input.len())),
    }
}

/// Removes and returns the first whole frame of `src`, or `Ok(None)` after
/// reserving room for what is missing (`[FRAMING-6]`). Every error is fatal
/// to the connection: nothing after the offending bytes is to be read.
pub fn decode(src: &mut BytesMut, max_frame: u32) -> Result<Option<Frame>, DecodeError> {
    decode_with(src, max_frame, |_| true)
}

/// `decode`, except that the body of a frame whose type `parse` refuses is
/// not examined: the frame comes back as [`Frame::Unknown`] with its own type
/// code, for a receiver that judges it by its type alone (spec section 6,
/// `[STATE-6]`). Its length is still checked and its body skipped.
pub fn decode_with(
    src: &mut BytesMut,
    max_frame: u32,
    parse: impl Fn(u8) -> bool,
) -> Result<Option<Frame>, DecodeError> {
    let header = match parse_header(src, max_frame)? {
        HeaderStatus::Ready(header) => header,
        HeaderStatus::Incomplete(missing) => {
            src.reserve(missing);
            return Ok(None);
        }
    };
    let total = HEADER_LEN + header.body_len as usize;
    if src.len() < total {
        // Grow with what arrives rather than on the header's word, so a few
        // header bytes cannot make a connection allocate `max_frame` at once.
        src.reserve((total - src.len()).min(RESERVE_STEP));
        return Ok(None);
    }
    // One reference-count bump for the whole frame; skipping the header of
    // a `Bytes` is only pointer arithmetic.
    let mut body = src.split_to(total).freeze();
    body.advance(HEADER_LEN);
    if !parse(header.frame_type) {
        return Ok(Some(Frame::Unknown(Unknown {
            frame_type: header.frame_type,
            body,
        })));
    }
    Frame::parse_body(header.frame_type, body).map(Some)
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, Bytes};

    use super::*;
    use crate::error::Malformation;
    use crate::frame::Leave;
    use crate::wire::Str8;

    #[test]
    fn header_checks_ascii_before_length_and_length_before_body() {
        // spec: FRAMING-4
        assert_eq!(
            parse_header(b"GET / HTTP/1.1\r\n", 65_536),
            Err(DecodeError::AsciiFrameType { byte: b'G' })
        );
        // spec: FRAMING-2
        assert_eq!(
            parse_header(&[0x83, 0x00, 0x01, 0x00, 0x01], 65_536),
            Err(DecodeError::FrameTooLarge {
                declared: 65_537,
                max: 65_536
            })
        );
        assert_eq!(
            parse_header(&[0x83, 0x00], 65_536),
            Ok(HeaderStatus::Incomplete(3))
        );
        assert_eq!(parse_header(&[], 65_536), Ok(HeaderStatus::Incomplete(5)));
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        // spec: FRAMING-6
        let frame = Frame::from(Leave {
            room: Str8::new("lobby").unwrap(),
        });
        let wire = frame.to_bytes();
        let mut buf = BytesMut::new();
        for (i, byte) in wire.iter().enumerate() {
            buf.put_u8(*byte);
            let decoded = decode(&mut buf, 65_536).unwrap();
            if i + 1 < wire.len() {
                assert_eq!(decoded, None);
            } else {
                assert_eq!(decoded, Some(frame.clone()));
            }
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn trailing_bytes_are_malformed() {
        // spec: FRAMING-3
        let mut wire = BytesMut::from(&[0x01, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0xAA][..]);
        assert_eq!(
            decode(&mut wire, 65_536),
            Err(DecodeError::Malformed {
                frame_type: 0x01,
                reason: Malformation::TrailingBytes
            })
        );
    }

    #[test]
    fn unknown_frames_are_skipped_by_length() {
        // spec: FRAMING-5
        let mut wire = BytesMut::from(&[0xA0, 0, 0, 0, 2, 7, 8, 0x01, 0, 0, 0, 8][..]);
        let frame = decode(&mut wire, 65_536).unwrap().unwrap();
        assert_eq!(
            frame,
            Frame::Unknown(Unknown {
                frame_type: 0xA0,
                body: Bytes::from_static(&[7, 8])
            })
        );
        assert_eq!(&wire[..], &[0x01, 0, 0, 0, 8]);
    }
}
