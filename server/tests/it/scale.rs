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

/// Every client sends all its messages at once while reading concurrently:
/// each message reaches every other client exactly once and in the order its
/// sender sent it, never the sender; each sender gets one ACK per message,
/// carrying the id and seq the others saw; seq runs 1..=total without gaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_sending_at_once_all_receive_everything_once_in_order() {
    // spec: MSG-1, MSG-2, MSG-4, MSG-5
    let clients = env_or("CONFAB_SCALE_CLIENTS", 50);
    let per_client = env_or("CONFAB_SCALE_MESSAGES", 100);
    let config = Config {
        queue_depth: 65_536,
        // Nobody is idle long enough to be pinged; PINGs are answered anyway.
        ping_interval_ms: 120_000,
        ..TestServer::config()
    };
    let server = TestServer::start(config).await;
    let started = Instant::now();

    let progress = Arc::new(AtomicUsize::new(0));
    // Everyone is in the room before anyone speaks, and everyone has all its
    // frames before anyone checks that nothing more comes.
    let logged_in = Arc::new(Barrier::new(clients));
    let all_received = Arc::new(Barrier::new(clients));
    let mut tasks = JoinSet::new();
    for me in 0..clients {
        let addr = server.addr;
        let (logged_in, all_received) = (Arc::clone(&logged_in), Arc::clone(&all_received));
        let progress = Arc::clone(&progress);
        tasks.spawn(async move {
            let name = format!("c{me}");
            let (mut rx, mut tx) = login(addr, &name).await;
            crate::common::within("the others at the barrier", logged_in.wait()).await;
            let (pongs, mut ping_nonces) = mpsc::unbounded_channel::<u64>();
            let writer_name = name.clone();
            let writer = tokio::spawn(async move {
                for i in 0..per_client {
                    let frame = Frame::SendMessage(SendMessage {
                        client_ref: i as u32 + 1,
                        room: Str8::new(ROOM).unwrap(),
                        body: Str16::new(&format!("{me}:{i}")).unwrap(),
                    });
                    tx.feed(frame)
                        .await
                        .unwrap_or_else(|e| panic!("{writer_name}: {e}"));
                }
                SinkExt::<Frame>::flush(&mut tx)
                    .await
                    .unwrap_or_else(|e| panic!("{writer_name}: {e}"));
                while let Some(nonce) = ping_nonces.recv().await {
                    let _ = tx.send(Frame::Pong(Pong { nonce })).await;
                }
                tx
            });
            let received = read_all(
                me,
                name.clone(),
                &mut rx,
                clients,
                per_client,
                pongs,
                progress,
            )
            .await;
            let tx = writer.await.expect("writer task");
            crate::common::within("the others at the barrier", all_received.wait()).await;
            // Nothing more may arrive: it would be a duplicate or an echo.
            if let Ok(Some(Ok(frame))) =
                tokio::time::timeout(Duration::from_millis(200), rx.next()).await
            {
                assert!(
                    matches!(frame, Frame::Presence(_) | Frame::Ping(_)),
                    "{name}: extra frame after all deliveries: {frame:?}"
                );
            }
            (me, received, rx, tx)
        });
    }

    let all = async {
        let mut done = Vec::new();
        // In completion order, so that a failing client is reported at once.
        while let Some(result) = crate::common::within_for(
            crate::common::PATIENCE * 3,
            "tasks to end",
            tasks.join_next(),
        )
        .await
        {
            match result {
                Ok(client) => done.push(client),
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
        done.sort_by_key(|(me, ..)| *me);
        done
    };
    let done = match tokio::time::timeout(DEADLINE, all).await {
        Ok(done) => done,
        Err(_) => panic!(
            "not done after {DEADLINE:?}: {} of {} deliveries made",
            progress.load(Ordering::Relaxed),
            clients * (clients - 1) * per_client
        ),
    };
    let elapsed = started.elapsed();
    let halves: Vec<(Received, Rx, Tx)> =
        done.into_iter().map(|(_, r, rx, tx)| (r, rx, tx)).collect();

    // ACKs match what the others saw; seq is contiguous, ids rise with it.
    let mut assigned: HashMap<(usize, usize), (u64, u64)> = HashMap::new();
    for (sender, (received, _, _)) in halves.iter().enumerate() {
        assert_eq!(received.acks.len(), per_client, "{}: ACKs", received.name);
        for &(index, id, seq) in &received.acks {
            assigned.insert((sender, index), (id, seq));
        }
    }
    for (received, _, _) in &halves {
        for &(sender, index, id, seq) in &received.messages {
            assert_eq!(
                assigned[&(sender, index)],
                (id, seq),
                "{} saw c{sender}:{index} with (id, seq) other than its ACK",
                received.name
            );
        }
    }
    let mut by_seq: Vec<(u64, u64)> = assigned.values().map(|&(id, seq)| (seq, id)).collect();
    by_seq.sort_unstable();
    for (i, window) in by_seq.windows(2).enumerate() {
        assert_eq!(window[0].0, i as u64 + 1, "seq contiguous from 1");
        assert!(window[1].1 > window[0].1, "ids increase with seq");
    }
    assert_eq!(
        by_seq.last().map(|s| s.0),
        Some((clients * per_client) as u64)
    );

    eprintln!(
        "{clients} clients x {per_client} messages: {} deliveries in {elapsed:?}",
        clients * (clients - 1) * per_client
    );
    drop(halves);
    server.stop().await;
}

/// One client sends as fast as it can for two seconds while another asks WHO
/// over and over, everything on one thread: each answer still comes within a
/// bounded time, and the flood was really going on meanwhile.
#[tokio::test(flavor = "current_thread")]
async fn a_flooding_client_does_not_starve_the_others() {
    // spec: FLOW-4
    const FLOOD: Duration = Duration::from_secs(2);
    const BOUND: Duration = Duration::from_secs(1);
    let config = Config {
        msg_rate: 1_000_000_000,
        msg_burst: 1_000_000_000,
        byte_rate: 1_000_000_000,
        byte_burst: 1_000_000_000,
        queue_depth: 1 << 20,
        ..TestServer::config()
    };
    let server = TestServer::start(config).await;
    let (mut flood_rx, mut flood_tx) = login(server.addr, "flooder").await;
    let (mut probe_rx, mut probe_tx) = login(server.addr, "probe").await;

    // The flooder talks in a room of its own: no fan-out, one ACK per message.
    flood_tx
        .send(Frame::Join(confab_protocol::frame::Join {
            room: Str8::new("flood").unwrap(),
            since_seq: 0,
            history: 0,
        }))
        .await
        .unwrap();
    loop {
        match expect(&mut flood_rx, "flooder", "JOINED flood").await {
            Frame::HistoryEnd(end) if end.target == "flood" => break,
            Frame::Joined(_) | Frame::Presence(_) => {}
            other => panic!("flooder: unexpected {other:?}"),
        }
    }

    let until = Instant::now() + FLOOD;
    let sender = tokio::spawn(async move {
        let mut sent = 0u32;
        while Instant::now() < until {
            for _ in 0..256 {
                sent += 1;
                let frame = Frame::SendMessage(SendMessage {
                    client_ref: sent,
                    room: Str8::new("flood").unwrap(),
                    body: Str16::new("flood flood flood flood").unwrap(),
                });
                flood_tx.feed(frame).await.unwrap();
            }
            SinkExt::<Frame>::flush(&mut flood_tx).await.unwrap();
        }
        (sent, flood_tx)
    });
    let acks = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&acks);
    let reader = tokio::spawn(async move {
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(STALL, flood_rx.next()).await {
            match frame {
                Frame::Ack(_) => {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                Frame::Presence(_) | Frame::Ping(_) => {}
                other => panic!("flooder: unexpected {other:?}"),
            }
        }
    });

    let mut round_trips = Vec::new();
    let mut acks_during = 0;
    while Instant::now() < until {
        let asked = Instant::now();
        probe_tx
            .send(Frame::Who(confab_protocol::frame::Who {
                room: Str8::new(ROOM).unwrap(),
            }))
            .await
            .unwrap();
        loop {
            match expect(&mut probe_rx, "probe", "WHO_LIST").await {
                Frame::WhoList(_) => break,
                Frame::Presence(_) => {}
                other => panic!("probe: unexpected {other:?}"),
            }
        }
        round_trips.push(asked.elapsed());
        acks_during = acks.load(Ordering::Relaxed);
    }
    let (sent, flood_tx) =
        crate::common::within_for(crate::common::PATIENCE * 3, "the sender task", sender)
            .await
            .unwrap();
    let slowest = round_trips.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} WHO round trips (slowest {slowest:?}) while the flooder sent {sent} messages \
         ({acks_during} acknowledged during the probes)",
        round_trips.len()
    );
    assert!(
        acks_during >= 10_000,
        "the flood was not under way: only {acks_during} messages handled"
    );
    assert!(
        slowest < BOUND,
        "a WHO took {slowest:?} to be answered while another client flooded"
    );
    drop(flood_tx);
    reader.abort();
    server.stop().await;
}
