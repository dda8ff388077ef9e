//! Deterministic simulations of the server over turmoil's simulated network
//! and clock: the server runs as a turmoil host (`confab_server::run` over a
//! `turmoil::net::TcpListener`), the clients are turmoil clients speaking
//! frames through the protocol crate's `FrameCodec`.
//!
//! Every test runs many seeds. A seed fixes the network latencies, the order in
//! which the hosts run in each step and every random choice the test clients
//! make, so a failure names its seed and reruns exactly:
//!
//! ```text
//! CONFAB_SIM_SEED=17 cargo test -p confab-server --test simulation <test name>
//! CONFAB_SIM_SEEDS=200 cargo test -p confab-server --test simulation   # more seeds
//! ```
//!
//! (The one source of randomness a seed does not fix is the choice tokio makes
//! among several ready branches of an unbiased `select!` in the server, which
//! turmoil seeds only under `--cfg tokio_unstable`; the test clients use
//! `biased` selects. Runs of one seed have been identical in practice.)
//!
//! Time is simulated (1 ms per step, 4 ms in the keepalive test), so keepalive
//! and shutdown deadlines of seconds take milliseconds of wall time. Message
//! time stamps come from the wall clock (chrono) and are never asserted on.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use confab_protocol::frame::{
    Ack, ErrorFrame, Frame, Hello, Login, Message, Ping, Pong, PresenceEvent, Send, Who,
};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use confab_server::Config;
use futures_util::{SinkExt, StreamExt};
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;
use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use turmoil::net::{TcpListener, TcpStream};
use turmoil::{Builder, Sim};

/// (sender, client_ref) → (id, seq) from ACKs.
type AcksSeen = HashMap<(String, u32), (u64, u64)>;
/// (receiver, sender, n, id, seq) of every MESSAGE seen.
type MessagesSeen = Vec<(String, String, u32, u64, u64)>;
const SERVER: &str = "server";
const PORT: u16 = 7667;
const ROOM: &str = "lobby";
/// How long (simulated) a client waits for an expected frame.
const PATIENCE: Duration = Duration::from_secs(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------
// Seeds

/// SplitMix64: the test clients' own random choices, derived from the seed.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// The seeds to run: `CONFAB_SIM_SEED` alone, or `1..=CONFAB_SIM_SEEDS`
/// (default `count`).
fn seeds(count: u64) -> Vec<u64> {
    if let Ok(one) = std::env::var("CONFAB_SIM_SEED") {
        return vec![one
            .trim()
            .parse()
            .expect("CONFAB_SIM_SEED must be an integer")];
    }
    let count = std::env::var("CONFAB_SIM_SEEDS")
        .ok()
        .map(|n| {
            n.trim()
                .parse()
                .expect("CONFAB_SIM_SEEDS must be an integer")
        })
        .unwrap_or(count);
    (1..=count).collect()
}

/// Runs `run` once per seed; the first failure fails the test naming its seed.
fn for_each_seed(test: &str, count: u64, run: impl Fn(u64) -> turmoil::Result) {
    let started = std::time::Instant::now();
    let seeds = seeds(count);
    for &seed in &seeds {
        let why = match catch_unwind(AssertUnwindSafe(|| run(seed))) {
            Ok(Ok(())) => continue,
            Ok(Err(error)) => error.to_string(),
            Err(panic) => panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".to_string()),
        };
        panic!(
            "{test} failed with seed = {seed}: {why}\n\
             rerun only this seed: CONFAB_SIM_SEED={seed} cargo test -p confab-server --test simulation {test}"
        );
    }
    eprintln!(
        "{test}: {} seeds ({}..={}) passed in {:?}",
        seeds.len(),
        seeds.first().unwrap_or(&0),
        seeds.last().unwrap_or(&0),
        started.elapsed()
    );
}

/// A simulated network whose randomness is all drawn from `seed`: the latency
/// of every segment in `0..=max_latency_ms`, and the order hosts run in each
/// 1 ms step.
fn network(seed: u64, max_latency_ms: u64, duration: Duration) -> Builder {
    let mut builder = Builder::new();
    builder
        .rng_seed(seed)
        .tick_duration(ms(1))
        .min_message_latency(Duration::ZERO)
        .max_message_latency(ms(max_latency_ms))
        .simulation_duration(duration)
        .enable_random_order();
    builder
}

/// Rate limits out of the way, everything else as the reference defaults.
fn config() -> Config {
    Config {
        msg_rate: 1_000_000,
        msg_burst: 1_000_000,
        byte_rate: 1_000_000_000,
        byte_burst: 1_000_000_000,
        ..Config::default()
    }
}

/// Starts the server as host `SERVER`; the returned cell receives the
/// simulated time at which `run` returned.
fn start_server(
    sim: &mut Sim<'_>,
    config: Config,
    shutdown: CancellationToken,
) -> Rc<Cell<Option<Duration>>> {
    let stopped = Rc::new(Cell::new(None));
    let stopped_at = Rc::clone(&stopped);
    sim.host(SERVER, move || {
        let (config, shutdown, stopped_at) =
            (config.clone(), shutdown.clone(), Rc::clone(&stopped_at));
        async move {
            let listener = TcpListener::bind((IpAddr::from(Ipv4Addr::UNSPECIFIED), PORT)).await?;
            confab_server::run(listener, config, shutdown).await?;
            stopped_at.set(Some(now()));
            Ok(())
        }
    });
    stopped
}

/// Simulated time since the start, the same on every host.
fn now() -> Duration {
    turmoil::sim_elapsed().expect("inside the simulation")
}

/// Polls `done` every simulated millisecond; fails after `patience`.
async fn wait_for(what: &str, patience: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + patience;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {patience:?} waiting for {what}"
        );
        sleep(ms(1)).await;
    }
}

// ---------------------------------------------------------------------------
// A simulated client

type Rx = FramedRead<OwnedReadHalf, FrameCodec>;
type Tx = FramedWrite<OwnedWriteHalf, FrameCodec>;

struct Peer {
    rx: Rx,
    tx: Tx,
}

/// What the next read brought.
#[derive(Debug)]
enum Next {
    Frame(Frame),
    /// EOF, a reset or undecodable bytes: the connection is over.
    Closed(#[allow(dead_code)] String),
    TimedOut,
}

async fn next(rx: &mut Rx, patience: Duration) -> Next {
    match timeout(patience, rx.next()).await {
        Ok(Some(Ok(frame))) => Next::Frame(frame),
        Ok(Some(Err(e))) => Next::Closed(e.to_string()),
        Ok(None) => Next::Closed("end of stream".into()),
        Err(_) => Next::TimedOut,
    }
}

/// The next frame; fails the test when the connection ends or nothing comes.
async fn recv(rx: &mut Rx, who: &str) -> Frame {
    match next(rx, PATIENCE).await {
        Next::Frame(frame) => frame,
        other => panic!("{who}: expected a frame, got {other:?}"),
    }
}

/// Every frame until the server closes the connection; fails if it stays open
/// longer than `patience`.
async fn until_closed(rx: &mut Rx, who: &str, patience: Duration) -> Vec<Frame> {
    let deadline = Instant::now() + patience;
    let mut frames = Vec::new();
    loop {
        match next(rx, deadline.saturating_duration_since(Instant::now())).await {
            Next::Frame(frame) => frames.push(frame),
            Next::Closed(_) => return frames,
            Next::TimedOut => panic!(
                "{who}: connection still open {patience:?} later; got {} frames, last {:?}",
                frames.len(),
                frames.last()
            ),
        }
    }
}

async fn send(tx: &mut Tx, who: &str, frame: Frame) {
    tx.send(frame)
        .await
        .unwrap_or_else(|e| panic!("{who}: send failed: {e}"));
}

fn hello() -> Frame {
    Frame::Hello(Hello {
        version: 1,
        flags: 0,
        client: Str8::new("sim").unwrap(),
    })
}

fn say(client_ref: u32, body: &str) -> Frame {
    Frame::Send(Send {
        client_ref,
        room: Str8::new(ROOM).unwrap(),
        body: Str16::new(body).unwrap(),
    })
}

/// Bodies are `<sender>:<index>`.
fn parse_body(message: &Message) -> (String, u32) {
    let (sender, index) = message
        .body
        .as_str()
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("unexpected body {:?}", message.body));
    (sender.to_string(), index.parse().expect("index"))
}

/// A fatal ERROR about the connection rather than a frame (`frame_type` 0).
fn assert_connection_error(frame: &Frame, code: ErrorCode, who: &str) {
    match frame {
        Frame::ErrorFrame(ErrorFrame {
            code: got,
            flags,
            frame_type,
            client_ref,
            ..
        }) => {
            assert_eq!(*got, code, "{who}: error code");
            assert_eq!(
                flags & ErrorFrame::FATAL,
                ErrorFrame::FATAL,
                "{who}: {code} is fatal"
            );
            assert_eq!((*frame_type, *client_ref), (0, 0), "{who}: {frame:?}");
        }
        other => panic!("{who}: expected ERROR {code}, got {other:?}"),
    }
}

impl Peer {
    /// Connects and reads the GREETING.
    async fn connect(name: &str) -> Peer {
        // The server host may not have bound its listener yet in the first
        // steps (hosts run in random order): retry refused connections briefly.
        let deadline = Instant::now() + ms(100);
        let stream = loop {
            match TcpStream::connect((SERVER, PORT)).await {
                Ok(stream) => break stream,
                Err(e) if Instant::now() >= deadline => panic!("{name}: connect: {e}"),
                Err(_) => sleep(ms(1)).await,
            }
        };
        let (read, write) = stream.into_split();
        let mut peer = Peer {
            rx: FramedRead::new(read, FrameCodec::new(1 << 20)),
            tx: FramedWrite::new(write, FrameCodec::new(1 << 20)),
        };
        match recv(&mut peer.rx, name).await {
            Frame::Greeting(_) => {}
            other => panic!("{name}: expected GREETING, got {other:?}"),
        }
        // spec: LIMITS-1 — LIMITS comes right after the GREETING.
        match recv(&mut peer.rx, name).await {
            Frame::ServerLimits(_) => {}
            other => panic!("{name}: expected LIMITS, got {other:?}"),
        }
        peer
    }

    /// Connects, logs in as a guest and consumes the auto-join of the lobby.
    async fn login(name: &str) -> Peer {
        let mut peer = Peer::connect(name).await;
        send(&mut peer.tx, name, hello()).await;
        let login = Frame::Login(Login::guest(Str8::new(name).unwrap()));
        send(&mut peer.tx, name, login).await;
        match recv(&mut peer.rx, name).await {
            Frame::Welcome(w) if w.username == name => {}
            other => panic!("{name}: expected WELCOME, got {other:?}"),
        }
        match recv(&mut peer.rx, name).await {
            Frame::Joined(j) if j.room == ROOM => {}
            other => panic!("{name}: expected JOINED {ROOM}, got {other:?}"),
        }
        match recv(&mut peer.rx, name).await {
            Frame::HistoryEnd(_) => {}
            other => panic!("{name}: expected HISTORY_END, got {other:?}"),
        }
        peer
    }
}

/// What one receiver got, checked as it arrives: per sender, messages come in
/// the order sent, each once; the room's `seq` only goes up; never an echo.
struct Inbox {
    me: String,
    next_from: BTreeMap<String, u32>,
    last_seq: u64,
    messages: usize,
}

impl Inbox {
    fn new(me: &str) -> Inbox {
        Inbox {
            me: me.to_string(),
            next_from: BTreeMap::new(),
            last_seq: 0,
            messages: 0,
        }
    }

    fn take(&mut self, message: &Message) -> (String, u32) {
        let me = &self.me;
        assert_ne!(
            message.sender.as_str(),
            me,
            "{me} received its own message back: {message:?}"
        );
        assert_eq!(message.room, ROOM, "{me}: {message:?}");
        assert_eq!(message.flags, 0, "{me}: live message flags {message:?}");
        assert!(
            message.seq > self.last_seq,
            "{me}: seq {} after seq {}: not in room order",
            message.seq,
            self.last_seq
        );
        self.last_seq = message.seq;
        let (sender, index) = parse_body(message);
        assert_eq!(
            sender,
            message.sender.as_str(),
            "{me}: sender of {message:?}"
        );
        let expected = self.next_from.entry(sender.clone()).or_insert(0);
        assert_eq!(
            index, *expected,
            "{me}: from {sender} expected message #{expected}, got #{index} \
             (lost, duplicated or out of order)"
        );
        *expected += 1;
        self.messages += 1;
        (sender, index)
    }
}

// ---------------------------------------------------------------------------
// Tests

/// Several clients chat at once over links with random latency (and, for some
/// seeds, one link stalled for a while): each message reaches every other
/// member exactly once, in the order its sender sent it, never the sender;
/// ACKs carry the id and seq the others saw; seq is contiguous from 1 and ids
/// rise with it.
#[test]
fn room_messages_reach_every_other_member_once_in_order() {
    // spec: MSG-1, MSG-2, MSG-3, MSG-4, MSG-5
    for_each_seed(
        "room_messages_reach_every_other_member_once_in_order",
        40,
        |seed| {
            let mut rng = Rng::new(seed, 0);
            let clients = rng.range(3, 6) as usize;
            let per_client = rng.range(10, 40) as u32;
            let max_latency = rng.range(1, 30);
            let mut sim = network(seed, max_latency, Duration::from_secs(60)).build();
            start_server(&mut sim, config(), CancellationToken::new());

            let logged_in = Rc::new(Cell::new(0usize));
            let finished = Rc::new(Cell::new(0usize));
            // (sender, index) -> (id, seq) from the sender's ACK.
            let acks: Rc<RefCell<AcksSeen>> = Rc::default();
            // (receiver, sender, index, id, seq) of every delivered MESSAGE.
            let seen: Rc<RefCell<MessagesSeen>> = Rc::default();

            for c in 0..clients {
                let name = format!("user{c}");
                let mut pauses = Rng::new(seed, 1 + c as u64);
                let (logged_in, finished) = (Rc::clone(&logged_in), Rc::clone(&finished));
                let (acks, seen) = (Rc::clone(&acks), Rc::clone(&seen));
                sim.client(name.clone(), async move {
                    let Peer { rx, tx, .. } = &mut Peer::login(&name).await;
                    logged_in.set(logged_in.get() + 1);
                    wait_for("every client to log in", PATIENCE, || {
                        logged_in.get() == clients
                    })
                    .await;

                    let sending = async {
                        for i in 0..per_client {
                            send(tx, &name, say(i + 1, &format!("{name}:{i}"))).await;
                            let pause = pauses.range(0, 3);
                            if pause > 0 {
                                sleep(ms(pause)).await;
                            }
                        }
                    };
                    let receiving = async {
                        let mut inbox = Inbox::new(&name);
                        let mut acked = 0u32;
                        let expected = (clients - 1) * per_client as usize;
                        while acked < per_client || inbox.messages < expected {
                            match recv(rx, &name).await {
                                Frame::Message(m) => {
                                    let (sender, index) = inbox.take(&m);
                                    seen.borrow_mut().push((
                                        name.clone(),
                                        sender,
                                        index,
                                        m.id,
                                        m.seq,
                                    ));
                                }
                                Frame::Ack(Ack {
                                    client_ref,
                                    id,
                                    seq,
                                    ..
                                }) => {
                                    // Replies come in request order.
                                    assert_eq!(client_ref, acked + 1, "{name}: ACK out of order");
                                    acks.borrow_mut().insert((name.clone(), acked), (id, seq));
                                    acked += 1;
                                }
                                Frame::Presence(_) => {}
                                other => panic!("{name}: unexpected {other:?}"),
                            }
                        }
                    };
                    tokio::join!(sending, receiving);

                    finished.set(finished.get() + 1);
                    wait_for("every client to finish", PATIENCE, || {
                        finished.get() == clients
                    })
                    .await;
                    // Anything more now would be a duplicate or an echo.
                    loop {
                        match next(rx, ms(2 * max_latency + 50)).await {
                            Next::TimedOut => break,
                            Next::Frame(Frame::Presence(_)) => {}
                            other => panic!("{name}: extra frame after all deliveries: {other:?}"),
                        }
                    }
                    Ok(())
                });
            }

            if rng.next() % 2 == 0 {
                // Stall one client's link for a while; TCP holds everything back.
                let victim = format!("user{}", rng.range(0, clients as u64 - 1));
                let after = rng.range(0, 60);
                let stall = rng.range(10, 300);
                let logged_in = Rc::clone(&logged_in);
                sim.client("chaos", async move {
                    wait_for("every client to log in", PATIENCE, || {
                        logged_in.get() == clients
                    })
                    .await;
                    sleep(ms(after)).await;
                    turmoil::hold(SERVER, victim.as_str());
                    sleep(ms(stall)).await;
                    turmoil::release(SERVER, victim.as_str());
                    Ok(())
                });
            }

            sim.run()?;

            let acks = acks.borrow();
            let seen = seen.borrow();
            let total = clients * per_client as usize;
            assert_eq!(acks.len(), total, "every SEND acknowledged");
            assert_eq!(seen.len(), total * (clients - 1), "every delivery seen");
            for (receiver, sender, index, id, seq) in seen.iter() {
                let acked = acks[&(sender.clone(), *index)];
                assert_eq!(
                    (*id, *seq),
                    acked,
                    "{receiver} saw {sender}:{index} with (id, seq) other than its ACK"
                );
            }
            let mut by_seq: Vec<(u64, u64)> = acks.values().map(|&(id, seq)| (seq, id)).collect();
            by_seq.sort_unstable();
            for (i, (seq, id)) in by_seq.iter().enumerate() {
                assert_eq!(*seq, i as u64 + 1, "seq contiguous from 1");
                assert!(*id > 0, "message id 0");
                if i > 0 {
                    assert!(*id > by_seq[i - 1].1, "ids increase with acceptance order");
                }
            }
            Ok(())
        },
    );
}

/// A client that stops reading while three others talk fills its outbound
/// queue and is cut off; the others receive every message meanwhile (while the
/// stalled client has not read a byte) and then see it disconnect.
///
/// For two seeds in three the stalled client reads again once the others have
/// everything: it gets the frames written before the overflow (a gap-free
/// prefix of the room's messages), then ERROR SLOW_CONSUMER, then the end of
/// the connection. For the others it never reads again: the server still
/// closes the connection within a bounded time (the others see PRESENCE
/// disconnected) and what is left to read is a prefix that ends the stream.
#[test]
fn slow_consumer_is_cut_off_while_others_keep_receiving() {
    // spec: FLOW-3, CLOSE-3, PRESENCE-2, LIMIT-2
    const SENDERS: usize = 3;
    // Frames the stalled client can absorb before its queue overflows: 64 TCP
    // segments (turmoil's default per-socket capacity) of at most QUEUE_DEPTH
    // frames each (a writer batch is one drain of the queue), plus a full
    // queue. Sending more guarantees the overflow.
    const QUEUE_DEPTH: u32 = 16;
    const PER_SENDER: u32 = 400;
    const _: () = assert!(SENDERS as u32 * PER_SENDER > 64 * QUEUE_DEPTH + QUEUE_DEPTH + 1);
    const SLOW: &str = "slow";

    for_each_seed(
        "slow_consumer_is_cut_off_while_others_keep_receiving",
        30,
        |seed| {
            let mut rng = Rng::new(seed, 0);
            let max_latency = rng.range(1, 10);
            let reads_again = seed % 3 != 0;
            let mut sim = network(seed, max_latency, Duration::from_secs(30)).build();
            let config = Config {
                queue_depth: QUEUE_DEPTH,
                ..config()
            };
            start_server(&mut sim, config, CancellationToken::new());

            let fast: Vec<String> = (0..SENDERS)
                .map(|i| format!("sender{i}"))
                .chain(["reader".to_string()])
                .collect();
            let fast_count = fast.len();
            let logged_in = Rc::new(Cell::new(0usize));
            // Fast clients that have every message, and that saw SLOW leave.
            let fast_done = Rc::new(Cell::new(0usize));
            let saw_cut = Rc::new(Cell::new(0usize));
            let is_slow_gone = |p: &confab_protocol::frame::Presence| {
                p.username == SLOW && p.event == PresenceEvent::Disconnected
            };

            for (i, name) in fast.iter().cloned().enumerate() {
                let sends = if i < SENDERS { PER_SENDER } else { 0 };
                let others = SENDERS - usize::from(i < SENDERS);
                let (logged_in, fast_done, saw_cut) = (
                    Rc::clone(&logged_in),
                    Rc::clone(&fast_done),
                    Rc::clone(&saw_cut),
                );
                sim.client(name.clone(), async move {
                    let Peer { rx, tx, .. } = &mut Peer::login(&name).await;
                    logged_in.set(logged_in.get() + 1);
                    wait_for("every client to log in", PATIENCE, || {
                        logged_in.get() == fast_count + 1
                    })
                    .await;
                    let sending = async {
                        // One message per simulated millisecond: the fast
                        // clients' TCP windows never fill, only the stalled one's.
                        for n in 0..sends {
                            send(tx, &name, say(n + 1, &format!("{name}:{n}"))).await;
                            sleep(ms(1)).await;
                        }
                    };
                    let receiving = async {
                        let mut inbox = Inbox::new(&name);
                        let mut acked = 0;
                        let mut slow_gone = false;
                        while acked < sends || inbox.messages < others * PER_SENDER as usize {
                            match recv(rx, &name).await {
                                Frame::Message(m) => {
                                    inbox.take(&m);
                                }
                                Frame::Ack(_) => acked += 1,
                                Frame::Presence(p) => slow_gone |= is_slow_gone(&p),
                                other => panic!("{name}: unexpected {other:?}"),
                            }
                        }
                        slow_gone
                    };
                    let ((), mut slow_gone) = tokio::join!(sending, receiving);
                    // Everything arrived while SLOW had not read a byte.
                    fast_done.set(fast_done.get() + 1);
                    while !slow_gone {
                        match recv(rx, &name).await {
                            Frame::Presence(p) => slow_gone = is_slow_gone(&p),
                            other => panic!("{name}: unexpected {other:?}"),
                        }
                    }
                    saw_cut.set(saw_cut.get() + 1);
                    Ok(())
                });
            }

            let (logged_in, fast_done, saw_cut) = (
                Rc::clone(&logged_in),
                Rc::clone(&fast_done),
                Rc::clone(&saw_cut),
            );
            sim.client(SLOW, async move {
                let Peer { rx, .. } = &mut Peer::login(SLOW).await;
                logged_in.set(logged_in.get() + 1);
                // Read nothing until every other client has all its messages
                // (or, stuck for good, until they have seen SLOW cut off).
                wait_for(
                    "the fast clients to receive everything",
                    Duration::from_secs(10),
                    || fast_done.get() == fast_count,
                )
                .await;
                let mut frames = Vec::new();
                if reads_again {
                    frames = until_closed(rx, SLOW, PATIENCE).await;
                    let last = frames.pop().expect("slow got frames");
                    assert_connection_error(&last, ErrorCode::SLOW_CONSUMER, SLOW);
                } else {
                    wait_for(
                        "the others to see the stalled client disconnected",
                        Duration::from_secs(10),
                        || saw_cut.get() == fast_count,
                    )
                    .await;
                    // The others are gone too: the server must hold no
                    // connection any more, the stalled one included.
                    wait_for(
                        "the server to release every connection",
                        Duration::from_secs(10),
                        || turmoil::established_tcp_stream_count_on(SERVER) == 0,
                    )
                    .await;
                    // What is left to read is what was written before the
                    // cut. (turmoil parks a FIN that arrives while the
                    // receive window is full until another segment comes, so
                    // the end of the stream itself is not observable here.)
                    while let Next::Frame(frame) = next(rx, ms(100)).await {
                        frames.push(frame);
                    }
                }
                let mut inbox = Inbox::new(SLOW);
                for frame in &frames {
                    match frame {
                        Frame::Message(m) => {
                            inbox.take(m);
                            // The frames written before the overflow: a prefix.
                            assert_eq!(
                                m.seq, inbox.messages as u64,
                                "slow: gap before seq {}",
                                m.seq
                            );
                        }
                        Frame::Presence(_) => {}
                        // Stuck for good, the ERROR may or may not have fit.
                        Frame::ErrorFrame(_) if !reads_again && Some(frame) == frames.last() => {
                            assert_connection_error(frame, ErrorCode::SLOW_CONSUMER, SLOW)
                        }
                        other => panic!("slow: unexpected {other:?}"),
                    }
                }
                let total = SENDERS * PER_SENDER as usize;
                assert!(
                    inbox.messages < total,
                    "slow was never cut off: it received all {total} messages"
                );
                // With the queue bounded by queue_depth, what got through is
                // at most a full TCP window of writer batches plus the batch
                // in flight at the overflow.
                let bound = (64 * QUEUE_DEPTH + QUEUE_DEPTH) as usize;
                assert!(
                    inbox.messages <= bound,
                    "slow received {} messages, more than a bounded queue lets through ({bound})",
                    inbox.messages
                );
                Ok(())
            });

            sim.run()
        },
    );
}

/// Keepalive with a 1 s interval and a 1 s timeout: a logged-in client that
/// never answers PING, and one that sent only HELLO (AWAIT_LOGIN), are pinged
/// 1 s after they fell silent and cut off with IDLE_TIMEOUT 1 s later (give or
/// take the network latency); clients that answer at once, late but within the
/// timeout, or with another request instead of PONG all stay; one that keeps
/// talking is never pinged, and its own PINGs are answered.
#[test]
fn keepalive_cuts_off_silent_clients_only() {
    // spec: KEEPALIVE-1, KEEPALIVE-2, CLOSE-3, PRESENCE-1
    const INTERVAL: u64 = 1_000;
    const TIMEOUT: u64 = 1_000;
    const WATCH: u64 = 4_500;
    const TICK: u64 = 4;

    for_each_seed("keepalive_cuts_off_silent_clients_only", 25, |seed| {
        let mut rng = Rng::new(seed, 0);
        let max_latency = rng.range(1, 30);
        // Two one-way trips plus a few steps of scheduling.
        let slack = 2 * max_latency + 3 * TICK;
        // 4 ms steps: seconds of keepalive timers in a quarter of the steps.
        let mut sim = network(seed, max_latency, Duration::from_secs(30))
            .tick_duration(ms(TICK))
            .build();
        let config = Config {
            ping_interval_ms: INTERVAL as u32,
            ping_timeout_ms: TIMEOUT as u32,
            handshake_timeout_ms: 10_000,
            ..config()
        };
        start_server(&mut sim, config, CancellationToken::new());

        /// Frames with their arrival times until the connection closes.
        async fn timed_until_closed(rx: &mut Rx, who: &str) -> Vec<(Duration, Frame)> {
            let start = Instant::now();
            let mut frames = Vec::new();
            loop {
                match next(rx, PATIENCE).await {
                    Next::Frame(frame) => frames.push((start.elapsed(), frame)),
                    Next::Closed(_) => return frames,
                    Next::TimedOut => panic!("{who}: still open; got {frames:?}"),
                }
            }
        }

        /// PING about INTERVAL after the last frame sent, IDLE_TIMEOUT about
        /// TIMEOUT after that, then the end of the connection.
        fn check_idle_cut(who: &str, frames: Vec<(Duration, Frame)>, slack: u64) {
            let mut frames = frames
                .into_iter()
                .filter(|(_, f)| !matches!(f, Frame::Presence(_)));
            let pinged = match frames.next() {
                Some((at, Frame::Ping(_))) => at,
                other => panic!("{who}: expected PING, got {other:?}"),
            };
            let (cut, last) = frames
                .next()
                .unwrap_or_else(|| panic!("{who}: connection closed without IDLE_TIMEOUT"));
            assert_connection_error(&last, ErrorCode::IDLE_TIMEOUT, who);
            assert!(frames.next().is_none(), "{who}: frames after IDLE_TIMEOUT");
            let within = |at: Duration, lo: u64, hi: u64| at >= ms(lo) && at <= ms(hi);
            assert!(
                within(pinged, INTERVAL - TICK, INTERVAL + slack),
                "{who}: PING {pinged:?} after going silent, expected {INTERVAL} ms (+{slack})"
            );
            assert!(
                within(cut, INTERVAL + TIMEOUT - TICK, INTERVAL + TIMEOUT + slack),
                "{who}: IDLE_TIMEOUT {cut:?} after going silent, expected {} ms (+{slack})",
                INTERVAL + TIMEOUT
            );
        }

        // Set once pong has had its WHO answered; chatty stays until then.
        let asked = Rc::new(Cell::new(false));

        /// Stays connected, answering PINGs, until pong has asked WHO.
        async fn stay_until(rx: &mut Rx, tx: &mut Tx, who: &str, asked: &Cell<bool>) {
            while !asked.get() {
                match next(rx, ms(1)).await {
                    Next::TimedOut | Next::Frame(Frame::Presence(_) | Frame::WhoList(_)) => {}
                    Next::Frame(Frame::Ping(Ping { nonce })) => {
                        send(tx, who, Frame::Pong(Pong { nonce })).await
                    }
                    other => panic!("{who}: unexpected {other:?}"),
                }
            }
        }

        // Logged in, then silent: never answers the PING.
        sim.client("mute", async move {
            let mut peer = Peer::connect("mute").await;
            send(&mut peer.tx, "mute", hello()).await;
            send(
                &mut peer.tx,
                "mute",
                Frame::Login(Login::guest(Str8::new("mute").unwrap())),
            )
            .await;
            let frames = timed_until_closed(&mut peer.rx, "mute").await;
            let mut frames = frames.into_iter();
            assert!(
                matches!(frames.next(), Some((_, Frame::Welcome(_)))),
                "mute: WELCOME"
            );
            assert!(
                matches!(frames.next(), Some((_, Frame::Joined(_)))),
                "mute: JOINED"
            );
            assert!(
                matches!(frames.next(), Some((_, Frame::HistoryEnd(_)))),
                "mute: HISTORY_END"
            );
            check_idle_cut("mute", frames.collect(), slack);
            Ok(())
        });

        // Sent HELLO only (AWAIT_LOGIN): the same, well before the handshake deadline.
        sim.client("hello-only", async move {
            let mut peer = Peer::connect("hello-only").await;
            send(&mut peer.tx, "hello-only", hello()).await;
            let frames = timed_until_closed(&mut peer.rx, "hello-only").await;
            check_idle_cut("hello-only", frames, slack);
            Ok(())
        });

        // Answer every PING, at once with PONG, late (but within the
        // timeout) with PONG, or with another request instead of PONG: all
        // signs of life, so all stay connected. The first then checks with
        // WHO who is still logged in.
        let responders: [(&'static str, u64, bool); 3] = [
            ("pong", 0, true),
            ("late", 700, true),
            ("whoer", 300, false),
        ];
        for (name, delay, with_pong) in responders {
            let asked = Rc::clone(&asked);
            sim.client(name, async move {
                let Peer { rx, tx, .. } = &mut Peer::login(name).await;
                let until = Instant::now() + ms(WATCH);
                let mut pings = 0;
                let mut mute_gone = false;
                let mut answer: Option<(Instant, u64)> = None;
                while Instant::now() < until || answer.is_some() {
                    let frame = tokio::select! {
                        biased;
                        _ = async { sleep_until(answer.unwrap().0).await }, if answer.is_some() => {
                            let nonce = answer.take().unwrap().1;
                            let reply = if with_pong {
                                Frame::Pong(Pong { nonce })
                            } else {
                                Frame::Who(Who { room: Str8::new(ROOM).unwrap() })
                            };
                            send(tx, name, reply).await;
                            continue;
                        }
                        _ = sleep_until(until), if answer.is_none() => break,
                        frame = recv(rx, name) => frame,
                    };
                    match frame {
                        Frame::Ping(Ping { nonce }) => {
                            assert!(answer.is_none(), "{name}: pinged again before answering");
                            pings += 1;
                            answer = Some((Instant::now() + ms(delay), nonce));
                        }
                        Frame::Presence(p) => {
                            mute_gone |=
                                p.username == "mute" && p.event == PresenceEvent::Disconnected
                        }
                        Frame::WhoList(_) if !with_pong => {}
                        other => panic!("{name}: unexpected {other:?}"),
                    }
                }
                let expected = WATCH / (INTERVAL + delay + slack) - 1;
                assert!(
                    pings >= expected,
                    "{name}: {pings} PINGs in {WATCH} ms, expected at least {expected}"
                );
                assert!(mute_gone, "{name}: no PRESENCE disconnected for mute");
                if name == "pong" {
                    // Still served: WHO lists the live clients only.
                    send(
                        tx,
                        name,
                        Frame::Who(Who {
                            room: Str8::empty(),
                        }),
                    )
                    .await;
                    loop {
                        match recv(rx, name).await {
                            Frame::WhoList(list) => {
                                let names: Vec<&str> =
                                    list.users.iter().map(|u| u.as_str()).collect();
                                assert_eq!(names, ["chatty", "late", "pong", "whoer"], "WHO");
                                asked.set(true);
                                break;
                            }
                            Frame::Ping(Ping { nonce }) => {
                                send(tx, name, Frame::Pong(Pong { nonce })).await
                            }
                            Frame::Presence(_) => {}
                            other => panic!("{name}: unexpected {other:?}"),
                        }
                    }
                } else {
                    stay_until(rx, tx, name, &asked).await;
                }
                Ok(())
            });
        }

        // Talks every 400 ms (its own PINGs): never pinged; its PINGs are answered.
        sim.client("chatty", async move {
            let Peer { rx, tx, .. } = &mut Peer::login("chatty").await;
            let until = Instant::now() + ms(WATCH);
            let mut next_ping = Instant::now();
            let (mut sent, mut answered) = (0u64, 0u64);
            while Instant::now() < until || answered < sent {
                let frame = tokio::select! {
                    biased;
                    frame = recv(rx, "chatty") => frame,
                    _ = sleep_until(next_ping), if Instant::now() < until => {
                        sent += 1;
                        send(tx, "chatty", Frame::Ping(Ping { nonce: 1000 + sent })).await;
                        next_ping += ms(400);
                        continue;
                    }
                };
                match frame {
                    Frame::Pong(Pong { nonce }) => {
                        answered += 1;
                        assert_eq!(nonce, 1000 + answered, "chatty: PONG nonce");
                    }
                    Frame::Presence(_) => {}
                    Frame::Ping(_) => panic!("chatty was pinged although it kept talking"),
                    other => panic!("chatty: unexpected {other:?}"),
                }
            }
            stay_until(rx, tx, "chatty", &asked).await;
            Ok(())
        });

        sim.run()
    });
}

/// Cancelling the server's token while clients have frames queued: each gets
/// its queued frames, then GOODBYE SERVER_SHUTDOWN as the last frame, then the
/// end of the connection, well within the grace period; a newcomer is no
/// longer accepted; `run` returns.
#[test]
fn shutdown_flushes_queued_frames_then_says_goodbye() {
    // spec: CLOSE-2, MSG-2
    const LISTENERS: usize = 3;
    const MESSAGES: u32 = 200;

    for_each_seed(
        "shutdown_flushes_queued_frames_then_says_goodbye",
        25,
        |seed| {
            let mut rng = Rng::new(seed, 0);
            let max_latency = rng.range(1, 20);
            // Small TCP windows (8 segments): most of what the listeners do not
            // read waits in the server's outbound queues when shutdown begins.
            let mut sim = network(seed, max_latency, Duration::from_secs(30))
                .tcp_capacity(8)
                .build();
            let shutdown = CancellationToken::new();
            let config = config();
            let grace = config.shutdown_grace();
            let stopped = start_server(&mut sim, config, shutdown.clone());

            let ready = Rc::new(Cell::new(0usize));
            let cancelled_at: Rc<Cell<Option<Duration>>> = Rc::default();
            let everyone = LISTENERS + 2;

            /// The frames after the cancel: `before` (checked by the caller), then
            /// GOODBYE SERVER_SHUTDOWN last, and the connection closed in time.
            async fn goodbye(
                rx: &mut Rx,
                who: &str,
                cancelled: Duration,
                grace: Duration,
            ) -> Vec<Frame> {
                let mut frames = until_closed(rx, who, grace).await;
                let closed = now() - cancelled;
                assert!(closed < grace, "{who}: closed {closed:?} after the cancel");
                match frames.pop() {
                    Some(Frame::Goodbye(g)) => {
                        assert_eq!(
                            g.reason,
                            ErrorCode::SERVER_SHUTDOWN,
                            "{who}: GOODBYE reason"
                        )
                    }
                    other => {
                        panic!("{who}: last frame {other:?}, expected GOODBYE SERVER_SHUTDOWN")
                    }
                }
                frames
            }

            // Sends MESSAGES, and once all are acknowledged (so queued for every
            // listener, MSG-2) shuts the server down.
            let (counter, cancelled, token, stopped_at) = (
                Rc::clone(&ready),
                Rc::clone(&cancelled_at),
                shutdown.clone(),
                Rc::clone(&stopped),
            );
            sim.client("talker", async move {
                let Peer { rx, tx, .. } = &mut Peer::login("talker").await;
                counter.set(counter.get() + 1);
                wait_for("everyone to connect", PATIENCE, || {
                    counter.get() == everyone
                })
                .await;
                let sending = async {
                    for n in 0..MESSAGES {
                        send(tx, "talker", say(n + 1, &format!("talker:{n}"))).await;
                    }
                };
                let acking = async {
                    let mut acked = 0;
                    while acked < MESSAGES {
                        match recv(rx, "talker").await {
                            Frame::Ack(ack) => {
                                acked += 1;
                                assert_eq!(ack.client_ref, acked, "talker: ACK order");
                            }
                            Frame::Presence(_) => {}
                            other => panic!("talker: unexpected {other:?}"),
                        }
                    }
                };
                tokio::join!(sending, acking);
                let at = now();
                cancelled.set(Some(at));
                token.cancel();
                let rest = goodbye(rx, "talker", at, grace).await;
                assert!(
                    rest.iter().all(|f| matches!(f, Frame::Presence(_))),
                    "talker: unexpected {rest:?}"
                );
                wait_for("the server to stop", grace, || stopped_at.get().is_some()).await;
                Ok(())
            });

            for i in 0..LISTENERS {
                let name = format!("listener{i}");
                let (counter, cancelled) = (Rc::clone(&ready), Rc::clone(&cancelled_at));
                sim.client(name.clone(), async move {
                    let Peer { rx, .. } = &mut Peer::login(&name).await;
                    counter.set(counter.get() + 1);
                    // Read nothing more until the shutdown has begun.
                    wait_for("the shutdown", Duration::from_secs(10), || {
                        cancelled.get().is_some()
                    })
                    .await;
                    let frames = goodbye(rx, &name, cancelled.get().unwrap(), grace).await;
                    let mut inbox = Inbox::new(&name);
                    for frame in &frames {
                        match frame {
                            Frame::Message(m) => {
                                inbox.take(m);
                            }
                            Frame::Presence(_) => {}
                            other => panic!("{name}: unexpected {other:?}"),
                        }
                    }
                    assert_eq!(
                        inbox.messages, MESSAGES as usize,
                        "{name}: acknowledged messages lost in the shutdown"
                    );
                    Ok(())
                });
            }

            // Connected, never sent HELLO: still told goodbye.
            let (counter, cancelled) = (Rc::clone(&ready), Rc::clone(&cancelled_at));
            sim.client("greeted", async move {
                let Peer { rx, .. } = &mut Peer::connect("greeted").await;
                counter.set(counter.get() + 1);
                wait_for("the shutdown", Duration::from_secs(10), || {
                    cancelled.get().is_some()
                })
                .await;
                let rest = goodbye(rx, "greeted", cancelled.get().unwrap(), grace).await;
                assert!(rest.is_empty(), "greeted: unexpected {rest:?}");
                Ok(())
            });

            // Tries to connect once the shutdown has begun: no GREETING any more.
            let cancelled = Rc::clone(&cancelled_at);
            sim.client("latecomer", async move {
                wait_for("the shutdown", Duration::from_secs(10), || {
                    cancelled.get().is_some()
                })
                .await;
                sleep(ms(50)).await;
                if let Ok(stream) = TcpStream::connect((SERVER, PORT)).await {
                    let (read, _write) = stream.into_split();
                    let mut rx = FramedRead::new(read, FrameCodec::new(1 << 20));
                    match next(&mut rx, PATIENCE).await {
                        Next::Frame(frame) => {
                            panic!("latecomer accepted after shutdown: {frame:?}")
                        }
                        Next::Closed(_) | Next::TimedOut => {}
                    }
                }
                Ok(())
            });

            sim.run()?;
            let (cancelled, stopped) = (cancelled_at.get().unwrap(), stopped.get().unwrap());
            assert!(
                stopped - cancelled < grace,
                "run returned {:?} after the cancel: some connection outlived the grace period",
                stopped - cancelled
            );
            Ok(())
        },
    );
}
