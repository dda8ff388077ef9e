//! LIST_ROOMS (`[ROOM-6]`): the occupied rooms, in pages that fit
//! `max_frame`, each queued once the client has read the previous ones
//! (`[MEM-2]`). A client that set HELLO `MODERATION` gets ROOM_LIST_INFO
//! pages, with each room's modes and topic (`[MOD-17]`).

use confab_protocol::frame::{Frame, RoomEntry, RoomInfoEntry, RoomList, RoomListInfo};
use confab_protocol::names::name_key;
use confab_protocol::{List, Str16};

use std::sync::Arc;

use crate::connection::Peer;
use crate::hub::Member;
use crate::services::Services;

/// Bytes of a ROOM_LIST body besides its entries: flags and count.
const OVERHEAD: usize = 1 + 2;

pub async fn list_rooms(services: &Services, me: &Arc<Member>, peer: &mut Peer) {
    let occupied = match &services.cluster {
        // spec: CLUSTER-1 — the rooms of every node.
        Some(cluster) => match cluster.occupied().await {
            Ok(occupied) => occupied.as_ref().clone(),
            Err(e) => {
                tracing::warn!(conn = peer.id, "LIST_ROOMS: {e}");
                // spec: CLUSTER-3
                let why = "the server cannot reach its cluster's store; try again";
                peer.reject(
                    confab_protocol::ErrorCode::CLUSTER_UNAVAILABLE,
                    confab_protocol::frame::code::LIST_ROOMS,
                    0,
                    why,
                );
                return;
            }
        },
        None => services.hub.occupied_rooms(),
    };
    let budget = services.limits.max_frame as usize - OVERHEAD;
    if me.moderation.aware {
        return list_rooms_info(services, peer, occupied, budget).await;
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
        peer.send_paced(services, Frame::RoomList(RoomList { flags, rooms }))
            .await;
    }
}

/// `[MOD-17]`: the same rooms, each with its modes and topic.
async fn list_rooms_info(
    services: &Services,
    peer: &mut Peer,
    occupied: Vec<(confab_protocol::Str8, u32)>,
    budget: usize,
) {
    let moderation = &services.moderation;
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
        peer.send_paced(services, Frame::RoomListInfo(RoomListInfo { flags, rooms }))
            .await;
    }
}
