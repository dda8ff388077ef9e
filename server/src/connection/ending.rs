//! How a connection's reading ends: why (for the log), the closing steps
//! once it has, and the goodbye when the server shuts down (`[CLOSE-2]`,
//! `[CLUSTER-4]`).

use std::fmt;
use std::time::Duration;

use confab_protocol::ErrorCode;
use tracing::{debug, info};

use super::lifecycle::Lifecycle;
use super::ConnState;
use crate::handlers;

/// Why the reader stopped, for the log: the peer's doing, or the
/// connection's lifecycle leaving `Open` (`lifecycle.rs`), which the reader
/// only observes.
#[derive(Debug)]
pub enum Ended {
    PeerClosed,
    PeerVanishedMidFrame(usize),
    Goodbye(String),
    Io(std::io::Error),
    Stopped(Lifecycle),
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::PeerClosed => f.write_str("peer closed the connection"),
            Ended::PeerVanishedMidFrame(n) => {
                write!(f, "peer closed the connection {n} bytes into a frame")
            }
            Ended::Goodbye(why) => write!(f, "peer said goodbye ({why})"),
            Ended::Io(e) => write!(f, "read error: {e}"),
            Ended::Stopped(Lifecycle::Closing(code)) => {
                write!(f, "closed by the server with {code}")
            }
            Ended::Stopped(Lifecycle::Overflowed) => f.write_str("slow consumer"),
            Ended::Stopped(_) => f.write_str("outbound side ended (write failure)"),
        }
    }
}

/// The closing steps once reading ended: the log line, the owed ACKs, the
/// member out of the hub, the outbox closed.
pub(super) async fn closed(state: &mut ConnState, ended: Ended) {
    let peer = &state.peer;
    match &state.member {
        Some(member) => {
            info!(conn = peer.id, peer = %peer.addr, user = %member.name, "closed: {ended}")
        }
        // Never logged in: scanners and slowloris come by the
        // thousand, and a line each would flood the log.
        None => debug!(conn = peer.id, peer = %peer.addr, "closed before login: {ended}"),
    }
    // spec: ORDER-1 — a peer that closed its side may still read the
    // ACKs of what it sent (bounded, like any closing, `[CLOSE-4]`).
    let _ = tokio::time::timeout(super::LINGER * 5, state.peer.unacked.settled()).await;
    if let Some(member) = state.member.take() {
        handlers::disconnect(&state.shared.services, &member, &mut state.peer);
    }
    state.peer.outbox.close();
}

/// The server is shutting down: GOODBYE, after the owed ACKs. Boxed by
/// the caller: inline, its timer would size every idle connection's future.
pub(super) async fn say_goodbye(state: &mut ConnState) -> Ended {
    // spec: CLOSE-2, ORDER-1 — the owed ACKs before the GOODBYE.
    let _ = tokio::time::timeout(Duration::from_secs(1), state.peer.unacked.settled()).await;
    let goodbye = match state.shared.services.cluster {
        // spec: CLUSTER-4 — the others go on: reconnect to one of them.
        Some(_) => state.session.goodbye(
            ErrorCode::NODE_LEAVING,
            "this node is shutting down; reconnect to another node",
        ),
        None => state
            .session
            .goodbye(ErrorCode::SERVER_SHUTDOWN, "the server is shutting down"),
    };
    state.peer.close_with(goodbye);
    Ended::Stopped(state.peer.outbox.lifecycle())
}
