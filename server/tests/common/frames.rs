//! Frames built by hand or picked out, and names no other test uses.

use std::sync::atomic::{AtomicUsize, Ordering};

use confab_protocol::frame::{ErrorFrame, Frame, Login, LoginMode};
use confab_protocol::Str8;

/// An encoded frame, for writing raw.
pub fn wire(frame: &Frame) -> Vec<u8> {
    frame.to_bytes().to_vec()
}

/// SEND frames with client_refs 1..=count to `room`, bodies from `body`,
/// in one buffer (for one write).
pub fn sends(room: &str, count: u32, body: impl Fn(u32) -> String) -> Vec<u8> {
    (1..=count)
        .flat_map(|client_ref| {
            wire(&Frame::SendMessage(confab_protocol::frame::SendMessage {
                client_ref,
                room: confab_protocol::Str8::truncated(room),
                body: confab_protocol::Str16::truncated(&body(client_ref)),
            }))
        })
        .collect()
}

/// A hand-built frame: type, length and body as given.
pub fn raw_frame(frame_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![frame_type];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A SEND body built by hand (so the body bytes may be anything).
pub fn raw_send_body(client_ref: u32, room: &str, body: &[u8]) -> Vec<u8> {
    let mut out = client_ref.to_be_bytes().to_vec();
    out.push(room.len() as u8);
    out.extend_from_slice(room.as_bytes());
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A LOGIN frame with any mode and password.
pub fn login_frame(mode: LoginMode, name: &str, password: &str) -> Frame {
    Frame::Login(Login {
        mode,
        username: Str8::new(name).unwrap(),
        password: Str8::new(password).unwrap(),
    })
}

/// The ERROR frames among `frames`.
pub fn errors(frames: &[Frame]) -> Vec<&ErrorFrame> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::ErrorFrame(e) => Some(e),
            _ => None,
        })
        .collect()
}

static UNIQUE: AtomicUsize = AtomicUsize::new(0);

/// `prefix` and a number no other call in this test binary got.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}{}", UNIQUE.fetch_add(1, Ordering::Relaxed))
}
