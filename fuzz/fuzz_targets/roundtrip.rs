//! Structure-aware: a `Frame` built by `arbitrary`, encoded and decoded again
//! (spec sections 3-5).
//!
//! Invariants checked:
//! - `decode(encode(x)) == x`, consuming the whole buffer;
//! - `encoded_len()` and `body_len()` equal what `encode` wrote and what the
//!   header declares; `to_bytes` and the codec write the same bytes;
//! - every strict prefix of the encoding is "wait for more", not an error
//!   (`[FRAMING-6]`);
//! - a `max_frame` one below the body length is refused on the header
//!   (`[FRAMING-2]`), and the codec refuses to encode it.

#![no_main]

use bytes::{Buf, BytesMut};
use confab_protocol::frame::{self, HEADER_LEN};
use confab_protocol::{CodecError, DecodeError, EncodeError, Frame, FrameCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};

/// The spec's largest `max_frame` (section 16).
const MAX_FRAME: u32 = 16 * 1024 * 1024;

fuzz_target!(|frame: Frame| {
    let body_len = frame.body_len();
    if body_len > MAX_FRAME as usize {
        return;
    }

    let mut wire = BytesMut::new();
    frame.encode(&mut wire);
    assert_eq!(wire.len(), frame.encoded_len(), "{frame:?}");
    assert_eq!(frame.encoded_len(), HEADER_LEN + body_len);
    assert_eq!(wire[0], frame.frame_type());
    assert_eq!((&wire[1..HEADER_LEN]).get_u32() as usize, body_len);
    assert_eq!(frame.to_bytes(), wire.clone().freeze());

    // Appending to a buffer that already holds bytes writes the same frame.
    let mut appended = BytesMut::from(&b"xyz"[..]);
    frame.encode(&mut appended);
    assert_eq!(&appended[3..], &wire[..]);

    let mut codec = FrameCodec::new(MAX_FRAME);
    let mut via_codec = BytesMut::new();
    codec
        .encode(&frame, &mut via_codec)
        .expect("fits MAX_FRAME");
    assert_eq!(via_codec, wire);

    // spec: FRAMING-6 — a partial frame is "wait for more", whatever its length.
    for cut in [
        0,
        1,
        HEADER_LEN - 1,
        HEADER_LEN,
        wire.len().saturating_sub(1),
    ] {
        if cut < wire.len() {
            let mut partial = BytesMut::from(&wire[..cut]);
            assert_eq!(
                frame::decode(&mut partial, MAX_FRAME),
                Ok(None),
                "cut at {cut}"
            );
            assert_eq!(partial.len(), cut);
        }
    }

    let mut input = wire.clone();
    let decoded = frame::decode(&mut input, MAX_FRAME);
    assert_eq!(decoded.as_ref(), Ok(&Some(frame.clone())), "{wire:02x?}");
    assert!(input.is_empty(), "{} bytes left over", input.len());

    let mut input = wire.clone();
    assert_eq!(codec.decode(&mut input).ok().flatten(), Some(frame.clone()));
    assert!(input.is_empty());

    // spec: FRAMING-2 — one byte over the limit is refused on the header.
    if body_len > 0 {
        let max = (body_len - 1) as u32;
        let mut input = wire.clone();
        assert_eq!(
            frame::decode(&mut input, max),
            Err(DecodeError::FrameTooLarge {
                declared: body_len as u32,
                max
            })
        );
        assert_eq!(input.len(), wire.len(), "nothing is consumed");
        let mut out = BytesMut::new();
        assert!(matches!(
            FrameCodec::new(max).encode(&frame, &mut out),
            Err(CodecError::Encode(EncodeError::FrameTooLarge { .. }))
        ));
    }
});
