//! The server session and the moderation frames of spec section 21: unknown
//! frames on a server without `MODERATION`, requests and unexpected frames
//! on one with it (`[MOD-1]`, `[STATE-6]`).

mod strategies;

use bytes::{BufMut, BytesMut};
use confab_protocol::frame::{code, ErrorFrame, Hello, Login};
use confab_protocol::session::{Request, ServerAction, ServerSession, ServerState, ServerTimers};
use confab_protocol::Limits;
use confab_protocol::{ErrorCode, Frame, Str8};
use proptest::prelude::*;
use std::time::Instant;
use strategies as s;

const MAX_FRAME: u32 = 1 << 20;

/// A session past HELLO, and past WELCOME when `ready`.
fn session(moderation: bool, ready: bool) -> ServerSession {
    let mut session = ServerSession::new(
        1,
        1,
        3,
        ServerTimers::from_limits(&Limits::default()),
        Instant::now(),
    )
    .with_moderation(moderation);
    let hello = Frame::Hello(Hello {
        version: 1,
        flags: Hello::MODERATION,
        client: Str8::empty(),
    });
    assert_eq!(session.handle(hello), ServerAction::Nothing);
    if ready {
        let login = Frame::Login(Login::guest(Str8::new("mod").unwrap()));
        assert!(matches!(session.handle(login), ServerAction::Login(_)));
        assert!(session
            .accept_login(Str8::new("mod").unwrap(), 0, 0)
            .is_some());
    }
    session
}

/// The frame as bytes, and the same with its body's last byte cut off
/// (a malformed body whenever the body is not empty).
fn wire(frame: &Frame) -> (BytesMut, BytesMut) {
    let whole = BytesMut::from(&frame.to_bytes()[..]);
    let mut cut = BytesMut::new();
    let body = &whole[5..];
    let short = &body[..body.len().saturating_sub(1)];
    cut.put_u8(frame.frame_type());
    cut.put_u32(short.len() as u32);
    cut.put_slice(short);
    (whole, cut)
}

fn is_error(action: &ServerAction, code: ErrorCode, frame_type: u8) -> bool {
    matches!(
        action,
        ServerAction::Reply(Frame::ErrorFrame(e))
            if e.code == code && e.frame_type == frame_type && e.client_ref == 0
                && e.flags & ErrorFrame::FATAL == 0
    )
}

fn request_of(frame: &Frame) -> Option<Request> {
    Some(match frame.clone() {
        Frame::Moderate(m) => Request::Moderate(m),
        Frame::RoomSettings(r) => Request::RoomSettings(r),
        Frame::Audit(a) => Request::Audit(a),
        _ => return None,
    })
}

proptest! {
    #![proptest_config(s::config(128))]

    // A server that did not set MODERATION answers every frame of section
    // 21, in any state after HELLO, parsed or as bytes, well-formed or not,
    // UNKNOWN_FRAME_TYPE without examining its body.
    // spec: MOD-1, VERSION-3, STATE-6
    #[test]
    fn without_moderation_its_frames_are_unknown(
        frame in prop_oneof![s::moderation_request(), s::moderation_server_frame()],
        ready in any::<bool>(),
    ) {
        let t = frame.frame_type();
        prop_assert!(s::MODERATION_CODES.contains(&t));
        let mut session = session(false, ready);
        let action = session.handle(frame.clone());
        prop_assert!(is_error(&action, ErrorCode::UNKNOWN_FRAME_TYPE, t), "{:?}", action);
        let (mut whole, mut cut) = wire(&frame);
        for bytes in [&mut whole, &mut cut] {
            let decoded = session.decode(bytes, MAX_FRAME, Instant::now()).unwrap().unwrap();
            prop_assert!(matches!(decoded, Frame::Unknown(_)));
            let action = session.handle(decoded);
            prop_assert!(is_error(&action, ErrorCode::UNKNOWN_FRAME_TYPE, t), "{:?}", action);
        }
        prop_assert!(!session.is_closed());
    }

    // On a MODERATION server a READY client's requests reach the application
    // as they were sent; before WELCOME they are UNEXPECTED_FRAME; the
    // server-to-client frames are UNEXPECTED_FRAME with bodies unexamined.
    // spec: MOD-1, STATE-2, STATE-3, STATE-6
    #[test]
    fn with_moderation_requests_are_handed_over(
        frame in prop_oneof![s::moderation_request(), s::moderation_server_frame()],
        ready in any::<bool>(),
    ) {
        let t = frame.frame_type();
        let mut session = session(true, ready);
        let (mut whole, mut cut) = wire(&frame);
        let decoded = session.decode(&mut whole, MAX_FRAME, Instant::now()).unwrap().unwrap();
        let action = session.handle(decoded);
        match request_of(&frame) {
            Some(request) if ready => prop_assert_eq!(action, ServerAction::Request(request)),
            _ => prop_assert!(is_error(&action, ErrorCode::UNEXPECTED_FRAME, t), "{:?}", action),
        }
        let cut_result = session.decode(&mut cut, MAX_FRAME, Instant::now());
        if request_of(&frame).is_none() {
            let unparsed = cut_result.unwrap().unwrap();
            prop_assert!(is_error(&session.handle(unparsed), ErrorCode::UNEXPECTED_FRAME, t));
        }
        prop_assert_eq!(session.state(), if ready { ServerState::Ready } else { ServerState::AwaitLogin });
    }
}

#[test]
fn a_short_moderate_on_a_moderation_server_is_malformed() {
    // spec: MOD-1, FRAMING-3
    let mut session = session(true, true);
    let mut bytes = BytesMut::from(&[code::MODERATE, 0, 0, 0, 2, 1, 0][..]);
    let error = session
        .decode(&mut bytes, MAX_FRAME, Instant::now())
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::MALFORMED_FRAME);
    // An action the spec does not define is malformed too (`[TYPES-4]`).
    let mut bytes = BytesMut::from(&[code::MODERATE, 0, 0, 0, 13, 11, 0, 0][..]);
    bytes.put_slice(&[0; 10]);
    let error = session
        .decode(&mut bytes, MAX_FRAME, Instant::now())
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::MALFORMED_FRAME);
}
