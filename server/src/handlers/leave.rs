//! LEAVE (`[ROOM-5]`).

use confab_protocol::frame::{code, Frame, Leave, Left, PresenceEvent};
use confab_protocol::ErrorCode;

use crate::clock::now_millis;
use crate::connection::ConnState;

pub fn leave(state: &mut ConnState, leave: Leave) {
    let Some(room) = super::joined_room(state, &leave.room) else {
        state.reject(
            ErrorCode::NOT_IN_ROOM,
            code::LEAVE,
            0,
            "you are not in that room",
        );
        return;
    };
    room.remove(state.member(), PresenceEvent::Left, now_millis());
    state.rooms.retain(|r| !std::sync::Arc::ptr_eq(r, &room));
    super::let_go_if_idle(state, &room);
    state.send(Frame::Left(Left {
        room: room.name.clone(),
    }));
}
