//! LIST_ROOMS (`[ROOM-6]`): the occupied rooms, in pages that fit
//! `max_frame`, each queued once the client has read the previous ones
//! (`[MEM-2]`). A client that set HELLO `MODERATION` gets ROOM_LIST_INFO
//! pages, with each room's modes and topic (`[MOD-17]`).

use confab_protocol::frame::{Frame, RoomEntry, RoomInfoEntry, RoomList, RoomListInfo};
use confab_protocol::names::name_key;
use confab_protocol::{List, Str16};

use crate::connection::ConnState;

/// Bytes of a ROOM_LIST body besides its entries: flags and count.
const OVERHEAD: usize = 1 + 2;

pub async fn list_rooms(state: &mut ConnState) {
    let occupied = state.shared.hub.occupied_rooms();
    let budget = state.shared.limits.max_frame as usize - OVERHEAD;
    if state.member().moderation.aware {
        return list_rooms_info(state, occupied, budget).await;
    }
    let rooms: Vec<RoomEntry> = occupied
        .into_iter()
        .map(|(name, members)| RoomEntry { name, members })
        .collect();
    let pages = super::pages(rooms, |r| 1 + r.name.len() + 4, budget);
    let last = pages.len() - 1;
    for (i, page) in pages.into_iter().enumerate() {
        let flags = if i < last { RoomList::MORE } else { 0 };
        let rooms = List::new(page).expect("pages hold at most u16::MAX entries");
        state
            .send_paced(Frame::RoomList(RoomList { flags, rooms }))
            .await;
    }
}

/// `[MOD-17]`: the same rooms, each with its modes and topic.
async fn list_rooms_info(
    state: &mut ConnState,
    occupied: Vec<(confab_protocol::Str8, u32)>,
    budget: usize,
) {
    let moderation = &state.shared.moderation;
    let rooms: Vec<RoomInfoEntry> = occupied
        .into_iter()
        .map(|(name, members)| {
            let (modes, topic) = moderation.modes_and_topic(&name_key(&name));
            RoomInfoEntry {
                name,
                members,
                modes,
                topic: Str16::truncated(&topic),
            }
        })
        .collect();
    let entry_len = |r: &RoomInfoEntry| 1 + r.name.len() + 4 + 1 + 2 + r.topic.len();
    let pages = super::pages(rooms, entry_len, budget);
    let last = pages.len() - 1;
    for (i, page) in pages.into_iter().enumerate() {
        let flags = if i < last { RoomListInfo::MORE } else { 0 };
        let rooms = List::new(page).expect("pages hold at most u16::MAX entries");
        state
            .send_paced(Frame::RoomListInfo(RoomListInfo { flags, rooms }))
            .await;
    }
}
