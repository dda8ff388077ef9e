//! Sans-IO connection state machines (spec section 6): frames in, decisions
//! out, no sockets. Server and client each drive one, so an illegal transition
//! is judged the same way wherever it happens.

mod client;
mod request;
mod server;
mod timers;

pub use client::{ClientAction, ClientSession, ClientState, Incoming};
pub use request::Request;
pub use server::{ServerAction, ServerSession, ServerState};
pub use timers::ServerTimers;

use crate::error::ErrorCode;
use crate::frame::{ErrorFrame, Frame};
use crate::wire::Str16;

/// Why the peer ended the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerClosed {
    pub reason: ErrorCode,
    pub message: Str16,
}

/// The text of a NOT_CONFAB error, meant for a person at a telnet prompt or
/// reading an HTTP response (`[VERSION-5]`).
pub const NOT_CONFAB_MESSAGE: &str =
    "\r\nThis is a Confab chat server. It speaks the binary Confab protocol \
(see spec/PROTOCOL.md), not text or HTTP; use the confab client. Closing.\r\n";

/// The text of the NOT_CONFAB error that answers a TLS ClientHello on a
/// plain port (`[TRANSPORT-4]`), for whoever reads the raw bytes or the log.
pub const NOT_CONFAB_TLS_MESSAGE: &str =
    "This Confab server speaks plain Confab on this port, not TLS: connect without TLS, \
or to the server's TLS port. Closing.";

fn error_frame(code: ErrorCode, frame_type: u8, message: &str) -> Frame {
    Frame::ErrorFrame(ErrorFrame::new(code, frame_type, 0, message))
}
