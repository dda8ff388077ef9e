//! SEND (`[MSG-1]`, `[MSG-2]`, `[MSG-6]`, `[FLOW-1]`).

use confab_protocol::frame::{code, Ack, Frame, Send};
use confab_protocol::ErrorCode;

use crate::clock::now_millis;
use crate::connection::ConnState;
use crate::ratelimit::Verdict;

pub fn send(state: &mut ConnState, send: Send) {
    let client_ref = send.client_ref;
    if let Err((code, message)) = super::check_body(state, &send.body) {
        state.reject(code, code::SEND, client_ref, message);
        return;
    }
    let Some(room) = super::joined_room(state, &send.room) else {
        state.reject(
            ErrorCode::NOT_IN_ROOM,
            code::SEND,
            client_ref,
            "join the room first",
        );
        return;
    };
    if !admit(state, code::SEND, client_ref, send.body.len()) {
        return;
    }
    let hub = &state.shared.hub;
    let time = now_millis();
    let published = room.publish(state.member(), send.body, time, || hub.next_message_id());
    match published {
        // The ACK is queued after every recipient's copy (`[MSG-2]`).
        Some((id, seq)) => state.send(Frame::Ack(Ack {
            client_ref,
            id,
            seq,
            time,
        })),
        None => state.reject(
            ErrorCode::NOT_IN_ROOM,
            code::SEND,
            client_ref,
            "join the room first",
        ),
    }
}

/// Applies the rate limit to one message; false when it was rejected.
pub(super) fn admit(
    state: &mut ConnState,
    frame_type: u8,
    client_ref: u32,
    body_len: usize,
) -> bool {
    match state.limiter.check(body_len) {
        Verdict::Allowed => true,
        Verdict::Limited => {
            state.reject(
                ErrorCode::RATE_LIMITED,
                frame_type,
                client_ref,
                "rate limit: message not sent",
            );
            false
        }
        Verdict::Flooding => {
            let last = state.session.fatal(
                ErrorCode::FLOODING,
                frame_type,
                "kept sending past the rate limit",
            );
            state.close_with(last);
            false
        }
    }
}
