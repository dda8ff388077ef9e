//! HISTORY (`[HISTORY-1]`, `[HISTORY-2]`): from the message log, or for a
//! room of the in-memory log from the room's replay buffer.

use std::sync::Arc;

use confab_protocol::frame::{code, Frame, History, HistoryEnd, HistoryKind};
use confab_protocol::names::{name_key, normalize_name};
use confab_protocol::{ErrorCode, Str8};
use tracing::error;

use crate::account_book::Accounts;
use crate::connection::Peer;
use crate::hub::Member;
use crate::log::{ConversationKey, MessageLog, StoreError};
use crate::services::Services;

pub async fn history(
    services: &Services,
    accounts: &Accounts,
    me: &Arc<Member>,
    peer: &mut Peer,
    request: History,
) {
    let max = services.limits.history_max;
    let limit = usize::from(if request.limit == 0 {
        max
    } else {
        request.limit.min(max)
    });
    // spec: NAMES-1 — HISTORY_END names the room or user as the server does.
    let target;
    let frames: Result<(Vec<Frame>, bool), StoreError> = match request.kind {
        HistoryKind::Room => {
            let Some(room) = super::joined_room(services, peer, &request.target) else {
                peer.reject(
                    ErrorCode::NOT_IN_ROOM,
                    code::HISTORY,
                    0,
                    "join the room to read its history",
                );
                return;
            };
            target = room.name.clone();
            services
                .log
                .room_history(&room.name, request.direction, request.anchor, limit)
                .await
                .map(|page| {
                    // The in-memory log: the room's replay buffer is its history.
                    let (messages, more) = page
                        .unwrap_or_else(|| room.history(request.direction, request.anchor, limit));
                    (messages.into_iter().map(Frame::Message).collect(), more)
                })
        }
        HistoryKind::Direct => {
            target = canonical_user(services, accounts, &request.target).await;
            let floor = me.history_floor.load(std::sync::atomic::Ordering::Relaxed);
            services
                .log
                .direct_history(
                    ConversationKey::new(&me.name, &request.target),
                    floor,
                    request.direction,
                    request.anchor,
                    limit,
                )
                .await
                .map(|(messages, more)| {
                    (
                        messages.into_iter().map(Frame::DirectMessage).collect(),
                        more,
                    )
                })
        }
    };
    let (frames, more) = match frames {
        Ok(found) => found,
        Err(e) => {
            error!(conn = peer.id, "history read failed: {e}");
            peer.reject(
                e.code(),
                code::HISTORY,
                0,
                "history is unavailable right now",
            );
            return;
        }
    };
    let count = frames.len() as u16;
    // spec: MEM-2 — queued as the client reads, not all at once.
    for frame in frames {
        peer.send_paced(services, frame).await;
    }
    peer.send(Frame::HistoryEnd(HistoryEnd {
        kind: request.kind,
        target,
        count,
        flags: if more { HistoryEnd::MORE } else { 0 },
    }));
}

/// A user's spelling as the server reports it (`[NAMES-1]`): as logged in,
/// else as registered, else (nobody by that name) as the request spelled it.
async fn canonical_user(services: &Services, accounts: &Accounts, requested: &Str8) -> Str8 {
    if let Some(user) = services.hub.user(requested) {
        return user.name.clone();
    }
    if services.cluster.is_some() {
        // spec: CLUSTER-1 — the account as registered on any node.
        let Ok(normalized) = normalize_name(requested, usize::from(u8::MAX)) else {
            return requested.clone();
        };
        return match accounts.account(&normalized).await {
            Ok(Some((name, _))) => Str8::truncated(&name),
            _ => requested.clone(),
        };
    }
    let (Some(store), Ok(normalized)) = (
        &accounts.store,
        normalize_name(requested, usize::from(u8::MAX)),
    ) else {
        return requested.clone();
    };
    match store.account_name(name_key(&normalized)).await {
        Ok(Some(name)) => Str8::truncated(&name),
        _ => requested.clone(),
    }
}
