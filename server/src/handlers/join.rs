//! JOIN (`[ROOM-1]` to `[ROOM-4]`).

use confab_protocol::frame::{code, Join};
use confab_protocol::names::normalize_name;
use confab_protocol::ErrorCode;

use std::sync::Arc;

use tracing::warn;

use crate::clock::now_millis;
use crate::connection::ConnState;
use crate::hub::{NoRoom, Room};

/// Joins the room `join` names; false, without an answer, when a stored
/// room must be loaded first (it was let go after `may_create` was judged):
/// the caller loads it and calls again. `may_create`: the store does not
/// hold the room, so it may be made anew.
pub fn join(state: &mut ConnState, join: Join, may_create: bool) -> bool {
    let limits = &state.shared.limits;
    let name = match normalize_name(&join.room, usize::from(limits.max_room_name)) {
        Ok(name) => name,
        Err(e) => {
            state.reject(
                ErrorCode::ROOM_INVALID,
                code::JOIN,
                0,
                &format!("room name: {e}"),
            );
            return true;
        }
    };
    let already = super::joined_room(state, &name);
    if already.is_none() && state.rooms.len() >= usize::from(limits.max_rooms) {
        let message = format!("you are in {} rooms, the most allowed", state.rooms.len());
        state.reject(ErrorCode::TOO_MANY_ROOMS, code::JOIN, 0, &message);
        return true;
    }
    // spec: MOD-7, MOD-20 — checks 3–5, for a room not yet joined.
    let invited = match &already {
        Some(_) => false,
        None => match super::moderation::check_join(state, &name) {
            Ok(invited) => invited,
            Err(()) => return true,
        },
    };
    let existed = already.is_some() || !may_create || state.shared.hub.room(&name).is_some();
    let history = usize::from(join.history.min(limits.history_max));
    let mut room = already;
    // A room let go between the lookup and the join is looked up again; it
    // takes an unlucky race to need a second turn.
    for _ in 0..3 {
        let candidate = match room.take() {
            Some(room) => room,
            None => match find_or_create(state, &name, may_create) {
                Ok(Some(room)) => room,
                Ok(None) => {
                    tracing::debug!(
                        conn = state.id,
                        "room {name:?} was let go during the join: loading it"
                    );
                    return false;
                }
                Err(refusal) => {
                    let (code, message) = match refusal {
                        NoRoom::ServerFull => (
                            ErrorCode::ROOM_LIMIT,
                            "the server has as many rooms as it allows; join an existing one",
                        ),
                        NoRoom::TooFast => (
                            ErrorCode::RATE_LIMITED,
                            "rate limit: your address makes rooms too fast",
                        ),
                    };
                    state.reject(code, code::JOIN, 0, message);
                    return true;
                }
            },
        };
        let created = !existed && candidate.member_count() == 0 && !candidate.has_history();
        let newcomer = !candidate.is_member(state.member().conn_id);
        let after_joined =
            super::moderation::joining(state, &candidate, created, invited && newcomer);
        if let Some(reply) = candidate.join_with(
            state.member(),
            join.since_seq,
            history,
            now_millis(),
            after_joined,
        ) {
            if reply.newly_joined {
                state.rooms.push(candidate);
            }
            return true;
        }
    }
    warn!(
        conn = state.id,
        "room {name:?} kept being let go while joining"
    );
    true
}

/// `[LIMIT-5]`: an existing room, or a new one within the server's cap and
/// the address's creation rate.
/// `Ok(None)` when the room is not in memory and may be in the store: it
/// must be loaded, never made anew (its numbering goes on, `[MSG-3]`).
fn find_or_create(
    state: &ConnState,
    name: &str,
    may_create: bool,
) -> Result<Option<Arc<Room>>, NoRoom> {
    let shared = &state.shared;
    let mut unloaded = false;
    let found = shared
        .hub
        .room_or_create(name, shared.config.max_rooms_total, || {
            if !may_create {
                unloaded = true;
                return false;
            }
            match (&shared.addresses, &state.admission.address) {
                (Some(book), Some(address)) => book.take_room(&mut address.lock()),
                _ => true,
            }
        });
    match found {
        Err(_) if unloaded => Ok(None),
        found => found.map(Some),
    }
}
