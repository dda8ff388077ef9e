//! The cases, one module per section of spec/PROTOCOL.md.

pub mod accounts;
pub mod address_limits;
pub mod address_requests;
pub mod canonical;
pub mod closing;
pub mod detect;
pub mod direct;
pub mod errors;
pub mod flow;
pub mod flow_costs;
pub mod framing;
pub mod handshake;
pub mod history;
pub mod keepalive;
pub mod limits;
pub mod messages;
pub mod moderation;
pub mod names;
pub mod order;
pub mod order_checks;
pub mod presence;
pub mod roomlist;
pub mod rooms;
pub mod rooms_replay;
pub mod state;
pub mod text;

/// A frame with any type and body, for bytes the codec would not produce.
pub fn raw(frame_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + body.len());
    out.push(frame_type);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}
