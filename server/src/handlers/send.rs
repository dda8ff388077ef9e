//! SEND (`[MSG-1]`, `[MSG-2]`, `[MSG-6]`, `[FLOW-1]`).

use std::sync::Arc;

use confab_protocol::frame::{code, SendMessage};
use confab_protocol::ErrorCode;

use crate::clock::now_millis;
use crate::connection::Peer;
use crate::hub::Member;
use crate::services::Services;

pub async fn send(services: &Services, me: &Arc<Member>, peer: &mut Peer, send: SendMessage) {
    send_as(services, me, peer, send, code::SEND, 0).await;
}

/// SEND, or SEND_ACTION (`frame_type`) delivered with `flags` (`[ACTION-1]`).
pub async fn send_as(
    services: &Services,
    me: &Arc<Member>,
    peer: &mut Peer,
    send: SendMessage,
    frame_type: u8,
    flags: u8,
) {
    let client_ref = send.client_ref;
    if let Err((code, message)) = super::check_body(services, &send.body) {
        peer.reject_in_order(code, frame_type, client_ref, message)
            .await;
        return;
    }
    let Some(room) = super::joined_room(services, peer, &send.room) else {
        not_in_room(peer, frame_type, client_ref).await;
        return;
    };
    // spec: MOD-9, MOD-20 — after NOT_IN_ROOM, before STORAGE_FAILURE.
    if let Err(why) = super::moderation::check_speak(services, me, &room) {
        peer.reject_in_order(ErrorCode::CANNOT_SPEAK, frame_type, client_ref, &why)
            .await;
        return;
    }
    // Wait for room in the log first: a busy disk slows this sender, never
    // the others, and nothing is assigned that cannot be stored.
    let Some(slot) = super::reserve_or_refuse(services, peer, frame_type, client_ref).await else {
        return;
    };
    let hub = &services.hub;
    let published = if slot.numbers() {
        // spec: CLUSTER-1 — the cluster's log numbers it; every node delivers it.
        let unacked = Arc::clone(peer.unacked.get());
        let acknowledge = crate::cluster::Acknowledge {
            sender: Arc::clone(me),
            client_ref,
            frame_type,
            unacked: Arc::clone(&unacked),
        };
        let notify = || Arc::new(acknowledge) as crate::log::Notify;
        room.submit(me, send.body, flags, now_millis(), slot, &unacked, notify)
    } else {
        // The ACK goes out when the message is released (once durable, `[MSG-2]`).
        room.publish(
            me,
            client_ref,
            send.body,
            flags,
            now_millis(),
            || hub.next_message_id(),
            slot,
            peer.unacked.get(),
        )
    };
    services
        .metrics
        .messages_accepted
        .inc_by(u64::from(published));
    if !published {
        not_in_room(peer, frame_type, client_ref).await;
    }
}

/// NOT_IN_ROOM, before the room is looked up and when it was left meanwhile.
async fn not_in_room(peer: &Peer, frame_type: u8, client_ref: u32) {
    peer.reject_in_order(
        ErrorCode::NOT_IN_ROOM,
        frame_type,
        client_ref,
        "join the room first",
    )
    .await;
}
