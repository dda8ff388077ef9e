//! Frames: the catalogue of spec section 5, declared once in `frames!`, with
//! the encoders (spec section 4); `framing` reads them off a byte stream.

mod audit;
mod audit_entries;
mod direct;
mod error;
mod framing;
mod goodbye;
mod greeting;
mod hello;
mod history;
mod join;
mod leave;
mod limits;
mod login;
mod message;
mod missed;
mod moderate;
mod moderation_event;
mod notice;
mod ping;
mod presence;
mod room_info;
mod room_list_info;
mod room_settings;
mod rooms;
mod send;
mod unknown;
mod welcome;
mod who;

pub use audit::Audit;
pub use audit_entries::AuditEntries;
pub use direct::{Direct, DirectAction, DirectMessage};
pub use error::ErrorFrame;
pub use framing::{decode, decode_with, parse_header, Header, HeaderStatus};
pub use goodbye::Goodbye;
pub use greeting::{Greeting, Limits, MAX_FRAME_BOUNDS};
pub use hello::Hello;
pub use history::{Direction, History, HistoryEnd, HistoryKind};
pub use join::{Join, Joined};
pub use leave::{Leave, Left};
pub use limits::{LimitEntry, ServerLimits};
pub use login::{Login, LoginMode};
pub use message::{Ack, Message};
pub use missed::Missed;
pub use moderate::{ModAction, Moderate};
pub use moderation_event::ModerationEvent;
pub use notice::{Notice, NoticeLevel};
pub use ping::{Ping, Pong};
pub use presence::{Presence, PresenceEvent};
pub use room_info::{Role, RoomInfo};
pub use room_list_info::{RoomInfoEntry, RoomListInfo};
pub use room_settings::{modes, RoomSettings};
pub use rooms::{ListRooms, RoomEntry, RoomList};
pub use send::{SendAction, SendMessage};
pub use unknown::Unknown;
pub use welcome::{LoginRejected, Welcome};
pub use who::{Who, WhoList};

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, Malformation};
use crate::wire::{BodyError, WireField};

/// Bytes in a frame header: type (`u8`) and body length (`u32`) (`[FRAMING-1]`).
pub const HEADER_LEN: usize = 5;

/// Which way a frame may travel (spec section 4, code ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Both,
    ClientToServer,
    ServerToClient,
}

macro_rules! frames {
    ($( $code:literal $const_name:ident $name:literal $variant:ident $dir:ident; )*) => {
        /// Every frame of protocol version 1, plus the unknown ones.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        #[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE"))]
        pub enum Frame {
            $(
                #[cfg_attr(feature = "serde", serde(rename = $name))]
                $variant($variant),
            )*
            Unknown(Unknown),
        }

        /// Frame type codes (spec section 5).
        pub mod code {
            $( pub const $const_name: u8 = $code; )*
        }

        $(
            impl From<$variant> for Frame {
                fn from(body: $variant) -> Frame {
                    Frame::$variant(body)
                }
            }

            impl $variant {
                /// This body encoded as a whole frame in its own buffer, as
                /// [`Frame::to_bytes`] would, without moving it into a `Frame`.
                pub fn to_frame_bytes(&self) -> Bytes {
                    encode_whole($code, self)
                }
            }
        )*

        impl Frame {
            /// The type code written in the header.
            pub fn frame_type(&self) -> u8 {
                match self {
                    $( Frame::$variant(_) => $code, )*
                    Frame::Unknown(unknown) => unknown.frame_type,
                }
            }

            /// The catalogue name, e.g. `"LIST_ROOMS"`.
            pub fn name(&self) -> &'static str {
                name_of(self.frame_type())
            }

            /// Length of the body alone, as written in the header.
            pub fn body_len(&self) -> usize {
                match self {
                    $( Frame::$variant(body) => body.wire_len(), )*
                    Frame::Unknown(unknown) => unknown.body.len(),
                }
            }

            fn put_body(&self, dst: &mut BytesMut) {
                match self {
                    $( Frame::$variant(body) => body.put(dst), )*
                    Frame::Unknown(unknown) => dst.put_slice(&unknown.body),
                }
            }

            /// Parses a complete body of a frame of type `frame_type`.
            // Inlined, `decode` writes the frame straight into its result.
            #[inline]
            pub fn parse_body(frame_type: u8, body: Bytes) -> Result<Frame, DecodeError> {
                match frame_type {
                    $( $code => parse_whole::<$variant>(frame_type, body).map(Frame::$variant), )*
                    _ => Ok(Frame::Unknown(Unknown { frame_type, body })),
                }
            }
        }

        /// The catalogue name of a type code, or `"UNKNOWN"`.
        pub fn name_of(frame_type: u8) -> &'static str {
            match frame_type {
                $( $code => $name, )*
                _ => "UNKNOWN",
            }
        }

        /// The direction of a known type code.
        pub fn route_of(frame_type: u8) -> Option<Route> {
            match frame_type {
                $( $code => Some(Route::$dir), )*
                _ => None,
            }
        }
    };
}

frames! {
    0x01 PING "PING" Ping Both;
    0x02 PONG "PONG" Pong Both;
    0x03 GOODBYE "GOODBYE" Goodbye Both;
    0x04 ERROR "ERROR" ErrorFrame Both;
    0x10 HELLO "HELLO" Hello ClientToServer;
    0x11 LOGIN "LOGIN" Login ClientToServer;
    0x12 JOIN "JOIN" Join ClientToServer;
    0x13 LEAVE "LEAVE" Leave ClientToServer;
    0x14 LIST_ROOMS "LIST_ROOMS" ListRooms ClientToServer;
    0x15 SEND "SEND" SendMessage ClientToServer;
    0x16 DIRECT "DIRECT" Direct ClientToServer;
    0x17 WHO "WHO" Who ClientToServer;
    0x18 HISTORY "HISTORY" History ClientToServer;
    0x1A SEND_ACTION "SEND_ACTION" SendAction ClientToServer;
    0x1B DIRECT_ACTION "DIRECT_ACTION" DirectAction ClientToServer;
    0x1C MODERATE "MODERATE" Moderate ClientToServer;
    0x1D ROOM_SETTINGS "ROOM_SETTINGS" RoomSettings ClientToServer;
    0x1E AUDIT "AUDIT" Audit ClientToServer;
    0x80 GREETING "GREETING" Greeting ServerToClient;
    0x81 WELCOME "WELCOME" Welcome ServerToClient;
    0x82 LOGIN_REJECTED "LOGIN_REJECTED" LoginRejected ServerToClient;
    0x83 MESSAGE "MESSAGE" Message ServerToClient;
    0x84 ACK "ACK" Ack ServerToClient;
    0x85 DIRECT_MESSAGE "DIRECT_MESSAGE" DirectMessage ServerToClient;
    0x86 JOINED "JOINED" Joined ServerToClient;
    0x87 LEFT "LEFT" Left ServerToClient;
    0x88 ROOM_LIST "ROOM_LIST" RoomList ServerToClient;
    0x89 WHO_LIST "WHO_LIST" WhoList ServerToClient;
    0x8A PRESENCE "PRESENCE" Presence ServerToClient;
    0x8B HISTORY_END "HISTORY_END" HistoryEnd ServerToClient;
    0x8C MISSED "MISSED" Missed ServerToClient;
    0x8D NOTICE "NOTICE" Notice ServerToClient;
    0x8E LIMITS "LIMITS" ServerLimits ServerToClient;
    0x8F ROOM_INFO "ROOM_INFO" RoomInfo ServerToClient;
    0x90 MODERATION_EVENT "MODERATION_EVENT" ModerationEvent ServerToClient;
    0x91 AUDIT_ENTRIES "AUDIT_ENTRIES" AuditEntries ServerToClient;
    0x92 ROOM_LIST_INFO "ROOM_LIST_INFO" RoomListInfo ServerToClient;
}

/// Whether a type code is one of the moderation frames of spec section 21,
/// known only on a connection whose server set `MODERATION` (`[MOD-1]`).
pub fn is_moderation(frame_type: u8) -> bool {
    matches!(frame_type, code::MODERATE..=code::AUDIT | code::ROOM_INFO..=code::ROOM_LIST_INFO)
}

/// Header and `body` in a buffer of their own.
fn encode_whole<T: WireField>(frame_type: u8, body: &T) -> Bytes {
    let body_len = body.wire_len();
    let mut buf = BytesMut::with_capacity(HEADER_LEN + body_len);
    buf.put_u8(frame_type);
    buf.put_u32(body_len as u32);
    body.put(&mut buf);
    buf.freeze()
}

/// spec: FRAMING-3 — a known body must be consumed exactly.
fn parse_whole<T: WireField>(frame_type: u8, body: Bytes) -> Result<T, DecodeError> {
    let malformed = |reason| DecodeError::Malformed { frame_type, reason };
    match T::parse(&body, &body) {
        Ok(([], value)) => Ok(value),
        Ok(_) => Err(malformed(Malformation::TrailingBytes)),
        // Complete-mode parsers never ask for more; a body that ends early is truncated.
        Err(nom::Err::Incomplete(_)) => Err(malformed(Malformation::Truncated)),
        Err(nom::Err::Error(error) | nom::Err::Failure(error)) => Err(match error {
            BodyError::Truncated => malformed(Malformation::Truncated),
            BodyError::BadEnumValue => malformed(Malformation::BadEnumValue),
            BodyError::InvalidUtf8 => DecodeError::InvalidUtf8 { frame_type },
            BodyError::BadMagic => DecodeError::BadMagic { frame_type },
        }),
    }
}

impl Frame {
    /// Header plus body.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body_len()
    }

    /// Appends header and body to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let body_len = self.body_len();
        dst.reserve(HEADER_LEN + body_len);
        dst.put_u8(self.frame_type());
        dst.put_u32(body_len as u32);
        self.put_body(dst);
    }

    /// The encoded frame in its own buffer, ready to be shared among recipients.
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf);
        buf.freeze()
    }

    /// Which way the frame may travel; `None` for unknown frames.
    pub fn direction(&self) -> Option<Route> {
        route_of(self.frame_type())
    }
}
