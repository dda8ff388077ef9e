//! What a READY connection may ask (spec section 6): the frames that are
//! requests, mapped to `Request`; the ERROR for a frame not allowed now,
//! and the `client_ref` such ERRORs carry.

use super::ServerAction;
use crate::error::ErrorCode;
use crate::frame::{
    Audit, Direct, ErrorFrame, Frame, History, Join, Leave, Moderate, RoomSettings, SendMessage,
    Who,
};

/// A request legal in the READY state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Join(Join),
    Leave(Leave),
    ListRooms,
    SendMessage(SendMessage),
    Direct(Direct),
    /// An action (`[ACTION-1]`): handled as SEND, delivered with the ACTION flag.
    SendAction(crate::frame::SendAction),
    /// An action (`[ACTION-1]`): handled as DIRECT, delivered with the ACTION flag.
    DirectAction(crate::frame::DirectAction),
    Who(Who),
    History(History),
    /// A moderation action (`[MOD-20]`); only on a server that set `MODERATION`.
    Moderate(Moderate),
    /// Sets or asks for room settings (`[MOD-5]`); only with `MODERATION`.
    RoomSettings(RoomSettings),
    /// A page of the moderation log (`[MOD-16]`); only with `MODERATION`.
    Audit(Audit),
}

/// What READY does with a frame that is no control frame: hands its
/// request to the application, or answers UNEXPECTED_FRAME.
pub(super) fn ready_action(frame: Frame) -> ServerAction {
    ServerAction::Request(match frame {
        Frame::Join(join) => Request::Join(join),
        Frame::Leave(leave) => Request::Leave(leave),
        Frame::ListRooms(_) => Request::ListRooms,
        Frame::SendMessage(send) => Request::SendMessage(send),
        Frame::Direct(direct) => Request::Direct(direct),
        Frame::SendAction(send) => Request::SendAction(send),
        Frame::DirectAction(direct) => Request::DirectAction(direct),
        Frame::Who(who) => Request::Who(who),
        Frame::History(history) => Request::History(history),
        // spec: MOD-1 — parsed only when the server set MODERATION.
        Frame::Moderate(moderate) => Request::Moderate(moderate),
        Frame::RoomSettings(settings) => Request::RoomSettings(settings),
        Frame::Audit(audit) => Request::Audit(audit),
        other => return unexpected(&other),
    })
}

/// The `client_ref` an ERROR about `frame` carries (spec section 5.1, ERROR).
pub(super) fn client_ref_of(frame: &Frame) -> u32 {
    match frame {
        Frame::SendMessage(send) => send.client_ref,
        Frame::Direct(direct) => direct.client_ref,
        Frame::SendAction(send) => send.client_ref,
        Frame::DirectAction(direct) => direct.client_ref,
        _ => 0,
    }
}

/// spec: STATE-2, STATE-3 — a frame not allowed in this state is ignored.
pub(super) fn unexpected(frame: &Frame) -> ServerAction {
    ServerAction::Reply(Frame::ErrorFrame(ErrorFrame::new(
        ErrorCode::UNEXPECTED_FRAME,
        frame.frame_type(),
        client_ref_of(frame),
        &format!("{} is not allowed now; frame ignored", frame.name()),
    )))
}
