//! JOIN (`[ROOM-1]` to `[ROOM-4]`).

use confab_protocol::frame::{code, Join, PresenceEvent};
use confab_protocol::names::normalize_name;
use confab_protocol::ErrorCode;

use std::sync::Arc;

use tracing::warn;

use crate::clock::now_millis;
use crate::connection::Peer;
use crate::hub::Member;
use crate::hub::{NoRoom, Room};
use crate::services::Services;

/// Joins the room `join` names; false, without an answer, when a stored
/// room must be loaded first (it was let go after `may_create` was judged):
/// the caller loads it and calls again. `may_create`: the store does not
/// hold the room, so it may be made anew.
pub fn join(
    services: &Services,
    me: &Arc<Member>,
    peer: &mut Peer,
    join: Join,
    may_create: bool,
) -> bool {
    let limits = &services.limits;
    let name = match normalize_name(&join.room, usize::from(limits.max_room_name)) {
        Ok(name) => name,
        Err(e) => {
            peer.reject(
                ErrorCode::ROOM_INVALID,
                code::JOIN,
                0,
                &format!("room name: {e}"),
            );
            return true;
        }
    };
    let already = super::joined_room(services, peer, &name);
    if already.is_none() && peer.rooms.len() >= usize::from(limits.max_rooms) {
        let message = format!("you are in {} rooms, the most allowed", peer.rooms.len());
        peer.reject(ErrorCode::TOO_MANY_ROOMS, code::JOIN, 0, &message);
        return true;
    }
    // spec: MOD-7, MOD-20 — checks 3–5, for a room not yet joined.
    let invited = match &already {
        Some(_) => false,
        None => match super::moderation::check_join(services, me, peer, &name) {
            Ok(invited) => invited,
            Err(()) => return true,
        },
    };
    let existed = already.is_some() || !may_create || services.hub.room(&name).is_some();
    let history = usize::from(join.history.min(limits.history_max));
    let mut room = already;
    // A room let go between the lookup and the join is looked up again; it
    // takes an unlucky race to need a second turn.
    for _ in 0..3 {
        let candidate = match room.take() {
            Some(room) => room,
            None => match find_or_create(services, peer, &name, may_create) {
                Ok(Some(room)) => room,
                Ok(None) => {
                    tracing::debug!(
                        conn = peer.id,
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
                    peer.reject(code, code::JOIN, 0, message);
                    return true;
                }
            },
        };
        let created = !existed && candidate.member_count() == 0 && !candidate.has_history();
        let newcomer = !candidate.is_member(me.conn_id);
        let after_joined =
            super::moderation::joining(services, me, &candidate, created, invited && newcomer);
        if let Some(reply) =
            candidate.join_with(me, join.since_seq, history, now_millis(), after_joined)
        {
            if reply.newly_joined {
                peer.rooms.push(candidate);
            }
            return true;
        }
    }
    warn!(
        conn = peer.id,
        "room {name:?} kept being let go while joining"
    );
    true
}

/// JOIN on a node of a cluster: the room is heard and loaded first (its
/// numbering, latest messages and members on every node), then joined as
/// on a server of its own, and the cluster told (`[CLUSTER-1]`).
pub async fn join_clustered(
    services: &Services,
    cluster: &crate::cluster::Cluster,
    me: &Arc<Member>,
    peer: &mut Peer,
    request: Join,
) {
    let limits = &services.limits;
    let Ok(name) = normalize_name(&request.room, usize::from(limits.max_room_name)) else {
        // Refused as ROOM_INVALID.
        join(services, me, peer, request, true);
        return;
    };
    let rooms_before = peer.rooms.len();
    let mut heard = None;
    if super::joined_room(services, peer, &name).is_none()
        && peer.rooms.len() < usize::from(limits.max_rooms)
    {
        let Ok(Some(room)) = find_or_create(services, peer, &name, true) else {
            // Refused as a JOIN on a server of its own refuses it.
            join(services, me, peer, request, true);
            return;
        };
        if let Err(e) = cluster.sync_room(&room).await {
            warn!(conn = peer.id, "JOIN {name:?}: {e}");
            // spec: CLUSTER-3
            peer.reject(
                ErrorCode::CLUSTER_UNAVAILABLE,
                code::JOIN,
                0,
                "the server cannot reach its cluster's store; try again",
            );
            super::let_go_if_idle(services, &room);
            return;
        }
        heard = Some(room);
    }
    join(services, me, peer, request, true);
    if peer.rooms.len() > rooms_before {
        if let Some(room) = peer.rooms.last() {
            cluster.member_changed(&room.name, &me.name, PresenceEvent::Joined);
        }
    } else if let Some(room) = heard {
        // Refused (a ban, a full room): nobody here may be in it.
        super::let_go_if_idle(services, &room);
    }
}

/// `[LIMIT-5]`: an existing room, or a new one within the server's cap and
/// the address's creation rate.
/// `Ok(None)` when the room is not in memory and may be in the store: it
/// must be loaded, never made anew (its numbering goes on, `[MSG-3]`).
fn find_or_create(
    services: &Services,
    peer: &Peer,
    name: &str,
    may_create: bool,
) -> Result<Option<Arc<Room>>, NoRoom> {
    let mut unloaded = false;
    let found = services
        .hub
        .room_or_create(name, services.config.max_rooms_total, || {
            if !may_create {
                unloaded = true;
                return false;
            }
            peer.admission.take_room()
        });
    match found {
        Err(_) if unloaded => Ok(None),
        found => found.map(Some),
    }
}
