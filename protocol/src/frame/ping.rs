//! PING (0x01) and PONG (0x02), either direction (spec sections 5 and 12).
//!
//! ```text
//! +----------------------------------+
//! | nonce: u64                        |
//! +----------------------------------+
//! ```

use crate::wire::wire_struct;

wire_struct! {
    /// Asks the peer for a PONG carrying the same nonce (`[KEEPALIVE-1]`).
    Ping { nonce: u64 }
}

wire_struct! {
    /// Answers a PING with its nonce.
    Pong { nonce: u64 }
}
