//! One handler per request kind (spec sections 7–11). Handlers run on the
//! connection's task, never wait on another client, and answer through its outbox.

mod direct;
mod history;
mod join;
mod leave;
mod login;
mod moderation;
mod rooms;
mod send;
mod who;

pub use login::login;

use std::sync::Arc;

use confab_protocol::frame::{code, Direct, DirectMessage, Message, PresenceEvent, SendMessage};
use confab_protocol::names::{is_blank, name_key, normalize_name};
use confab_protocol::session::Request;
use confab_protocol::ErrorCode;

use crate::clock::now_millis;
use crate::connection::ConnState;
use crate::hub::Room;
use crate::log::MessageLog;

/// Handles a READY request; requests are answered in the order they came.
pub async fn dispatch(state: &mut ConnState, request: Request) {
    // spec: MOD-11 — a member moderation removed is in those rooms no more.
    moderation::forget_removed_rooms(state);
    match request {
        Request::Join(join) => {
            // spec: LIMIT-5 — a stored room let go between the load and the
            // join (its last member left meanwhile) is loaded again, never
            // made anew with its numbering reset.
            for _ in 0..3 {
                let may_create = load_if_stored(state, &join.room).await;
                if join::join(state, join.clone(), may_create) {
                    return;
                }
            }
            tracing::warn!(
                conn = state.id,
                "room {:?} kept being let go while joining",
                join.room.as_str()
            );
        }
        Request::Leave(leave) => leave::leave(state, leave),
        Request::ListRooms => rooms::list_rooms(state).await,
        Request::SendMessage(send) => send::send(state, send).await,
        Request::Direct(direct) => direct::direct(state, direct).await,
        // spec: ACTION-1 — an action is a SEND or DIRECT delivered with the ACTION flag.
        Request::SendAction(a) => {
            let send = SendMessage {
                client_ref: a.client_ref,
                room: a.room,
                body: a.body,
            };
            send::send_as(state, send, code::SEND_ACTION, Message::ACTION).await
        }
        Request::DirectAction(a) => {
            let direct = Direct {
                client_ref: a.client_ref,
                to: a.to,
                body: a.body,
            };
            direct::direct_as(state, direct, code::DIRECT_ACTION, DirectMessage::ACTION).await
        }
        Request::Who(who) => {
            load_if_stored(state, &who.room).await;
            who::who(state, who).await
        }
        Request::History(history) => history::history(state, history).await,
        // spec: MOD-1 — this server sets MODERATION.
        Request::Moderate(m) => moderation::moderate(state, m).await,
        Request::RoomSettings(r) => moderation::room_settings(state, r).await,
        Request::Audit(a) => moderation::audit(state, a).await,
    }
}

/// Leaves every room and frees the name when the connection ends (`[CLOSE-3]`).
pub fn disconnect(state: &mut ConnState) {
    let Some(member) = state.member.take() else {
        return;
    };
    // The name is free before anyone hears of the departure, so a client
    // reacting to the PRESENCE can take it at once; a session taken over
    // leaves its rooms first (`[AUTH-4]`, see `takeover`).
    let hub = &state.shared.hub;
    let taken_over = hub.takeovers.is_ending(member.conn_id);
    if !taken_over {
        hub.release_name(&member);
    }
    hub.dm_queues.forget(member.conn_id);
    let now = now_millis();
    let rooms: Vec<Arc<Room>> = state.rooms.drain(..).collect();
    for room in rooms {
        room.remove(&member, PresenceEvent::Disconnected, now);
        let_go_if_idle(state, &room);
    }
    if taken_over {
        let hub = &state.shared.hub;
        hub.release_name(&member);
        hub.takeovers.departed(member.conn_id);
    }
}

/// `[LIMIT-5]`: a room nobody is in leaves memory, unless it is the default
/// room or, without a store, it has history (kept in memory only).
fn let_go_if_idle(state: &ConnState, room: &Arc<Room>) {
    let shared = &state.shared;
    if room.name.as_str() != shared.default_room {
        shared.hub.let_go_if_idle(room, shared.log.is_persistent());
    }
}

/// A stored room that was let go is loaded again before a request names it.
/// True when the room may be made anew: there is no store, or it does not
/// hold the room.
async fn load_if_stored(state: &ConnState, room: &str) -> bool {
    let shared = &state.shared;
    if !shared.log.is_persistent() {
        return true;
    }
    let Ok(name) = normalize_name(room, usize::from(shared.limits.max_room_name)) else {
        return true;
    };
    if shared.hub.room(&name).is_some() {
        return false;
    }
    match shared
        .log
        .load_room(name.clone(), usize::from(shared.limits.history_max))
        .await
    {
        Ok(Some(loaded)) => {
            shared
                .hub
                .restore_room(loaded, shared.config.max_rooms_total);
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
fn joined_room(state: &ConnState, name: &str) -> Option<Arc<Room>> {
    if let Some(room) = state.rooms.iter().find(|r| r.name.as_str() == name) {
        return Some(Arc::clone(room));
    }
    let normalized = normalize_name(name, usize::from(state.shared.limits.max_room_name)).ok()?;
    let key = name_key(&normalized);
    state
        .rooms
        .iter()
        .find(|r| name_key(&r.name) == key)
        .cloned()
}

/// `[MSG-6]`: the body checks shared by SEND and DIRECT.
fn check_body(state: &ConnState, body: &str) -> Result<(), (ErrorCode, &'static str)> {
    if is_blank(body) {
        return Err((ErrorCode::EMPTY_MESSAGE, "empty message not sent"));
    }
    if body.len() > usize::from(state.shared.limits.max_body) {
        return Err((
            ErrorCode::BODY_TOO_LONG,
            "message longer than max_body not sent",
        ));
    }
    Ok(())
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
mod tests {
    use super::pages;

    #[test]
    fn pages_respect_the_budget_and_keep_order() {
        let items: Vec<u32> = (0..10).collect();
        let split = pages(items, |_| 4, 12);
        assert_eq!(
            split,
            vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]
        );
        let empty: Vec<Vec<u32>> = pages(Vec::new(), |_| 4, 12);
        assert_eq!(empty, vec![Vec::<u32>::new()]);
    }
}
