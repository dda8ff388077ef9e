//! LEAVE (`[ROOM-5]`).

use confab_protocol::frame::{code, Frame, Leave, Left, PresenceEvent};
use confab_protocol::ErrorCode;

use std::sync::Arc;

use crate::clock::now_millis;
use crate::connection::Peer;
use crate::hub::Member;
use crate::services::Services;

pub fn leave(services: &Services, me: &Arc<Member>, peer: &mut Peer, leave: Leave) {
    let Some(room) = super::joined_room(services, peer, &leave.room) else {
        peer.reject(
            ErrorCode::NOT_IN_ROOM,
            code::LEAVE,
            0,
            "you are not in that room",
        );
        return;
    };
    room.remove(me, PresenceEvent::Left, now_millis());
    if let Some(cluster) = &services.cluster {
        cluster.member_changed(&room.name, &me.name, PresenceEvent::Left);
    }
    peer.rooms.retain(|r| !std::sync::Arc::ptr_eq(r, &room));
    super::let_go_if_idle(services, &room);
    peer.send(Frame::Left(Left {
        room: room.name.clone(),
    }));
}
