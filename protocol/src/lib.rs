//! Confab wire protocol, version 1 — the one place where Confab bytes are
//! read and written. `spec/PROTOCOL.md` is the source of truth; clause ids
//! such as `[FRAMING-2]` in comments point into it.
//!
//! - [`frame`]: every frame type, the header check and the encoders;
//! - [`codec::FrameCodec`]: a `tokio_util` codec over them;
//! - [`session`]: sans-IO state machines for both ends of a connection;
//! - [`fit`]: the largest frame a server's limits let it send;
//! - [`names`]: username and room-name rules shared by server and client;
//! - [`moderation`]: address patterns and text limits of moderation (spec section 21).

#![forbid(unsafe_code)]

pub mod codec;
pub mod error;
pub mod fit;
pub mod frame;
pub mod moderation;
pub mod names;
pub mod session;
mod wire;

pub use codec::FrameCodec;
pub use error::{CodecError, DecodeError, EncodeError, ErrorCode, LengthError, Malformation};
pub use frame::{Frame, Limits};
pub use wire::{List, Str16, Str8, Text, MAGIC};

/// The protocol version this crate speaks (`[VERSION-1]`).
pub const PROTOCOL_VERSION: u16 = 1;

/// The registered default TCP port (`[TRANSPORT-1]`).
pub const DEFAULT_PORT: u16 = 7667;

/// The largest GREETING body, and the limit a client enforces until it has
/// one (`[HANDSHAKE-1]`).
pub const GREETING_MAX_FRAME: u32 = 4096;
