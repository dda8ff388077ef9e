//! SEND (`[MSG-1]`, `[MSG-2]`, `[MSG-6]`, `[FLOW-1]`).

use std::borrow::Cow;
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
    let room = match admit(services, me, peer, &send) {
        Ok(room) => room,
        Err((code, why)) => {
            peer.reject_in_order(code, frame_type, client_ref, &why)
                .await;
            return;
        }
    };
    // Wait for room in the log first: a busy disk slows this sender, never
    // the others, and nothing is assigned that cannot be stored.
    let Some(slot) = super::reserve_or_refuse(services, peer, frame_type, client_ref).await else {
        return;
    };
    if !publish(services, me, peer, &room, send, frame_type, flags, slot) {
        not_in_room(peer, frame_type, client_ref).await;
    }
}

/// [`send_as`] without waiting, where the log takes a message at once
/// (`slot`) and no ACK is owed, so nothing can be answered out of order
/// (`[ORDER-1]`): no future is made for the commonest request.
/// The message joins the connection's batch for its room, published
/// together with the messages next to it (`connection::batch`).
pub fn send_now(
    shared: &Arc<crate::shared::Shared>,
    me: &Arc<Member>,
    peer: &mut Peer,
    send: SendMessage,
    flags: u8,
) -> Result<(), (ErrorCode, Cow<'static, str>)> {
    let room = admit(&shared.services, me, peer, &send)?;
    let message = crate::hub::Submitted {
        client_ref: send.client_ref,
        body: send.body,
        flags,
        time: now_millis(),
    };
    crate::connection::batch::add(peer.id, &room, me, shared, &peer.outbox, message);
    Ok(())
}

/// The checks before the log is asked, in the spec's order: the body
/// (`[MSG-6]`), the room joined, may the sender speak (`[MOD-9]`, `[MOD-20]`).
fn admit(
    services: &Services,
    me: &Arc<Member>,
    peer: &Peer,
    send: &SendMessage,
) -> Result<Arc<crate::hub::Room>, (ErrorCode, Cow<'static, str>)> {
    super::check_body(services, &send.body).map_err(|(code, why)| (code, why.into()))?;
    let room = super::joined_room(services, peer, &send.room)
        .ok_or((ErrorCode::NOT_IN_ROOM, NOT_IN_ROOM.into()))?;
    super::moderation::check_speak(services, me, &room)
        .map_err(|why| (ErrorCode::CANNOT_SPEAK, why.into()))?;
    Ok(room)
}

/// Hands the message to the room, which numbers, logs and delivers it;
/// false when the sender left the room meanwhile.
// Those of `send_as`, and where it is going.
#[allow(clippy::too_many_arguments)]
fn publish(
    services: &Services,
    me: &Arc<Member>,
    peer: &mut Peer,
    room: &Arc<crate::hub::Room>,
    send: SendMessage,
    frame_type: u8,
    flags: u8,
    slot: crate::log::Slot<'_>,
) -> bool {
    let client_ref = send.client_ref;
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
    published
}

/// NOT_IN_ROOM's text, here and for a batch whose sender left the room.
pub(crate) const NOT_IN_ROOM: &str = "join the room first";

/// NOT_IN_ROOM, before the room is looked up and when it was left meanwhile.
async fn not_in_room(peer: &Peer, frame_type: u8, client_ref: u32) {
    peer.reject_in_order(ErrorCode::NOT_IN_ROOM, frame_type, client_ref, NOT_IN_ROOM)
        .await;
}
