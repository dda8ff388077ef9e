//! Properties of the sans-IO session state machines (spec sections 6, 7, 15).
//!
//! Random client traffic — biased toward HELLO (good and bad versions, and
//! HELLO bytes without the magic), LOGIN, PING, SEND, JOIN, unknown frames
//! and GOODBYE — runs through `ServerSession`. A model name registry judges
//! each LOGIN the session hands out: `accept_login` when
//! `names::normalize_name` accepts the name and its key is not taken,
//! otherwise `reject_login(NAME_INVALID or NAME_TAKEN)`. Every action is
//! compared with a model of the spec's state machine, and the frames the
//! server would send are checked as a transcript.

#[path = "../strategies/mod.rs"]
mod strategies;

use std::collections::BTreeSet;
use std::time::Instant;

use bytes::BytesMut;
use confab_protocol::frame::{self, code, ErrorFrame, Goodbye, Login, Pong};
use confab_protocol::names::{name_key, normalize_name};
use confab_protocol::session::{
    ClientAction, ClientSession, ClientState, PeerClosed, Request, ServerAction, ServerSession,
    ServerState, ServerTimers, NOT_CONFAB_MESSAGE,
};
use confab_protocol::{DecodeError, ErrorCode, Frame, Str8, GREETING_MAX_FRAME, PROTOCOL_VERSION};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies as s;

mod client;
mod model;
mod registry;
mod server;
mod traffic;

use model::*;
use registry::*;
use traffic::*;
