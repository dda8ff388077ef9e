//! What a read brought (`Got`), the frame variants a case can wait for, and how a report describes frames.

use std::fmt;
use std::time::Duration;

use confab_protocol::frame::{self, ErrorFrame, Frame};
use confab_protocol::DecodeError;

use crate::verdict::{ensure, fail, Check};

/// What the next read brought.
#[derive(Debug)]
pub enum Got {
    Frame(Frame),
    /// End of stream (or a reset) from the server.
    Closed,
    TimedOut(Duration),
    /// Bytes that are not a valid frame (reported by the protocol crate's decoder).
    Undecodable(DecodeError),
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::Frame(frame) => f.write_str(&describe(frame)),
            Got::Closed => f.write_str("the connection closed"),
            Got::TimedOut(after) => write!(f, "nothing within {} ms", after.as_millis()),
            Got::Undecodable(err) => write!(f, "bytes that are not a valid frame: {err}"),
        }
    }
}

impl Got {
    /// The clause a failure on this event breaks: `clause`, unless the server
    /// sent bytes that are not a valid frame, which break a framing clause
    /// whatever the case was checking.
    pub fn clause_or(&self, clause: &'static str) -> &'static str {
        match self {
            Got::Undecodable(DecodeError::FrameTooLarge { .. }) => "FRAMING-2",
            Got::Undecodable(DecodeError::AsciiFrameType { .. }) => "FRAMING-4",
            Got::Undecodable(DecodeError::InvalidUtf8 { .. }) => "TYPES-1",
            Got::Undecodable(DecodeError::BadMagic { .. }) => "HANDSHAKE-1",
            Got::Undecodable(DecodeError::Malformed { .. }) => "FRAMING-3",
            _ => clause,
        }
    }
}

/// A failure of `clause` (or of the framing clause undecodable bytes break).
pub fn fail_got(
    clause: &'static str,
    expected: impl fmt::Display,
    got: Got,
) -> crate::verdict::Stop {
    fail(got.clause_or(clause), expected, got)
}

/// A frame as a human reads it in a failure report.
pub fn describe(frame: &Frame) -> String {
    match frame {
        Frame::ErrorFrame(e) => describe_error(e),
        other => {
            let mut text = format!("{other:?}");
            if text.len() > 300 {
                let mut end = 300;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.truncate(end);
                text.push_str("...");
            }
            text
        }
    }
}

pub fn describe_error(e: &ErrorFrame) -> String {
    format!(
        "ERROR {} ({}, frame_type {:#04x}, client_ref {}, {:?})",
        e.code,
        if e.is_fatal() { "fatal" } else { "not fatal" },
        e.frame_type,
        e.client_ref,
        e.message.as_str()
    )
}

/// A frame variant a case can wait for.
// Handing the frame back unboxed keeps the failure report cheap to build.
#[allow(clippy::result_large_err)]
pub trait Expect: Sized {
    const NAME: &'static str;
    fn take(frame: Frame) -> Result<Self, Frame>;
}

macro_rules! expectable {
    ($($variant:ident $name:literal),* $(,)?) => {$(
        impl Expect for frame::$variant {
            const NAME: &'static str = $name;
            fn take(frame: Frame) -> Result<Self, Frame> {
                match frame {
                    Frame::$variant(inner) => Ok(inner),
                    other => Err(other),
                }
            }
        }
    )*};
}

expectable! {
    Greeting "GREETING", Welcome "WELCOME", LoginRejected "LOGIN_REJECTED", Message "MESSAGE",
    Ack "ACK", DirectMessage "DIRECT_MESSAGE", Joined "JOINED", Left "LEFT", RoomList "ROOM_LIST",
    WhoList "WHO_LIST", Presence "PRESENCE", HistoryEnd "HISTORY_END", Missed "MISSED",
    Pong "PONG", Ping "PING", ErrorFrame "ERROR", Goodbye "GOODBYE",
}

/// `[ERROR-1]`: the FATAL flag equals the registry's column.
pub fn check_fatal_flag(error: &ErrorFrame) -> Check {
    match error.code.registry_fatal() {
        Some(fatal) => ensure(
            "ERROR-1",
            error.is_fatal() == fatal,
            format!(
                "ERROR {} with FATAL flag {}",
                error.code,
                if fatal { "set" } else { "clear" }
            ),
            describe_error(error),
        ),
        None => Err(fail(
            "ERROR-1",
            "a code of the registry",
            describe_error(error),
        )),
    }
}
