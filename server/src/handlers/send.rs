//! SEND (`[MSG-1]`, `[MSG-2]`, `[MSG-6]`, `[FLOW-1]`).

use std::sync::Arc;

use confab_protocol::frame::{code, SendMessage};
use confab_protocol::ErrorCode;

use crate::clock::now_millis;
use crate::connection::ConnState;
use crate::log::MessageLog;

pub async fn send(state: &mut ConnState, send: SendMessage) {
    send_as(state, send, code::SEND, 0).await;
}

/// SEND, or SEND_ACTION (`frame_type`) delivered with `flags` (`[ACTION-1]`).
pub async fn send_as(state: &mut ConnState, send: SendMessage, frame_type: u8, flags: u8) {
    let client_ref = send.client_ref;
    if let Err((code, message)) = super::check_body(state, &send.body) {
        state
            .reject_in_order(code, frame_type, client_ref, message)
            .await;
        return;
    }
    let Some(room) = super::joined_room(state, &send.room) else {
        state
            .reject_in_order(
                ErrorCode::NOT_IN_ROOM,
                frame_type,
                client_ref,
                "join the room first",
            )
            .await;
        return;
    };
    // spec: MOD-9, MOD-20 — after NOT_IN_ROOM, before STORAGE_FAILURE.
    if let Err(why) = super::moderation::check_speak(state, &room) {
        state
            .reject_in_order(ErrorCode::CANNOT_SPEAK, frame_type, client_ref, &why)
            .await;
        return;
    }
    let shared = Arc::clone(&state.shared);
    // Wait for room in the log first: a busy disk slows this sender, never
    // the others, and nothing is assigned that cannot be stored.
    let slot = match shared.log.reserve().await {
        Ok(slot) => slot,
        Err(e) => {
            tracing::error!(conn = state.id, "cannot append to the message log: {e}");
            state
                .reject_in_order(
                    ErrorCode::STORAGE_FAILURE,
                    frame_type,
                    client_ref,
                    "message store unavailable",
                )
                .await;
            return;
        }
    };
    let hub = &shared.hub;
    // The ACK goes out when the message is released (once durable, `[MSG-2]`).
    let published = room.publish(
        state.member(),
        client_ref,
        send.body,
        flags,
        now_millis(),
        || hub.next_message_id(),
        slot,
        &state.unacked,
    );
    if !published {
        state
            .reject_in_order(
                ErrorCode::NOT_IN_ROOM,
                frame_type,
                client_ref,
                "join the room first",
            )
            .await;
    }
}
