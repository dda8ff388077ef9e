//! WHO (`[PRESENCE-1]`): a room's members or everyone online, in pages,
//! each queued once the client has read the previous ones (`[MEM-2]`).

use confab_protocol::frame::{code, Frame, Who, WhoList};
use confab_protocol::{ErrorCode, List};

use crate::connection::Peer;
use crate::services::Services;

pub async fn who(services: &Services, peer: &Peer, who: Who) {
    let mut reported = who.room.clone();
    let names = if who.room.is_empty() {
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
