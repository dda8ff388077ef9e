//! JOIN (`[ROOM-1]` to `[ROOM-4]`).

use confab_protocol::frame::{code, Join};
use confab_protocol::names::normalize_name;
use confab_protocol::ErrorCode;

use crate::clock::now_millis;
use crate::connection::ConnState;

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
    let room = already.unwrap_or_else(|| state.shared.hub.room_or_create(&name));
    let reply = room.join(state.member(), join.since_seq, history, now_millis());
    if reply.newly_joined {
        state.rooms.push(room);
    }
}
