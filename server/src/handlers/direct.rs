//! DIRECT (spec section 9).

use std::sync::Arc;

use confab_protocol::frame::{code, Direct, DirectMessage, Frame};
use confab_protocol::ErrorCode;

use crate::clock::now_millis;
use crate::connection::Peer;
use crate::hub::DirectDelivery;
use crate::hub::Member;
use crate::log::{Appended, Entry, Notify};
use crate::services::Services;
use tracing::debug;

pub async fn direct(services: &Services, me: &Arc<Member>, peer: &mut Peer, direct: Direct) {
    direct_as(services, me, peer, direct, code::DIRECT, 0).await;
}

/// DIRECT, or DIRECT_ACTION (`frame_type`) delivered with `flags` (`[ACTION-1]`).
pub async fn direct_as(
    services: &Services,
    me: &Arc<Member>,
    peer: &mut Peer,
    direct: Direct,
    frame_type: u8,
    flags: u8,
) {
    let client_ref = direct.client_ref;
    // spec: DM-3
    if let Err((code, message)) = super::check_body(services, &direct.body) {
        peer.reject_in_order(code, frame_type, client_ref, message)
            .await;
        return;
    }
    let me = Arc::clone(me);
    if services.cluster.is_some() {
        return clustered(services, &me, peer, direct, frame_type, flags).await;
    }
    let recipient = match services.hub.user(&direct.to) {
        Some(user) if user.conn_id != me.conn_id => user,
        // spec: DM-2
        _ => return no_such_user(peer, frame_type, client_ref).await,
    };
    let message = DirectMessage {
        id: services.hub.next_message_id(),
        time: now_millis(),
        flags,
        from: me.name.clone(),
        to: recipient.name.clone(),
        body: direct.body,
    };
    // spec: DM-4 — refuse the sender, not the recipient, past the budget.
    let from = crate::addresses::holder(peer.addr.ip());
    let wire = Frame::DirectMessage(message.clone()).to_bytes();
    let budget = services.config.dm_budget();
    let wire = match services
        .hub
        .dm_queues
        .admit(&budget, recipient.conn_id, from, wire)
    {
        Ok(wire) => wire,
        Err(busy) => {
            debug!(conn = peer.id, to = %recipient.name, "direct message refused: {busy:?}");
            peer.reject_in_order(
                ErrorCode::RECIPIENT_BUSY,
                frame_type,
                client_ref,
                "too many direct messages wait unread for this user; try later",
            )
            .await;
            return;
        }
    };
    let Some(slot) = super::reserve_or_refuse(services, peer, frame_type, client_ref).await else {
        return;
    };
    let unacked = slot.defers().then(|| {
        // spec: ORDER-1 — owed until the delivery queues the ACK.
        let unacked = peer.unacked.get();
        unacked.owe();
        Arc::clone(unacked)
    });
    let delivery = DirectDelivery {
        sender: me,
        recipient,
        wire,
        client_ref,
        unacked,
    };
    services.metrics.messages_accepted.inc();
    let (id, time) = (message.id, message.time);
    // Delivered once durable: at once, or when the log says so (`[MSG-2]`).
    let mut delivery = Some(delivery);
    let later = || Arc::new(delivery.take().expect("asked for once")) as Notify;
    if slot.append(Entry::Direct(message), later) == Appended::Now {
        if let Some(delivery) = delivery {
            delivery.deliver(id, time);
        }
    }
}

/// In a cluster the recipient may be on any node: the cluster's log finds
/// the node holding the name, numbers, stores and routes the message in one
/// step, and answers NO_SUCH_USER when nobody holds it (`[CLUSTER-1]`,
/// `[DM-2]`). The `[DM-4]` budget is the recipient node's outbox then
/// (`[CLUSTER-2]`).
async fn clustered(
    services: &Services,
    me: &Arc<Member>,
    peer: &mut Peer,
    direct: Direct,
    frame_type: u8,
    flags: u8,
) {
    let client_ref = direct.client_ref;
    let to = match confab_protocol::names::normalize_name(&direct.to, usize::from(u8::MAX)) {
        Ok(to) if confab_protocol::names::user_key(&to) != *me.moderation.key => to,
        // spec: DM-2 — an invalid name, or oneself, is nobody to write to.
        _ => return no_such_user(peer, frame_type, client_ref).await,
    };
    let message = DirectMessage {
        id: 0,
        time: now_millis(),
        flags,
        from: me.name.clone(),
        to: confab_protocol::Str8::truncated(&to),
        body: direct.body,
    };
    let Some(slot) = super::reserve_or_refuse(services, peer, frame_type, client_ref).await else {
        return;
    };
    let unacked = Arc::clone(peer.unacked.get());
    // spec: ORDER-1 — owed until the log answers.
    unacked.owe();
    let acknowledge = crate::cluster::Acknowledge {
        sender: Arc::clone(me),
        client_ref,
        frame_type,
        unacked,
    };
    services.metrics.messages_accepted.inc();
    let _ = slot.append(Entry::Direct(message), || Arc::new(acknowledge) as Notify);
}

/// NO_SUCH_USER, in order (`[DM-2]`, `[ORDER-1]`).
async fn no_such_user(peer: &Peer, frame_type: u8, client_ref: u32) {
    peer.reject_in_order(
        ErrorCode::NO_SUCH_USER,
        frame_type,
        client_ref,
        "no such user online",
    )
    .await;
}
