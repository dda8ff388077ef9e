//! HISTORY (`[HISTORY-1]`, `[HISTORY-2]`): from the store when there is one,
//! else from the rooms' in-memory history.

use std::sync::Arc;

use confab_protocol::frame::{code, Frame, History, HistoryEnd, HistoryKind};
use confab_protocol::ErrorCode;
use tracing::error;

use crate::connection::ConnState;

pub async fn history(state: &mut ConnState, request: History) {
    let max = state.shared.limits.history_max;
    let limit = usize::from(if request.limit == 0 {
        max
    } else {
        request.limit.min(max)
    });
    let shared = Arc::clone(&state.shared);
    let frames: Result<(Vec<Frame>, bool), String> = match request.kind {
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
            match &shared.store {
                Some(store) => store
                    .room_history(&room.name, request.direction, request.anchor, limit)
                    .await
                    .map(|(messages, more)| {
                        (messages.into_iter().map(Frame::Message).collect(), more)
                    }),
                None => {
                    let (messages, more) = room.history(request.direction, request.anchor, limit);
                    Ok((messages.into_iter().map(Frame::Message).collect(), more))
                }
            }
        }
        HistoryKind::Direct => {
            let me = state.member().name.clone();
            let floor = state
                .member()
                .history_floor
                .load(std::sync::atomic::Ordering::Relaxed);
            match &shared.store {
                Some(store) => store
                    .direct_history(
                        &me,
                        &request.target,
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
                    }),
                None => {
                    let (messages, more) = shared.hub.direct.read(
                        &me,
                        &request.target,
                        floor,
                        request.direction,
                        request.anchor,
                        limit,
                    );
                    Ok((
                        messages.into_iter().map(Frame::DirectMessage).collect(),
                        more,
                    ))
                }
            }
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
        target: request.target,
        count,
        flags: if more { HistoryEnd::MORE } else { 0 },
    }));
}
