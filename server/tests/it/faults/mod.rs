//! Faults over real loopback TCP: broken, hostile, greedy and slow clients,
//! limits, timeouts and shutdown. After each fault, other clients must be
//! unaffected and the server must not have panicked.

mod floods;
mod input;
mod lifecycle;
mod slow;

use crate::common;

use std::time::{Duration, Instant};

use common::{
    chat_works, expect_presence, raw_frame, raw_send_body, run_binary_to_exit, wire, Client,
    Ending, TestServer, PATIENCE,
};
use confab_protocol::frame::{code, Frame, Goodbye, Login, Ping, PresenceEvent, SendMessage};
use confab_protocol::{ErrorCode, Str16, Str8};
use tokio::sync::mpsc;

/// Two logged-in clients in the lobby that check the server still works.
async fn two_witnesses(server: &TestServer) -> (Client, Client) {
    let mut w1 = Client::login(server.addr, "wit1").await;
    let mut w2 = Client::login(server.addr, "wit2").await;
    expect_presence(&mut w1, PresenceEvent::Joined, "lobby", "wit2").await;
    chat_works(&mut w2, &mut w1, "lobby", "settle").await;
    (w1, w2)
}

/// The witnesses still chat both ways.
async fn still_fine(w1: &mut Client, w2: &mut Client) {
    chat_works(w1, w2, "lobby", "still here").await;
    chat_works(w2, w1, "lobby", "me too").await;
}

fn send_frame(client_ref: u32, room: &str, body: &str) -> Frame {
    Frame::SendMessage(SendMessage {
        client_ref,
        room: Str8::new(room).unwrap(),
        body: Str16::new(body).unwrap(),
    })
}
