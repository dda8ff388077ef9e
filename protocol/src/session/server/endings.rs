//! How the server ends a session: the fatal ERROR or GOODBYE it sends last
//! (`[ERROR-3]`, `[HANDSHAKE-8]`, `[CLOSE-2]`), after which it judges
//! nothing more (`[STATE-4]`).

use super::super::{NOT_CONFAB_MESSAGE, NOT_CONFAB_TLS_MESSAGE};
use super::{ServerAction, ServerSession, ServerState};
use crate::error::{DecodeError, ErrorCode};
use crate::frame::{ErrorFrame, Frame, Goodbye};

impl ServerSession {
    /// The handshake is over unfinished, whatever the clock says; `None` if
    /// the session is already READY or closed (`[HANDSHAKE-8]`). For drivers
    /// that keep no clock (fuzzing); a server calls `handle_timeout`.
    pub fn handshake_timed_out(&mut self) -> Option<Frame> {
        matches!(
            self.state,
            ServerState::AwaitHello | ServerState::AwaitLogin
        )
        .then(|| {
            self.fatal(
                ErrorCode::HANDSHAKE_TIMEOUT,
                0,
                "no successful login within the handshake timeout",
            )
        })
    }

    /// The bytes could not be decoded: the fatal ERROR to send before closing (`[ERROR-3]`).
    pub fn decode_failed(&mut self, error: &DecodeError) -> Frame {
        let message = match error.code() {
            ErrorCode::NOT_CONFAB if *error == DecodeError::TlsRecord => {
                NOT_CONFAB_TLS_MESSAGE.to_string()
            }
            ErrorCode::NOT_CONFAB => NOT_CONFAB_MESSAGE.to_string(),
            _ => error.to_string(),
        };
        self.fatal(error.code(), error.frame_type(), &message)
    }

    /// A fatal ERROR of the server's own (slow consumer, idle timeout...).
    pub fn fatal(&mut self, code: ErrorCode, frame_type: u8, message: &str) -> Frame {
        self.fatal_about(code, frame_type, 0, message)
    }

    /// A fatal ERROR caused by the SEND or DIRECT `client_ref` (e.g. FLOODING).
    pub fn fatal_about(
        &mut self,
        code: ErrorCode,
        frame_type: u8,
        client_ref: u32,
        message: &str,
    ) -> Frame {
        self.state = ServerState::Closed;
        Frame::ErrorFrame(ErrorFrame::new(code, frame_type, client_ref, message))
    }

    /// GOODBYE from the server, e.g. `SERVER_SHUTDOWN` (`[CLOSE-2]`).
    pub fn goodbye(&mut self, reason: ErrorCode, message: &str) -> Frame {
        self.state = ServerState::Closed;
        Frame::Goodbye(Goodbye::new(reason, message))
    }

    pub(super) fn fatal_action(
        &mut self,
        code: ErrorCode,
        frame_type: u8,
        message: &str,
    ) -> ServerAction {
        ServerAction::CloseWith(self.fatal(code, frame_type, message))
    }
}
