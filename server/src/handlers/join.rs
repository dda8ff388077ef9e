//! JOIN (`[ROOM-1]` to `[ROOM-4]`).

use confab_protocol::frame::{code, Join};
use confab_protocol::names::normalize_name;
use confab_protocol::ErrorCode;

use std::sync::Arc;

use tracing::warn;

use crate::clock::now_millis;
use crate::connection::ConnState;
use crate::hub::{NoRoom, Room};

pub fn join(state: &mut ConnState, join: Join) {
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
            return;
        }
    };
    let already = super::joined_room(state, &name);
    if already.is_none() && state.rooms.len() >= usize::from(limits.max_rooms) {
        let message = format!("you are in {} rooms, the most allowed", state.rooms.len());
        state.reject(ErrorCode::TOO_MANY_ROOMS, code::JOIN, 0, &message);
        return;
    }
    let history = usize::from(join.history.min(limits.history_max));
    let mut room = already;
    // A room let go between the lookup and the join is looked up again; it
    // takes an unlucky race to need a second turn.
    for _ in 0..3 {
        let candidate = match room.take() {
            Some(room) => room,
            None => match find_or_create(state, &name) {
                Ok(room) => room,
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
                    return;
                }
            },
        };
        if let Some(reply) = candidate.join(state.member(), join.since_seq, history, now_millis()) {
            if reply.newly_joined {
                state.rooms.push(candidate);
            }
            return;
        }
    }
    warn!(
        conn = state.id,
        "room {name:?} kept being let go while joining"
    );
}

/// `[LIMIT-5]`: an existing room, or a new one within the server's cap and
/// the address's creation rate.
fn find_or_create(state: &ConnState, name: &str) -> Result<Arc<Room>, NoRoom> {
    let shared = &state.shared;
    shared
        .hub
        .room_or_create(name, shared.config.max_rooms_total, || {
            match (&shared.addresses, &state.admission.address) {
                (Some(book), Some(address)) => book.take_room(&mut address.lock()),
                _ => true,
            }
        })
}
