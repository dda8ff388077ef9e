//! What a frame costs (`[FLOW-5]`): every request takes tokens from the
//! connection's buckets and its address's share, before it is handled.

use confab_protocol::frame::Frame;
use confab_protocol::ErrorCode;
use tracing::debug;

use super::ConnState;
use crate::ratelimit::Verdict;

/// The `client_ref` and body length of a message (SEND, DIRECT and their
/// actions, `[ACTION-1]`), which also costs its body bytes; `None` for
/// any other frame.
fn message(frame: &Frame) -> Option<(u32, usize)> {
    match frame {
        Frame::SendMessage(send) => Some((send.client_ref, send.body.len())),
        Frame::Direct(direct) => Some((direct.client_ref, direct.body.len())),
        Frame::SendAction(action) => Some((action.client_ref, action.body.len())),
        Frame::DirectAction(action) => Some((action.client_ref, action.body.len())),
        _ => None,
    }
}

/// Whether `frame` is a SEND or DIRECT its buckets allow: stored in turn,
/// its own ACK follows the owed ones, so it need not wait for them. (Its
/// handler waits before answering it with an ERROR.)
pub(super) fn answered_later(state: &ConnState, frame: &Frame) -> bool {
    let Some((_, body_len)) = message(frame) else {
        return false;
    };
    let shared = &state.shared.services;
    let share = shared.config.per_ip_share;
    let address = state.peer.admission.address.as_ref().filter(|_| share > 0);
    let mut address_state = address.map(|a| a.lock());
    state.limiter.would_allow(
        &shared.limits,
        body_len,
        address_state.as_mut().map(|s| (&s.requests, share)),
        state.received_at.instant().into(),
    )
}

/// `[FLOW-5]`: every frame a client sends costs a request token (SEND and
/// DIRECT their body bytes too), whatever the answer, so that neither
/// requests answered by errors nor cheap ones (JOIN, LEAVE, WHO...) can be
/// pipelined without end. False when the frame is refused, with
/// RATE_LIMITED or, for a client that keeps pushing, FLOODING.
pub(super) fn pay_for(state: &mut ConnState, frame: &Frame) -> bool {
    let (client_ref, body_len) = match frame {
        // Answers and endings ask for nothing; HELLO and LOGIN are bounded
        // by login_attempts and the handshake deadline; a PING is answered
        // as fast as its sender reads, and refusing one would break keepalive.
        Frame::Ping(_) | Frame::Pong(_) | Frame::Goodbye(_) | Frame::Hello(_) | Frame::Login(_) => {
            return true
        }
        // A fatal ERROR ends the connection. A non-fatal one is logged, so
        // it costs a token like a request, to bound the log.
        Frame::ErrorFrame(error) if error.is_fatal() => return true,
        _ => message(frame).unwrap_or((0, 0)),
    };
    let shared = &state.shared.services;
    let share = shared.config.per_ip_share;
    let address = state.peer.admission.address.as_ref().filter(|_| share > 0);
    let mut address_state = address.map(|a| a.lock());
    let verdict = state.limiter.check(
        &shared.limits,
        body_len,
        address_state.as_mut().map(|s| (&mut s.requests, share)),
        state.received_at.instant().into(),
    );
    drop(address_state);
    let frame_type = frame.frame_type();
    match verdict {
        Verdict::Allowed => true,
        // spec: ERROR-2 — an ERROR is never answered: past the limit, dropped.
        Verdict::Limited if matches!(frame, Frame::ErrorFrame(_)) => false,
        Verdict::Limited => {
            debug!(conn = state.peer.id, "rate limited frame {frame_type:#04x}");
            state.peer.reject(
                ErrorCode::RATE_LIMITED,
                frame_type,
                client_ref,
                "rate limit: request not handled",
            );
            false
        }
        Verdict::Flooding => {
            let last = state.session.fatal_about(
                ErrorCode::FLOODING,
                frame_type,
                client_ref,
                "kept sending past the rate limit",
            );
            state.peer.close_with(last);
            false
        }
    }
}
