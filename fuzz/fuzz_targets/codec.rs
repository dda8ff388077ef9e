//! Arbitrary bytes through the streaming decoder, delivered in chunks the way a
//! socket delivers them (spec section 4, `[SEC-1]`, `[SEC-2]`).
//!
//! Input layout:
//!
//! ```text
//! +----------------+-------------+----------------------------------+
//! | max_frame: u8  | chunking: u8| stream: the peer's bytes          |
//! +----------------+-------------+----------------------------------+
//! ```
//!
//! `max_frame` picks an entry of `MAX_FRAMES` (spec bounds 4,096..=16 MiB, plus
//! a few values below the spec minimum so that `FRAME_TOO_LARGE` is reached
//! often); `chunking` picks how the stream is cut into reads
//! (`confab_fuzz::chunks`).
//!
//! Invariants checked:
//! - decoding never panics and never reads past an error (`[ERROR-3]`);
//! - every frame re-encodes to exactly the bytes it was decoded from;
//! - the outcome does not depend on how the bytes were split (`[FRAMING-6]`);
//! - a header error consumes nothing, a body error consumes exactly its frame;
//! - the buffer's capacity stays bounded by what was supplied plus one header
//!   and `max_frame` (`[FRAMING-2]`, `[LIMIT-2]`): no reservation follows an
//!   unchecked declared length.
//! - what is left at the end is a strict prefix of a frame (`[FRAMING-6]`).

#![no_main]

use bytes::BytesMut;
use confab_fuzz::chunks;
use confab_protocol::frame::{self, HEADER_LEN};
use confab_protocol::{DecodeError, Frame, FrameCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

const MAX_FRAMES: [u32; 16] = [
    4096,
    65_536,
    16 * 1024 * 1024,
    4097,
    8192,
    1 << 20,
    16 * 1024 * 1024 - 1,
    65_535,
    // Below the spec's lower bound: the decoder must not care.
    0,
    1,
    5,
    8,
    39,
    64,
    255,
    1024,
];

/// Bytes that `Vec`'s doubling may add on top of what was asked for, and a
/// little more for `BytesMut`'s original-capacity rule.
const SLACK: usize = 64;

/// What decoding a whole stream produced.
#[derive(Debug, PartialEq)]
struct Outcome {
    frames: Vec<Frame>,
    error: Option<DecodeError>,
    /// Bytes consumed before the error, or before the incomplete tail.
    consumed: usize,
}

/// The declared length of the frame at the front of `buf`, if the header is whole.
fn declared_len(buf: &[u8]) -> Option<usize> {
    (buf.len() >= HEADER_LEN).then(|| u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize)
}

fn decode_chunked(stream: &[u8], max_frame: u32, chunk_mode: u8) -> Outcome {
    let mut buf = BytesMut::new();
    let mut supplied = 0usize;
    let mut frames = Vec::new();
    let cap_bound = |supplied: usize| 2 * (supplied + HEADER_LEN + max_frame as usize) + SLACK;

    for size in chunks(chunk_mode, stream.len()) {
        buf.extend_from_slice(&stream[supplied..supplied + size]);
        supplied += size;
        loop {
            // Where the bytes at the front of `buf` start in the stream.
            let start = supplied - buf.len();
            let before = buf.len();
            let result = frame::decode(&mut buf, max_frame);
            assert!(
                buf.capacity() <= cap_bound(supplied),
                "capacity {} after {} bytes supplied with max_frame {}",
                buf.capacity(),
                supplied,
                max_frame
            );
            match result {
                Ok(Some(frame)) => {
                    let used = before - buf.len();
                    assert!(used >= HEADER_LEN);
                    assert!(used - HEADER_LEN <= max_frame as usize);
                    assert_eq!(frame.encoded_len(), used, "{frame:?}");
                    assert_eq!(frame.body_len(), used - HEADER_LEN, "{frame:?}");
                    let mut again = BytesMut::new();
                    frame.encode(&mut again);
                    assert_eq!(
                        &again[..],
                        &stream[start..start + used],
                        "re-encoding {frame:?} differs from its bytes"
                    );
                    frames.push(frame);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "Ok(None) must not consume");
                    // A whole frame is never left waiting, and there is room
                    // for more bytes (how much is the decoder's choice).
                    if let Some(declared) = declared_len(&buf) {
                        assert!(declared <= max_frame as usize);
                        assert!(buf.len() < HEADER_LEN + declared);
                    }
                    assert!(buf.capacity() > buf.len(), "no room reserved");
                    break;
                }
                Err(error) => {
                    check_error(&error, &stream[start..], before - buf.len(), max_frame);
                    // spec: ERROR-3 — nothing after the offending frame is read.
                    return Outcome {
                        frames,
                        error: Some(error),
                        consumed: supplied - buf.len(),
                    };
                }
            }
        }
    }
    Outcome {
        frames,
        error: None,
        consumed: supplied - buf.len(),
    }
}

/// `at` is the stream from the offending frame on; `used` what decode removed.
fn check_error(error: &DecodeError, at: &[u8], used: usize, max_frame: u32) {
    assert!(
        error.code().is_fatal(),
        "decode errors are fatal: {error:?}"
    );
    match *error {
        DecodeError::AsciiFrameType { byte } => {
            // spec: FRAMING-4 — judged on the type byte alone.
            assert_eq!(byte, at[0]);
            assert!((0x20..=0x7E).contains(&byte));
            assert_eq!(used, 0);
        }
        DecodeError::FrameTooLarge { declared, max } => {
            // spec: FRAMING-2 — judged on the header, before the body.
            assert_eq!(max, max_frame);
            assert!(declared > max);
            assert_eq!(Some(declared as usize), declared_len(at));
            assert_eq!(used, 0);
        }
        DecodeError::TlsRecord => {
            unreachable!("only a server session reports TLS (TRANSPORT-4), not frame::decode")
        }
        DecodeError::BadMagic { frame_type }
        | DecodeError::Malformed { frame_type, .. }
        | DecodeError::InvalidUtf8 { frame_type } => {
            assert_eq!(frame_type, at[0]);
            let declared = declared_len(at).expect("a body error has a whole header");
            assert_eq!(used, HEADER_LEN + declared);
        }
    }
}

/// The reference: the whole stream in one read, through the `tokio_util` codec.
fn decode_whole(stream: &[u8], max_frame: u32) -> Outcome {
    let mut codec = FrameCodec::new(max_frame);
    let mut buf = BytesMut::from(stream);
    let mut frames = Vec::new();
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => {
                return Outcome {
                    frames,
                    error: None,
                    consumed: stream.len() - buf.len(),
                }
            }
            Err(confab_protocol::CodecError::Decode(error)) => {
                return Outcome {
                    frames,
                    error: Some(error),
                    consumed: stream.len() - buf.len(),
                }
            }
            Err(other) => panic!("decoding reported a non-decode error: {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [max_sel, chunk_mode, stream @ ..] = data else {
        return;
    };
    let max_frame = MAX_FRAMES[usize::from(*max_sel) % MAX_FRAMES.len()];
    let chunked = decode_chunked(stream, max_frame, *chunk_mode);
    let whole = decode_whole(stream, max_frame);
    // spec: FRAMING-6 — how the bytes were split changes nothing.
    assert_eq!(chunked, whole);
});
