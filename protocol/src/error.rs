//! The error-code registry (spec section 15) and the typed errors of this crate.
//!
//! The registry is declared once, in `error_codes!`, and every name, number,
//! fatality and description follows from it.

use std::fmt;

/// A code of the spec's error registry, as carried by ERROR, GOODBYE and
/// LOGIN_REJECTED. Unassigned numbers are representable: a peer of a later
/// version may send them (`[ERROR-1]`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ErrorCode(pub u16);

macro_rules! error_codes {
    ($( $num:literal $name:ident $fatal:literal $desc:literal; )*) => {
        impl ErrorCode {
            $( #[doc = $desc] pub const $name: ErrorCode = ErrorCode($num); )*

            /// Every assigned code, in registry order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The registry name, e.g. `"NOT_CONFAB"`; `None` for an unassigned code.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($num => Some(stringify!($name)),)* _ => None }
            }

            /// Whether the registry marks the code fatal; `None` when unassigned.
            pub fn registry_fatal(self) -> Option<bool> {
                match self.0 { $($num => Some($fatal),)* _ => None }
            }

            /// The registry's one-line meaning.
            pub fn description(self) -> &'static str {
                match self.0 { $($num => $desc,)* _ => "unassigned error code" }
            }

            /// Looks a code up by its registry name.
            pub fn from_name(name: &str) -> Option<ErrorCode> {
                match name { $(stringify!($name) => Some(ErrorCode::$name),)* _ => None }
            }
        }
    };
}

error_codes! {
    0  NORMAL               false "Not an error: the GOODBYE reason of an ordinary quit";
    1  MALFORMED_FRAME      true  "Body does not match the frame's layout";
    2  FRAME_TOO_LARGE      true  "Declared body length above max_frame";
    3  INVALID_UTF8         true  "A string field is not well-formed UTF-8";
    4  UNKNOWN_FRAME_TYPE   false "Frame type not defined by the version in use; frame skipped";
    5  UNEXPECTED_FRAME     false "Frame not legal in the current state or direction; frame ignored";
    6  NOT_CONFAB           true  "The peer does not speak Confab";
    7  UNSUPPORTED_VERSION  true  "HELLO version outside the server's range";
    8  HANDSHAKE_TIMEOUT    true  "No successful login within handshake_timeout_ms";
    9  TOO_MANY_ATTEMPTS    true  "login_attempts LOGIN frames were rejected";
    10 IDLE_TIMEOUT         true  "No answer to PING within ping_timeout_ms";
    20 NAME_TAKEN           false "Another connection uses the name";
    21 NAME_INVALID         false "The name breaks the username rules or length";
    22 NAME_RESERVED        false "The name is reserved by the server";
    23 AUTH_FAILED          false "Wrong password, unknown account, or a password on a guest login";
    24 ACCOUNT_REQUIRED     false "The name is registered (or the server requires accounts): log in";
    25 ACCOUNT_EXISTS       false "Registration of a name that is already registered";
    26 ACCOUNTS_UNAVAILABLE false "The server has no accounts";
    27 TRY_AGAIN_LATER      false "The server cannot check or register a password now (busy, or too many registrations from the address)";
    28 ACCOUNT_BANNED       false "The name is banned from the server (LOGIN_REJECTED only)";
    29 PASSWORD_TOO_SHORT   false "Registration with a password shorter than min_password (LOGIN_REJECTED only)";
    30 ROOM_INVALID         false "The room name breaks the naming rules or length";
    31 NO_SUCH_ROOM         false "The room does not exist";
    32 NOT_IN_ROOM          false "The request needs membership of the room";
    33 TOO_MANY_ROOMS       false "Joining would exceed max_rooms";
    34 NO_SUCH_USER         false "The direct message's recipient is not available";
    35 EMPTY_MESSAGE        false "The body is empty or only white space";
    36 BODY_TOO_LONG        false "The body exceeds max_body";
    37 RATE_LIMITED         false "The message exceeded the rate limit and was not delivered";
    38 STORAGE_FAILURE      false "The server could not store the message; it was not delivered";
    39 NOT_PERMITTED        false "The request needs a role the requester lacks; the message names it";
    40 BANNED               false "JOIN refused: a ban of the room matches the user";
    41 INVITE_ONLY          false "JOIN refused: the room is invite-only and the user is not invited";
    42 ROOM_FULL            false "JOIN refused: the room has reached its member limit";
    43 CANNOT_SPEAK         false "Muted, or the room is moderated and the sender not voiced; not delivered";
    44 INVALID_TARGET       false "The target does not fit the action, or there is nothing to remove";
    45 TEXT_TOO_LONG        false "A topic or reason above 390 bytes";
    46 CLUSTER_UNAVAILABLE  false "The cluster's shared store is unreachable; the message was not acknowledged";
    48 ROOM_LIMIT           false "The server has as many rooms as it allows; the room was not made";
    49 RECIPIENT_BUSY       false "Too many direct messages wait unread for the recipient; not delivered";
    50 SLOW_CONSUMER        true  "The client's outbound queue overflowed";
    51 FLOODING             true  "The client kept sending past the rate limit";
    52 SERVER_FULL          true  "The server has reached its connection limit";
    53 TOO_MANY_CONNECTIONS true  "Too many connections from the client's address";
    54 SERVER_SHUTDOWN      true  "The server is shutting down";
    55 INTERNAL_ERROR       true  "The server failed; the client may reconnect";
    56 ADDRESS_BANNED       true  "The client's address is banned from the server";
    57 REMOVED              true  "A server operator disconnected the client";
    58 TAKEN_OVER           true  "A login to the same account with its password took the session over";
    59 NODE_LEAVING         true  "This node of a cluster is shutting down; reconnect to another node";
}

impl ErrorCode {
    /// Fatality for the FATAL flag of an ERROR we send (`[ERROR-1]`).
    /// Unassigned codes are treated as fatal: we never send them.
    pub fn is_fatal(self) -> bool {
        self.registry_fatal().unwrap_or(true)
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({})", self.0),
            None => write!(f, "ErrorCode({})", self.0),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "error {}", self.0),
        }
    }
}

/// Why a byte stream could not be decoded into frames. Each variant maps to
/// exactly one registry code through [`DecodeError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// `[FRAMING-2]`: checked on the header, before any body byte is buffered.
    #[error("declared frame body of {declared} bytes exceeds the limit of {max}")]
    FrameTooLarge { declared: u32, max: u32 },
    /// `[FRAMING-4]`: a printable ASCII byte where a frame type belongs.
    #[error("byte {byte:#04x} ({ch:?}) where a frame type was expected: not a Confab peer", ch = char::from(*byte))]
    AsciiFrameType { byte: u8 },
    /// `[TRANSPORT-4]`: a TLS handshake record (`16 03`) opens a plain connection.
    #[error("a TLS handshake record where the first Confab frame was expected: this port does not speak TLS")]
    TlsRecord,
    /// `[HANDSHAKE-2]`: HELLO or GREETING without the `CONFAB` magic.
    #[error("frame {frame_type:#04x} does not carry the CONFAB magic")]
    BadMagic { frame_type: u8 },
    /// `[TYPES-2]`, `[TYPES-4]`, `[FRAMING-3]`.
    #[error("malformed frame {frame_type:#04x}: {reason}")]
    Malformed {
        frame_type: u8,
        reason: Malformation,
    },
    /// `[TYPES-1]`.
    #[error("frame {frame_type:#04x} has a string that is not valid UTF-8")]
    InvalidUtf8 { frame_type: u8 },
}

/// What exactly was wrong with a malformed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformation {
    #[error("a field runs past the end of the body")]
    Truncated,
    #[error("bytes left over after the last field")]
    TrailingBytes,
    #[error("an enumerated field has an undefined value")]
    BadEnumValue,
}

impl DecodeError {
    /// The registry code a receiver answers this error with.
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::FrameTooLarge { .. } => ErrorCode::FRAME_TOO_LARGE,
            DecodeError::AsciiFrameType { .. }
            | DecodeError::TlsRecord
            | DecodeError::BadMagic { .. } => ErrorCode::NOT_CONFAB,
            DecodeError::Malformed { .. } => ErrorCode::MALFORMED_FRAME,
            DecodeError::InvalidUtf8 { .. } => ErrorCode::INVALID_UTF8,
        }
    }

    /// The type code of the offending frame, or 0 when the error is about the
    /// byte stream rather than one delimited frame.
    pub fn frame_type(&self) -> u8 {
        match self {
            DecodeError::FrameTooLarge { .. }
            | DecodeError::AsciiFrameType { .. }
            | DecodeError::TlsRecord => 0,
            DecodeError::BadMagic { frame_type }
            | DecodeError::Malformed { frame_type, .. }
            | DecodeError::InvalidUtf8 { frame_type } => *frame_type,
        }
    }
}

/// A frame that cannot be encoded within the connection's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("frame body of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge { len: usize, max: u32 },
}

/// A value too long for its length prefix (`str8`, `str16`, a `u16` count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} exceeds the field's maximum of {max}")]
pub struct LengthError {
    pub len: usize,
    pub max: usize,
}

/// Errors of the framed codec: decoding, encoding, or the transport under it.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("transport: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_round_trip_and_are_unique() {
        // spec: ERROR-1
        let mut numbers: Vec<u16> = ErrorCode::ALL.iter().map(|c| c.0).collect();
        numbers.dedup();
        assert_eq!(numbers.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            let name = code.name().expect("assigned codes have names");
            assert_eq!(ErrorCode::from_name(name), Some(*code));
        }
        assert_eq!(ErrorCode(11).name(), None);
        assert!(ErrorCode(11).is_fatal());
    }

    #[test]
    fn decode_errors_map_to_registry_codes() {
        let too_large = DecodeError::FrameTooLarge {
            declared: 10,
            max: 5,
        };
        assert_eq!(too_large.code(), ErrorCode::FRAME_TOO_LARGE);
        assert_eq!(too_large.frame_type(), 0);
        let utf8 = DecodeError::InvalidUtf8 { frame_type: 0x11 };
        assert_eq!(utf8.code(), ErrorCode::INVALID_UTF8);
        assert_eq!(utf8.frame_type(), 0x11);
        assert_eq!(
            DecodeError::BadMagic { frame_type: 0x10 }.code(),
            ErrorCode::NOT_CONFAB
        );
    }
}
