//! HISTORY (`[HISTORY-1]`, `[HISTORY-2]`): from the message log, or for a
//! room of the in-memory log from the room's replay buffer.

use std::sync::Arc;

use confab_protocol::frame::{code, Frame, History, HistoryEnd, HistoryKind};
use confab_protocol::names::{name_key, normalize_name};
use confab_protocol::{ErrorCode, Str8};
use tracing::error;

use crate::connection::ConnState;
use crate::log::{ConversationKey, MessageLog, StoreError};

pub async fn history(state: &mut ConnState, request: History) {
    let max = state.shared.limits.history_max;
    let limit = usize::from(if request.limit == 0 {
        max
    } else {
        request.limit.min(max)
    });
    let shared = Arc::clone(&state.shared);
    // spec: NAMES-1 — HISTORY_END names the room or user as the server does.
    let target;
    let frames: Result<(Vec<Frame>, bool), StoreError> = match request.kind {
        HistoryKind::Room => {
            let Some(room) = super::joined_room(state, &request.target) else {
                state.reject(
                    ErrorCode::NOT_IN_ROOM,
                    code::HISTORY,
                    0,
                    "join the room to read its history",
                );
                return;
            };
            target = room.name.clone();
            shared
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
            target = canonical_user(&shared, &request.target).await;
            let me = state.member().name.clone();
            let floor = state
                .member()
                .history_floor
                .load(std::sync::atomic::Ordering::Relaxed);
            shared
                .log
                .direct_history(
                    ConversationKey::new(&me, &request.target),
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
            error!(conn = state.id, "history read failed: {e}");
            state.reject(
                ErrorCode::STORAGE_FAILURE,
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
        state.send_paced(frame).await;
    }
    state.send(Frame::HistoryEnd(HistoryEnd {
        kind: request.kind,
        target,
        count,
        flags: if more { HistoryEnd::MORE } else { 0 },
    }));
}

/// A user's spelling as the server reports it (`[NAMES-1]`): as logged in,
/// else as registered, else (nobody by that name) as the request spelled it.
async fn canonical_user(shared: &crate::shared::Shared, requested: &Str8) -> Str8 {
    if let Some(user) = shared.hub.user(requested) {
        return user.name.clone();
    }
    let (Some(store), Ok(normalized)) = (
        &shared.store,
        normalize_name(requested, usize::from(u8::MAX)),
    ) else {
        return requested.clone();
    };
    match store.account_name(name_key(&normalized)).await {
        Ok(Some(name)) => Str8::truncated(&name),
        _ => requested.clone(),
    }
}
