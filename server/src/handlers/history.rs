//! HISTORY (`[HISTORY-1]`, `[HISTORY-2]`).

use confab_protocol::frame::{code, Frame, History, HistoryEnd, HistoryKind};
use confab_protocol::ErrorCode;

use crate::connection::ConnState;

pub fn history(state: &mut ConnState, request: History) {
    let max = state.shared.limits.history_max;
    let limit = usize::from(if request.limit == 0 {
        max
    } else {
        request.limit.min(max)
    });
    let (count, more) = match request.kind {
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
            let (messages, more) = room.history(request.direction, request.anchor, limit);
            let count = messages.len();
            for message in messages {
                state.send(Frame::Message(message));
            }
            (count, more)
        }
        HistoryKind::Direct => {
            let me = state.member().name.clone();
            let (messages, more) = state.shared.hub.direct.read(
                &me,
                &request.target,
                request.direction,
                request.anchor,
                limit,
            );
            let count = messages.len();
            for message in messages {
                state.send(Frame::DirectMessage(message));
            }
            (count, more)
        }
    };
    state.send(Frame::HistoryEnd(HistoryEnd {
        kind: request.kind,
        target: request.target,
        count: count as u16,
        flags: if more { HistoryEnd::MORE } else { 0 },
    }));
}
