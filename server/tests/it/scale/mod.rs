//! Many real clients over loopback TCP, all talking at once.
//!
//! `CONFAB_SCALE_CLIENTS` and `CONFAB_SCALE_MESSAGES` change the size of the
//! run (defaults 50 and 100).

use crate::common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestServer;
use confab_protocol::frame::{Frame, Hello, Login, Pong, SendMessage};
use confab_protocol::{FrameCodec, Str16, Str8};
use confab_server::Config;
use futures_util::{SinkExt, StreamExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Barrier};
use tokio::task::JoinSet;
use tokio_util::codec::{FramedRead, FramedWrite};

mod all_at_once;
mod flooding;

/// The whole run must finish within this.
const DEADLINE: Duration = Duration::from_secs(60);
/// How long a reader waits for any frame before declaring the run stuck.
const STALL: Duration = Duration::from_secs(20);
const ROOM: &str = "lobby";

type Rx = FramedRead<OwnedReadHalf, FrameCodec>;
type Tx = FramedWrite<OwnedWriteHalf, FrameCodec>;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name} must be a number"))
        })
        .unwrap_or(default)
}

/// The next frame, or a failure naming what was expected.
async fn expect(rx: &mut Rx, name: &str, what: &str) -> Frame {
    match tokio::time::timeout(STALL, rx.next()).await {
        Ok(Some(Ok(frame))) => frame,
        other => panic!("{name}: expected {what}, got {other:?}"),
    }
}

/// Connects with split halves, logs in as a guest and consumes the auto-join.
async fn login(addr: SocketAddr, name: &str) -> (Rx, Tx) {
    let stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{name}: connect: {e}"));
    stream.set_nodelay(true).unwrap();
    let (read, write) = stream.into_split();
    let mut rx = FramedRead::new(read, FrameCodec::new(1 << 20));
    let mut tx = FramedWrite::new(write, FrameCodec::new(1 << 20));
    tx.feed(Frame::Hello(Hello {
        version: 1,
        flags: 0,
        client: Str8::new("scale").unwrap(),
    }))
    .await
    .unwrap();
    tx.send(Frame::Login(Login::guest(Str8::new(name).unwrap())))
        .await
        .unwrap();
    assert!(matches!(
        expect(&mut rx, name, "GREETING").await,
        Frame::Greeting(_)
    ));
    // spec: LIMITS-1 — LIMITS comes right after the GREETING.
    assert!(matches!(
        expect(&mut rx, name, "LIMITS").await,
        Frame::ServerLimits(_)
    ));
    match expect(&mut rx, name, "WELCOME").await {
        Frame::Welcome(w) if w.username == name => {}
        other => panic!("{name}: expected WELCOME, got {other:?}"),
    }
    match expect(&mut rx, name, "JOINED").await {
        Frame::Joined(j) if j.room == ROOM => {}
        other => panic!("{name}: expected JOINED, got {other:?}"),
    }
    loop {
        match expect(&mut rx, name, "HISTORY_END").await {
            Frame::HistoryEnd(_) => break,
            Frame::Presence(_) => {}
            other => panic!("{name}: expected HISTORY_END, got {other:?}"),
        }
    }
    (rx, tx)
}

/// What one client received.
struct Received {
    name: String,
    /// (sender, index, id, seq) of every MESSAGE, in arrival order.
    messages: Vec<(usize, usize, u64, u64)>,
    /// (index, id, seq) of every ACK, in arrival order.
    acks: Vec<(usize, u64, u64)>,
}

/// Reads until every other client's messages and all own ACKs are in,
/// checking order and duplicates as they come; answers PINGs through `pongs`.
async fn read_all(
    me: usize,
    name: String,
    rx: &mut Rx,
    clients: usize,
    per_client: usize,
    pongs: mpsc::UnboundedSender<u64>,
    progress: Arc<AtomicUsize>,
) -> Received {
    let expected = (clients - 1) * per_client;
    let mut next_from = vec![0usize; clients];
    let mut last_seq = 0;
    let mut received = Received {
        name: name.clone(),
        messages: Vec::with_capacity(expected),
        acks: Vec::with_capacity(per_client),
    };
    while received.messages.len() < expected || received.acks.len() < per_client {
        let frame = match tokio::time::timeout(STALL, rx.next()).await {
            Ok(Some(Ok(frame))) => frame,
            other => panic!(
                "{name}: after {} messages and {} ACKs: {other:?}",
                received.messages.len(),
                received.acks.len()
            ),
        };
        match frame {
            Frame::Message(m) => {
                let (sender, index) = m
                    .body
                    .as_str()
                    .split_once(':')
                    .and_then(|(s, i)| Some((s.parse::<usize>().ok()?, i.parse::<usize>().ok()?)))
                    .unwrap_or_else(|| panic!("{name}: unexpected body {:?}", m.body));
                assert_eq!(m.sender, format!("c{sender}").as_str(), "{name}: {m:?}");
                assert_ne!(sender, me, "{name} received its own message back: {m:?}");
                assert!(
                    m.seq > last_seq,
                    "{name}: seq {} after {last_seq}: not in room order",
                    m.seq
                );
                last_seq = m.seq;
                assert_eq!(
                    index, next_from[sender],
                    "{name}: from c{sender} expected #{}, got #{index} (lost, duplicated or reordered)",
                    next_from[sender]
                );
                next_from[sender] += 1;
                received.messages.push((sender, index, m.id, m.seq));
                progress.fetch_add(1, Ordering::Relaxed);
            }
            Frame::Ack(ack) => {
                let index = received.acks.len();
                assert_eq!(ack.client_ref as usize, index + 1, "{name}: ACK order");
                received.acks.push((index, ack.id, ack.seq));
            }
            Frame::Presence(_) => {}
            Frame::Ping(ping) => {
                let _ = pongs.send(ping.nonce);
            }
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
    received
}
