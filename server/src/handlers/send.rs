//! SEND (`[MSG-1]`, `[MSG-2]`, `[MSG-6]`, `[FLOW-1]`).

use std::sync::Arc;

use confab_protocol::frame::{code, Send};
use confab_protocol::ErrorCode;

use crate::clock::now_millis;
use crate::connection::ConnState;
use crate::ratelimit::Verdict;

pub async fn send(state: &mut ConnState, send: Send) {
    send_as(state, send, code::SEND, 0).await;
}

/// SEND, or SEND_ACTION (`frame_type`) delivered with `flags` (`[ACTION-1]`).
pub async fn send_as(state: &mut ConnState, send: Send, frame_type: u8, flags: u8) {
    let client_ref = send.client_ref;
    if let Err((code, message)) = super::check_body(state, &send.body) {
        state.reject(code, frame_type, client_ref, message);
        return;
    }
    let Some(room) = super::joined_room(state, &send.room) else {
        state.reject(
            ErrorCode::NOT_IN_ROOM,
            frame_type,
            client_ref,
            "join the room first",
        );
        return;
    };
    if !admit(state, frame_type, client_ref, send.body.len()) {
        return;
    }
    let shared = Arc::clone(&state.shared);
    // With a store, wait for room in its queue first: a busy disk slows this
    // sender, never the others, and nothing is assigned that cannot be stored.
    let durable = match &shared.store {
        Some(store) => match store.reserve().await {
            Some(permit) => Some(permit),
            None => {
                state.reject(
                    ErrorCode::STORAGE_FAILURE,
                    frame_type,
                    client_ref,
                    "message store unavailable",
                );
                return;
            }
        },
        None => None,
    };
    let hub = &shared.hub;
    // The ACK goes out when the message is released (after storing, `[MSG-2]`).
    let published = room.publish(
        state.member(),
        client_ref,
        send.body,
        flags,
        now_millis(),
        || hub.next_message_id(),
        durable,
    );
    if !published {
        state.reject(
            ErrorCode::NOT_IN_ROOM,
            frame_type,
            client_ref,
            "join the room first",
        );
    }
}

/// Applies the rate limit to one message; false when it was rejected.
pub(super) fn admit(
    state: &mut ConnState,
    frame_type: u8,
    client_ref: u32,
    body_len: usize,
) -> bool {
    match state.limiter.check(&state.shared.limits, body_len) {
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
            let last = state.session.fatal_about(
                ErrorCode::FLOODING,
                frame_type,
                client_ref,
                "kept sending past the rate limit",
            );
            state.close_with(last);
            false
        }
    }
}
