//! The inputs of the malformed-input attack: the spec's vectors, valid
//! frames in the wrong state, and random mutations of both, each with the
//! answer the spec requires (`model`).

use bytes::BytesMut;
use confab_protocol::frame::{self, code, Frame, Hello, Route};
use confab_protocol::{ErrorCode, Str8};

use crate::common::wire;
use crate::support::Rng;
use crate::DEFAULT_MAX_FRAME;

/// Where the attacker's bytes land.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The first bytes after connecting (the server is in AWAIT_HELLO).
    First,
    /// After a successful login (READY).
    Ready,
}

/// The answer the spec requires for an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expect {
    /// A fatal ERROR with this code and frame_type, as the last frame, and
    /// nothing after the offending bytes processed (no PONG for the sentinel).
    Fatal(ErrorCode, u8),
    /// Everything processed, the sentinel PING answered, no fatal ERROR.
    Pong,
    /// No answer to the sentinel and no fatal ERROR: the connection ends at
    /// our end of stream or at a GOODBYE / fatal ERROR of ours.
    Closed,
    /// The outcome depends on what the server decides (a LOGIN whose name
    /// is random); only the general rules are checked.
    Defined,
}

pub(crate) struct Input {
    pub(crate) label: String,
    pub(crate) mode: Mode,
    /// Everything written, the sentinel PING included when there is one.
    pub(crate) bytes: Vec<u8>,
    pub(crate) sentinel: u64,
    pub(crate) expect: Expect,
    /// An ERROR (code, frame_type) that must be among the answers.
    pub(crate) also: Option<(ErrorCode, u8)>,
}

/// A PING with this nonce is appended to (most) inputs: answering it proves
/// the server processed everything before it; not answering it after a fatal
/// error proves it stopped (`[ERROR-3]`).
pub(crate) fn sentinel_nonce(index: usize) -> u64 {
    0x5E57_1E00_0000_0000 | index as u64
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelState {
    AwaitHello,
    AwaitLogin,
    Ready,
}

/// What the spec says the server answers to `bytes` followed by our end of
/// stream, from the frame rules (sections 4, 6, 15) applied to the frames
/// the bytes hold.
pub(crate) fn model(mode: Mode, bytes: &[u8], sentinel: u64) -> Expect {
    let mut buf = BytesMut::from(bytes);
    let mut state = match mode {
        Mode::First => ModelState::AwaitHello,
        Mode::Ready => ModelState::Ready,
    };
    for _ in 0..100_000 {
        if state == ModelState::AwaitHello && buf.starts_with(&[0x16, 0x03]) {
            // spec: TRANSPORT-4 — a TLS ClientHello, before the length check.
            return Expect::Fatal(ErrorCode::NOT_CONFAB, 0);
        }
        let judged = state;
        let frame = match frame::decode_with(&mut buf, DEFAULT_MAX_FRAME, |t| parses(judged, t)) {
            Err(e) => return Expect::Fatal(e.code(), e.frame_type()),
            // A partial frame (or nothing) at our end of stream.
            Ok(None) => return Expect::Closed,
            Ok(Some(frame)) => frame,
        };
        match &frame {
            Frame::Goodbye(_) => return Expect::Closed,
            Frame::ErrorFrame(e) if e.is_fatal() => return Expect::Closed,
            Frame::ErrorFrame(_) => continue,
            _ => {}
        }
        match state {
            ModelState::AwaitHello => match &frame {
                Frame::Hello(hello) if hello.version == 1 => state = ModelState::AwaitLogin,
                Frame::Hello(_) => {
                    return Expect::Fatal(ErrorCode::UNSUPPORTED_VERSION, code::HELLO)
                }
                other => return Expect::Fatal(ErrorCode::NOT_CONFAB, other.frame_type()),
            },
            ModelState::AwaitLogin | ModelState::Ready => {
                if matches!(&frame, Frame::Ping(p) if p.nonce == sentinel) && buf.is_empty() {
                    return Expect::Pong;
                }
                if state == ModelState::AwaitLogin && matches!(frame, Frame::Login(_)) {
                    return Expect::Defined;
                }
            }
        }
    }
    Expect::Defined
}

/// spec: STATE-6 — whether the server examines a body of this type: before
/// HELLO only HELLO, GOODBYE and ERROR; later never a server-to-client one.
pub(crate) fn parses(state: ModelState, frame_type: u8) -> bool {
    match state {
        ModelState::AwaitHello => matches!(frame_type, code::HELLO | code::GOODBYE | code::ERROR),
        _ => matches!(
            frame::route_of(frame_type),
            Some(Route::Both | Route::ClientToServer)
        ),
    }
}

pub(crate) struct Vector {
    name: String,
    bytes: Vec<u8>,
    /// The error the vector names; None for valid frames and incomplete input.
    error: Option<ErrorCode>,
    incomplete: bool,
    max_frame: u32,
}

pub(crate) fn load_vectors(file: &str) -> Vec<Vector> {
    let path = format!("{}/../spec/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            name: v["name"].as_str().unwrap().to_string(),
            bytes: hex::decode(v["hex"].as_str().unwrap()).unwrap(),
            error: v["error"]
                .as_str()
                .map(|name| ErrorCode::from_name(name).unwrap_or_else(|| panic!("{name}"))),
            incomplete: v["incomplete"].as_bool().unwrap_or(false),
            max_frame: v["max_frame"]
                .as_u64()
                .map_or(DEFAULT_MAX_FRAME, |m| m as u32),
        })
        .collect()
}

/// The ERROR a valid frame must draw in READY, besides the normal reply.
pub(crate) fn ready_also(bytes: &[u8]) -> Option<(ErrorCode, u8)> {
    let frame = frame::decode(&mut BytesMut::from(bytes), DEFAULT_MAX_FRAME).ok()??;
    let frame_type = frame.frame_type();
    match frame {
        // spec: VERSION-3 — skipped and reported, not fatal.
        Frame::Unknown(_) => Some((ErrorCode::UNKNOWN_FRAME_TYPE, frame_type)),
        // spec: STATE-2 — wrong direction or state: reported, ignored.
        Frame::Hello(_) | Frame::Login(_) => Some((ErrorCode::UNEXPECTED_FRAME, frame_type)),
        f if f.direction() == Some(Route::ServerToClient) => {
            Some((ErrorCode::UNEXPECTED_FRAME, frame_type))
        }
        _ => None,
    }
}

pub(crate) fn hello_bytes(flags: u8) -> Vec<u8> {
    Frame::Hello(Hello {
        version: 1,
        flags,
        client: Str8::new("attacker").unwrap(),
    })
    .to_bytes()
    .to_vec()
}

/// Appends an input: `payload`, then (with `with_sentinel`) the sentinel
/// PING; the expectation comes from `model`.
pub(crate) fn push_input<'a>(
    inputs: &'a mut Vec<Input>,
    label: String,
    mode: Mode,
    payload: &[u8],
    with_sentinel: bool,
    also: Option<(ErrorCode, u8)>,
) -> &'a Input {
    let sentinel = sentinel_nonce(inputs.len());
    let mut bytes = payload.to_vec();
    if with_sentinel {
        bytes.extend(wire(&Frame::Ping(frame::Ping { nonce: sentinel })));
    }
    let expect = model(mode, &bytes, sentinel);
    inputs.push(Input {
        label,
        mode,
        bytes,
        sentinel,
        expect,
        also,
    });
    inputs.last().unwrap()
}

/// Every input of the malformed-input attack.
pub(crate) fn build_inputs(rng: &mut Rng) -> Vec<Input> {
    let malformed = load_vectors("malformed.json");
    let frames = load_vectors("frames.json");
    assert!(malformed.len() > 300 && frames.len() > 100, "vectors found");
    let mut inputs = Vec::new();

    for mode in [Mode::First, Mode::Ready] {
        for v in &malformed {
            let label = format!("malformed.json {} ({mode:?})", v.name);
            if v.incomplete {
                // spec: FRAMING-6 — the server waits; our end of stream ends it.
                let input = push_input(&mut inputs, label, mode, &v.bytes, false, None);
                assert_eq!(input.expect, Expect::Closed, "{}", input.label);
            } else {
                let input = push_input(&mut inputs, label, mode, &v.bytes, true, None);
                // The independent vectors and the model agree (vectors written
                // for max_frame 4096 are judged by the model alone: this
                // server has the default max_frame).
                // The vectors are a decoder's: where the server judges a
                // frame by its type alone, a body error is not seen
                // (`[STATE-6]`), nor is the length of a first `16 03`.
                let state = match mode {
                    Mode::First => ModelState::AwaitHello,
                    Mode::Ready => ModelState::Ready,
                };
                let header_error = matches!(v.error, Some(ErrorCode::FRAME_TOO_LARGE))
                    || (0x20..=0x7E).contains(&v.bytes[0]);
                let unseen = (!header_error && !parses(state, v.bytes[0]))
                    || (mode == Mode::First && v.bytes.starts_with(&[0x16, 0x03]));
                if v.max_frame == DEFAULT_MAX_FRAME && !unseen {
                    let code = v.error.unwrap();
                    assert!(
                        matches!(input.expect, Expect::Fatal(c, _) if c == code),
                        "{}: vector says {code:?}, model {:?}",
                        input.label,
                        input.expect
                    );
                }
            }
        }
        for v in &frames {
            let label = format!("frames.json {} ({mode:?})", v.name);
            let also = match mode {
                Mode::Ready => ready_also(&v.bytes),
                Mode::First => None,
            };
            let input = push_input(&mut inputs, label, mode, &v.bytes, true, also);
            assert_ne!(input.expect, Expect::Defined, "{}", input.label);
        }
    }

    // Random byte strings.
    for i in 0..1_000 {
        let mode = if i % 2 == 0 { Mode::First } else { Mode::Ready };
        let len = 1 + rng.below(48);
        let payload = rng.bytes(len);
        push_input(
            &mut inputs,
            format!("random #{i} ({mode:?})"),
            mode,
            &payload,
            true,
            None,
        );
    }

    // Random frames of real types: a plausible header over a random body.
    let types: Vec<u8> = (0x01..=0x04)
        .chain(0x10..=0x18)
        .chain(0x80..=0x8E)
        .chain([0x00, 0x05, 0x1F, 0x7F, 0xA0, 0xFF])
        .collect();
    for i in 0..1_000 {
        let mode = if i % 2 == 0 { Mode::First } else { Mode::Ready };
        let frame_type = types[rng.below(types.len())];
        let body_len = rng.below(40);
        let body = rng.bytes(body_len);
        let declared = match rng.below(6) {
            0 => body.len() as u32 + 1 + rng.below(3) as u32,
            1 => (body.len() as u32).saturating_sub(1 + rng.below(3) as u32),
            _ => body.len() as u32,
        };
        let mut payload = Vec::new();
        if mode == Mode::First && rng.below(2) == 0 {
            payload.extend(hello_bytes(rng.below(2) as u8));
        }
        payload.push(frame_type);
        payload.extend(declared.to_be_bytes());
        payload.extend(body);
        push_input(
            &mut inputs,
            format!("random frame #{i} type {frame_type:#04x} ({mode:?})"),
            mode,
            &payload,
            true,
            None,
        );
    }

    // Mutated valid frames.
    let small: Vec<&Vector> = frames.iter().filter(|v| v.bytes.len() <= 4_096).collect();
    for i in 0..2_000 {
        let mode = if i % 2 == 0 { Mode::First } else { Mode::Ready };
        let original = small[rng.below(small.len())];
        let mut bytes = original.bytes.clone();
        let mut what = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(bytes.len().max(1));
            match rng.below(6) {
                0 => {
                    bytes[at] ^= 1 << rng.below(8);
                    what.push(format!("flip@{at}"));
                }
                1 => {
                    bytes[at] = rng.byte();
                    what.push(format!("set@{at}"));
                }
                2 => {
                    bytes[at] = [0x00, 0x7F, 0x80, 0xC0, 0xED, 0xFF][rng.below(6)];
                    what.push(format!("edge@{at}"));
                }
                3 if bytes.len() > 1 => {
                    bytes.truncate(at.max(1));
                    what.push(format!("cut@{at}"));
                }
                4 => {
                    let b = rng.byte();
                    bytes.insert(at, b);
                    what.push(format!("insert@{at}"));
                }
                _ => {
                    let extra_len = 1 + rng.below(4);
                    let extra = rng.bytes(extra_len);
                    bytes.extend(extra);
                    what.push("append".into());
                }
            }
        }
        // Usually keep the header's length honest, so the body parsers see it.
        if bytes.len() >= 5 && rng.below(3) != 0 {
            let len = (bytes.len() - 5) as u32;
            bytes[1..5].copy_from_slice(&len.to_be_bytes());
            what.push("fixlen".into());
        }
        let mut payload = Vec::new();
        if mode == Mode::First && rng.below(2) == 0 {
            payload.extend(hello_bytes(1));
        }
        payload.extend(bytes);
        push_input(
            &mut inputs,
            format!(
                "mutated #{i} {} [{}] ({mode:?})",
                original.name,
                what.join(",")
            ),
            mode,
            &payload,
            true,
            None,
        );
    }
    inputs
}
