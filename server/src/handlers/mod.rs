//! One handler per request kind (spec sections 7–11). Handlers run on the
//! connection's task, never wait on another client, and answer through its
//! outbox. Each is handed what it works with, as mini-redis's
//! `apply(db, dst)`: the server's [`Services`] (rooms, message log,
//! limits), the member a READY request comes from, and the connection's
//! own [`Peer`] (outbox, rooms joined, admission). LOGIN, which comes
//! before there is a member, gets the [`Accounts`] and the session it
//! answers through instead.

mod claim;
mod direct;
mod history;
mod join;
mod leave;
mod login;
mod moderation;
mod rooms;
mod send;
pub(crate) use send::NOT_IN_ROOM;
mod who;

pub(crate) use login::login;

use std::sync::Arc;

use confab_protocol::frame::{code, Direct, DirectMessage, Message, PresenceEvent, SendMessage};
use confab_protocol::names::{is_blank, name_key, normalize_name};
use confab_protocol::session::Request;
use confab_protocol::ErrorCode;

use crate::account_book::Accounts;
use crate::clock::now_millis;
use crate::connection::Peer;
use crate::hub::{Member, Room};
use crate::log::{MessageLog, Slot};
use crate::services::Services;

/// Handles a SEND or SEND_ACTION at once when nothing needs waiting for:
/// the log takes messages as they come (in memory) and no ACK is owed
/// (`[ORDER-1]`). Any other request, or one that may wait, is given back
/// for [`dispatch`]. The commonest request then makes no future.
pub(crate) fn dispatch_now(
    shared: &Arc<crate::shared::Shared>,
    me: &Arc<Member>,
    peer: &mut Peer,
    request: Request,
) -> Option<Request> {
    if !matches!(request, Request::SendMessage(_) | Request::SendAction(_))
        || peer.unacked.any()
        || !shared.services.log.takes_at_once()
    {
        return Some(request);
    }
    // spec: MOD-11 — as `dispatch` does first.
    moderation::forget_removed_rooms(me, peer);
    let (send, frame_type, flags) = match request {
        Request::SendMessage(send) => (send, code::SEND, 0),
        Request::SendAction(a) => {
            let send = SendMessage {
                client_ref: a.client_ref,
                room: a.room,
                body: a.body,
            };
            (send, code::SEND_ACTION, Message::ACTION)
        }
        other => return Some(other),
    };
    let client_ref = send.client_ref;
    if let Err((code, why)) = send::send_now(shared, me, peer, send, flags) {
        peer.reject(code, frame_type, client_ref, &why);
    }
    None
}

/// Handles a READY request from `me`; requests are answered in the order
/// they came. `accounts` spells users as registered (HISTORY, MODERATE).
pub(crate) async fn dispatch(
    services: &Services,
    accounts: &Accounts,
    me: &Arc<Member>,
    peer: &mut Peer,
    request: Request,
) {
    // spec: MOD-11 — a member moderation removed is in those rooms no more.
    moderation::forget_removed_rooms(me, peer);
    match request {
        Request::Join(join) => {
            if let Some(cluster) = &services.cluster {
                return join::join_clustered(services, cluster, me, peer, join).await;
            }
            // spec: LIMIT-5 — a stored room let go between the load and the
            // join (its last member left meanwhile) is loaded again, never
            // made anew with its numbering reset.
            for _ in 0..3 {
                let may_create = load_if_stored(services, &join.room).await;
                if join::join(services, me, peer, join.clone(), may_create) {
                    return;
                }
            }
            tracing::warn!(
                conn = peer.id,
                "room {:?} kept being let go while joining",
                join.room.as_str()
            );
        }
        Request::Leave(leave) => leave::leave(services, me, peer, leave),
        Request::ListRooms => rooms::list_rooms(services, me, peer).await,
        Request::SendMessage(send) => send::send(services, me, peer, send).await,
        Request::Direct(direct) => direct::direct(services, me, peer, direct).await,
        // spec: ACTION-1 — an action is a SEND or DIRECT delivered with the ACTION flag.
        Request::SendAction(a) => {
            let send = SendMessage {
                client_ref: a.client_ref,
                room: a.room,
                body: a.body,
            };
            send::send_as(services, me, peer, send, code::SEND_ACTION, Message::ACTION).await
        }
        Request::DirectAction(a) => {
            let direct = Direct {
                client_ref: a.client_ref,
                to: a.to,
                body: a.body,
            };
            let flags = DirectMessage::ACTION;
            direct::direct_as(services, me, peer, direct, code::DIRECT_ACTION, flags).await
        }
        Request::Who(who) => {
            load_if_stored(services, &who.room).await;
            who::who(services, peer, who).await
        }
        Request::History(history) => history::history(services, accounts, me, peer, history).await,
        // spec: MOD-1 — this server sets MODERATION.
        Request::Moderate(m) => moderation::moderate(services, accounts, me, peer, m).await,
        Request::RoomSettings(r) => moderation::room_settings(services, me, peer, r).await,
        Request::Audit(a) => moderation::audit(services, me, peer, a).await,
    }
}

/// Leaves every room and frees the name when the connection ends (`[CLOSE-3]`).
pub(crate) fn disconnect(services: &Services, member: &Arc<Member>, peer: &mut Peer) {
    // The name is free before anyone hears of the departure, so a client
    // reacting to the PRESENCE can take it at once; a session taken over
    // leaves its rooms first (`[AUTH-4]`, see `takeover`).
    let hub = &services.hub;
    let taken_over = hub.takeovers.is_ending(member.conn_id);
    if !taken_over {
        release_name(services, member);
    }
    hub.dm_queues.forget(member.conn_id);
    if let Some(cluster) = &services.cluster {
        cluster.user_changed(&member.name, false);
    }
    let now = now_millis();
    for room in std::mem::take(&mut peer.rooms) {
        room.remove(member, PresenceEvent::Disconnected, now);
        if let Some(cluster) = &services.cluster {
            cluster.member_changed(&room.name, &member.name, PresenceEvent::Disconnected);
        }
        let_go_if_idle(services, &room);
    }
    if taken_over {
        release_name(services, member);
        hub.takeovers.departed(member.conn_id);
    }
}

/// Frees `member`'s name on this node and, in cluster mode, in Redis (in
/// the background, and only if it still holds it: `cluster::names`).
pub(crate) fn release_name(services: &Services, member: &Member) {
    services.hub.release_name(member);
    if let Some(cluster) = &services.cluster {
        crate::cluster::names::release(cluster, &member.moderation.key, member.conn_id);
    }
}

/// `[LIMIT-5]`: a room nobody is in leaves memory, unless it is the default
/// room or, without a store, it has history (kept in memory only).
fn let_go_if_idle(services: &Services, room: &Arc<Room>) {
    if room.name.as_str() != services.default_room
        && services
            .hub
            .let_go_if_idle(room, services.log.is_persistent())
    {
        if let Some(cluster) = &services.cluster {
            // Nobody here is in it: this node stops hearing it.
            cluster.forget_room(Arc::clone(room));
        }
    }
}

/// A stored room that was let go is loaded again before a request names it.
/// True when the room may be made anew: there is no store, or it does not
/// hold the room.
async fn load_if_stored(services: &Services, room: &str) -> bool {
    // A cluster's rooms are loaded by the node's subscription (`cluster::dispatch`).
    if !services.log.is_persistent() || services.cluster.is_some() {
        return true;
    }
    let Ok(name) = normalize_name(room, usize::from(services.limits.max_room_name)) else {
        return true;
    };
    if services.hub.room(&name).is_some() {
        return false;
    }
    let history_max = usize::from(services.limits.history_max);
    match services.log.load_room(name.clone(), history_max).await {
        Ok(Some(loaded)) => {
            services
                .hub
                .restore_room(loaded, services.config.max_rooms_total);
            false
        }
        Ok(None) => true,
        Err(e) => {
            tracing::error!("cannot load room {name:?}: {e}");
            false
        }
    }
}

/// The joined room a request names, matched the way names compare (`[ROOM-1]`).
fn joined_room(services: &Services, peer: &Peer, name: &str) -> Option<Arc<Room>> {
    if let Some(room) = peer.rooms.iter().find(|r| r.name.as_str() == name) {
        return Some(Arc::clone(room));
    }
    let normalized = normalize_name(name, usize::from(services.limits.max_room_name)).ok()?;
    let key = name_key(&normalized);
    peer.rooms
        .iter()
        .find(|r| name_key(&r.name) == key)
        .cloned()
}

/// `[MSG-6]`: the body checks shared by SEND and DIRECT.
fn check_body(services: &Services, body: &str) -> Result<(), (ErrorCode, &'static str)> {
    if is_blank(body) {
        return Err((ErrorCode::EMPTY_MESSAGE, "empty message not sent"));
    }
    if body.len() > usize::from(services.limits.max_body) {
        return Err((
            ErrorCode::BODY_TOO_LONG,
            "message longer than max_body not sent",
        ));
    }
    Ok(())
}

/// Room in the message log for one message (`[MSG-2]`), or STORAGE_FAILURE
/// to the sender: SEND and DIRECT wait here, so a busy disk slows only them.
async fn reserve_or_refuse<'a>(
    services: &'a Services,
    peer: &Peer,
    frame_type: u8,
    client_ref: u32,
) -> Option<Slot<'a>> {
    match services.log.reserve().await {
        Ok(slot) => Some(slot),
        Err(e) => {
            tracing::error!(conn = peer.id, "cannot append to the message log: {e}");
            peer.reject_in_order(
                e.code(),
                frame_type,
                client_ref,
                "message store unavailable",
            )
            .await;
            None
        }
    }
}

/// Splits a list into pages whose encoded entries fit `budget` bytes.
fn pages<T>(items: Vec<T>, entry_len: impl Fn(&T) -> usize, budget: usize) -> Vec<Vec<T>> {
    let mut pages = vec![Vec::new()];
    let mut used = 0;
    for item in items {
        let len = entry_len(&item);
        let page = pages.last_mut().expect("never empty");
        if !page.is_empty() && (used + len > budget || page.len() == usize::from(u16::MAX)) {
            pages.push(Vec::new());
            used = 0;
        }
        used += len;
        pages.last_mut().expect("never empty").push(item);
    }
    pages
}

#[cfg(test)]
mod tests;
