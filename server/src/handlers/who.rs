//! WHO (`[PRESENCE-1]`): a room's members or everyone online, in pages,
//! each queued once the client has read the previous ones (`[MEM-2]`).

use confab_protocol::frame::{code, Frame, Who, WhoList};
use confab_protocol::names::normalize_name;
use confab_protocol::{ErrorCode, List, Str8};

use crate::connection::Peer;
use crate::services::Services;

pub async fn who(services: &Services, peer: &Peer, who: Who) {
    let mut reported = who.room.clone();
    let names = if let Some(cluster) = &services.cluster {
        match clustered(services, cluster, &who).await {
            Ok(Some((room, names))) => {
                reported = room;
                names
            }
            Ok(None) => {
                peer.reject(ErrorCode::NO_SUCH_ROOM, code::WHO, 0, "no such room");
                return;
            }
            Err(e) => {
                tracing::warn!(conn = peer.id, "WHO: {e}");
                // spec: CLUSTER-3
                let why = "the server cannot reach its cluster's store; try again";
                peer.reject(ErrorCode::CLUSTER_UNAVAILABLE, code::WHO, 0, why);
                return;
            }
        }
    } else if who.room.is_empty() {
        services.hub.user_names()
    } else {
        match services.hub.room(&who.room) {
            Some(room) if room.member_count() > 0 || room.has_history() => {
                // spec: NAMES-1
                reported = room.name.clone();
                room.member_names()
            }
            _ => {
                peer.reject(ErrorCode::NO_SUCH_ROOM, code::WHO, 0, "no such room");
                return;
            }
        }
    };
    send_pages(services, peer, reported, names).await;
}

/// WHO in a cluster: the members on every node (`[CLUSTER-1]`), and the
/// room as named here; `None` for a room with neither members nor messages.
async fn clustered(
    services: &Services,
    cluster: &crate::cluster::Cluster,
    who: &Who,
) -> Result<Option<(Str8, Vec<Str8>)>, crate::cluster::ClusterError> {
    if who.room.is_empty() {
        // Sorted once when read, for every request it serves.
        let names = cluster.online().await?.as_ref().clone();
        return Ok(Some((who.room.clone(), names)));
    }
    let Ok(room) = normalize_name(&who.room, usize::from(services.limits.max_room_name)) else {
        return Ok(None);
    };
    let mut names: Vec<Str8> = crate::cluster::members(cluster, &room)
        .await?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    if names.is_empty() && !crate::cluster::has_log(cluster, &room).await? {
        return Ok(None);
    }
    names.sort();
    // spec: NAMES-1 — the room as this node names it, if it has it.
    let reported = services
        .hub
        .room(&room)
        .map_or_else(|| Str8::truncated(&room), |r| r.name.clone());
    Ok(Some((reported, names)))
}

/// The WHO_LIST pages of `names`.
async fn send_pages(services: &Services, peer: &Peer, reported: Str8, names: Vec<Str8>) {
    // Bytes of a WHO_LIST body besides its entries: flags, room and count.
    let overhead = 1 + 1 + reported.len() + 2;
    let budget = services.limits.max_frame as usize - overhead;
    let pages = super::pages(names, |n| 1 + n.len(), budget);
    let last = pages.len() - 1;
    for (i, page) in pages.into_iter().enumerate() {
        let flags = if i < last { WhoList::MORE } else { 0 };
        let users = List::new(page).expect("pages hold at most u16::MAX entries");
        peer.send_paced(
            services,
            Frame::WhoList(WhoList {
                flags,
                room: reported.clone(),
                users,
            }),
        )
        .await;
    }
}
