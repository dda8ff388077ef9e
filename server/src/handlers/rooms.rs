//! LIST_ROOMS (`[ROOM-6]`): the occupied rooms, in pages that fit
//! `max_frame`, each queued once the client has read the previous ones
//! (`[MEM-2]`).

use confab_protocol::frame::{Frame, RoomEntry, RoomList};
use confab_protocol::List;

use crate::connection::Peer;
use crate::services::Services;

/// Bytes of a ROOM_LIST body besides its entries: flags and count.
const OVERHEAD: usize = 1 + 2;

pub async fn list_rooms(services: &Services, peer: &Peer) {
    let rooms: Vec<RoomEntry> = services
        .hub
        .occupied_rooms()
        .into_iter()
        .map(|(name, members)| RoomEntry { name, members })
        .collect();
    let budget = services.limits.max_frame as usize - OVERHEAD;
    let pages = super::pages(rooms, |r| 1 + r.name.len() + 4, budget);
    let last = pages.len() - 1;
    for (i, page) in pages.into_iter().enumerate() {
        let flags = if i < last { RoomList::MORE } else { 0 };
        let rooms = List::new(page).expect("pages hold at most u16::MAX entries");
        peer.send_paced(services, Frame::RoomList(RoomList { flags, rooms }))
            .await;
    }
}
