//! Hostile peers that stay within the letter of the protocol: cheap requests
//! pipelined without end, requests answered only by errors, reconnect
//! floods. Honest clients share the server throughout and must never be cut.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use confab_protocol::frame::{code, Frame, Hello, Join, Leave, Message, SendMessage};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use confab_server::Config;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

/// What an honest member of the lobby saw while an attack ran.
#[derive(Debug, Default)]
struct Tally {
    /// PRESENCE frames about the attackers (names starting `churn`).
    attacker_presence: u32,
    /// Messages from the attackers.
    attacker_messages: u32,
    /// Messages from the other honest members.
    honest_messages: u32,
    /// The longest a message from another honest member took to arrive.
    worst_latency: Duration,
    /// The ERROR or end that cut this member, if any.
    cut: Option<String>,
}

/// Honest members of the lobby that each say something every 100 ms (well
/// within the default rate) and read everything, until stopped.
struct Honest {
    tasks: JoinSet<(String, Tally)>,
    stop: CancellationToken,
}

impl Honest {
    async fn start(addr: SocketAddr, count: usize) -> Honest {
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        // Messages carry their sending time, counted from here.
        let epoch = Instant::now();
        for i in 0..count {
            let client = Client::login(addr, &format!("honest{i}")).await;
            tasks.spawn(Honest::run(client, stop.clone(), epoch));
        }
        Honest { tasks, stop }
    }

    async fn run(mut client: Client, stop: CancellationToken, epoch: Instant) -> (String, Tally) {
        let mut tally = Tally::default();
        let mut pace = tokio::time::interval(Duration::from_millis(100));
        let mut said = 0u32;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = pace.tick() => {
                    said += 1;
                    let frame = Frame::SendMessage(SendMessage {
                        client_ref: said,
                        room: Str8::truncated("lobby"),
                        body: Str16::truncated(&format!("{}", epoch.elapsed().as_micros())),
                    });
                    if futures_util::SinkExt::send(&mut client.framed, frame).await.is_err() {
                        tally.cut = Some("write failed".into());
                        break;
                    }
                }
                next = client.framed.next() => match next {
                    Some(Ok(Frame::Presence(p))) => {
                        if p.username.starts_with("churn") {
                            tally.attacker_presence += 1;
                        }
                    }
                    Some(Ok(Frame::Message(Message { sender, body, .. }))) => {
                        if sender.starts_with("churn") {
                            tally.attacker_messages += 1;
                        } else {
                            tally.honest_messages += 1;
                            let sent = Duration::from_micros(body.parse().unwrap());
                            tally.worst_latency = tally.worst_latency.max(epoch.elapsed() - sent);
                        }
                    }
                    Some(Ok(frame @ Frame::Ping(_))) => {
                        client.answer_ping(&frame).await;
                    }
                    Some(Ok(Frame::ErrorFrame(e))) => {
                        tally.cut = Some(format!("{e:?}"));
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tally.cut = Some(e.to_string());
                        break;
                    }
                    None => {
                        tally.cut = Some("closed".into());
                        break;
                    }
                },
            }
        }
        (client.name.clone(), tally)
    }

    /// Stops them; every one must have stayed connected and kept hearing the others.
    async fn finish(mut self, label: &str) -> Vec<Tally> {
        self.stop.cancel();
        let mut tallies = Vec::new();
        while let Some(joined) = crate::common::within_for(
            crate::common::PATIENCE * 3,
            "tasks to end",
            self.tasks.join_next(),
        )
        .await
        {
            let (name, tally) = joined.unwrap();
            eprintln!("{label}: {name}: {tally:?}");
            assert_eq!(tally.cut, None, "{label}: honest {name} was cut");
            assert!(
                tally.honest_messages > 0,
                "{label}: {name} heard nobody: {tally:?}"
            );
            // Generous: the attackers share the two cores.
            assert!(
                tally.worst_latency < Duration::from_secs(2),
                "{label}: {name} waited {:?} for a message",
                tally.worst_latency
            );
            tallies.push(tally);
        }
        tallies
    }
}

/// Logs in as `name` without auto-join and gives back the bare stream.
async fn attacker(addr: SocketAddr, name: &str) -> tokio::net::TcpStream {
    let (mut client, _) = Client::connect(addr).await;
    client.login_as(name, Hello::NO_AUTO_JOIN).await;
    client.framed.into_inner()
}

/// Writes `chunk` over and over for `duration` (or until the server stops
/// reading or closes) while reading every answer; returns the times `chunk`
/// was written whole, the frames received and whether the stream ended.
async fn pipeline(
    stream: tokio::net::TcpStream,
    chunk: Vec<u8>,
    duration: Duration,
) -> (u64, Vec<Frame>, Ending) {
    let (read_half, mut write_half) = stream.into_split();
    let writing = tokio::spawn(async move {
        let deadline = Instant::now() + duration;
        let mut written = 0u64;
        while Instant::now() < deadline {
            match tokio::time::timeout_at(deadline, write_half.write_all(&chunk)).await {
                Ok(Ok(())) => written += 1,
                _ => break,
            }
        }
        (written, write_half)
    });
    let mut frames = Vec::new();
    let mut reader = FramedRead::new(read_half, FrameCodec::new(1 << 20));
    let deadline = Instant::now() + duration + PATIENCE;
    let ending = loop {
        match tokio::time::timeout_at(deadline, reader.next()).await {
            Ok(Some(Ok(frame))) => frames.push(frame),
            Ok(Some(Err(e))) => break Ending::Broken(e.to_string()),
            Ok(None) => break Ending::Eof,
            Err(_) => break Ending::Open,
        }
    };
    let (written, _write_half) =
        crate::common::within_for(crate::common::PATIENCE * 3, "the writing task", writing)
            .await
            .unwrap();
    (written, frames, ending)
}

fn join_leave_pairs(room: &str, pairs: usize) -> Vec<u8> {
    let mut chunk = Vec::new();
    for _ in 0..pairs {
        chunk.extend(wire(&Frame::Join(Join {
            room: Str8::truncated(room),
            since_seq: 0,
            history: 0,
        })));
        chunk.extend(wire(&Frame::Leave(Leave {
            room: Str8::truncated(room),
        })));
    }
    chunk
}

/// The error codes among `frames`, counted.
fn error_counts(frames: &[Frame]) -> std::collections::BTreeMap<ErrorCode, u32> {
    let mut counts = std::collections::BTreeMap::new();
    for error in errors(frames) {
        *counts.entry(error.code).or_insert(0) += 1;
    }
    counts
}

/// Default limits, one address (127.0.0.1) for everybody.
fn defaults() -> Config {
    Config::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_leave_churn_neither_floods_nor_cuts_the_room() {
    // spec: FLOW-5, PRESENCE-3, FLOW-2
    let server = TestServer::start(defaults()).await;
    let limits = defaults().limits();
    let honest = Honest::start(server.addr, 5).await;

    // As fast as it can: refused, then cut.
    let stream = attacker(server.addr, "churn0").await;
    let (written, frames, ending) = pipeline(
        stream,
        join_leave_pairs("lobby", 512),
        Duration::from_secs(3),
    )
    .await;
    let counts = error_counts(&frames);
    eprintln!(
        "churn: {} JOIN+LEAVE pairs accepted by the socket, {} frames back, {counts:?}, {ending:?}",
        written * 512,
        frames.len()
    );
    assert_eq!(ending, Ending::Eof, "the attacker is cut");
    let last = errors(&frames).last().copied().cloned();
    assert_eq!(
        last.map(|e| e.code),
        Some(ErrorCode::FLOODING),
        "the last word is FLOODING"
    );
    let handled = frames
        .iter()
        .filter(|f| matches!(f, Frame::Joined(_) | Frame::Left(_)))
        .count() as u32;
    assert!(
        handled <= limits.msg_burst + limits.msg_rate,
        "{handled} JOIN/LEAVE handled: more than the burst"
    );
    assert!(
        counts.get(&ErrorCode::RATE_LIMITED).copied().unwrap_or(0) <= limits.msg_burst,
        "{counts:?}"
    );

    // At the rate limit, for 4 s: the members hear of it a few times, not 70.
    let mut paced = Client::connect(server.addr).await.0;
    paced.login_as("churn1", Hello::NO_AUTO_JOIN).await;
    let started = Instant::now();
    let mut pace = tokio::time::interval(Duration::from_millis(110));
    let mut pairs = 0;
    while started.elapsed() < Duration::from_secs(4) {
        pace.tick().await;
        paced.join("lobby", 0, 0).await;
        paced.leave("lobby").await;
        pairs += 1;
    }
    let (frames, _) = paced.read_to_end_within(Duration::from_millis(500)).await;
    assert!(
        errors(&frames).is_empty(),
        "the paced churner stays within its limit: {:?}",
        errors(&frames)
    );
    // Coalesced changes are announced when their interval ends.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let tallies = honest.finish("churn").await;
    let elapsed = started.elapsed().as_secs() as u32 + 1;
    for tally in tallies {
        // 4 at once per churner, one a second each after that.
        let bound = 2 * 4 + elapsed + 2;
        assert!(
            tally.attacker_presence <= bound,
            "{} PRESENCE frames about the churners ({pairs} paced pairs); at most {bound}",
            tally.attacker_presence
        );
    }
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_answered_by_errors_cost_tokens_too() {
    // spec: FLOW-5, FLOW-2, VERSION-3, DM-2, ERROR-2
    let server = TestServer::start(defaults()).await;
    let limits = defaults().limits();
    let mut witness = Client::login(server.addr, "witness").await;
    let mut other = Client::login(server.addr, "other").await;

    let unknown = raw_frame(0xEE, b"junk");
    let no_such_user = wire(&Frame::Direct(confab_protocol::frame::Direct {
        client_ref: 1,
        to: Str8::truncated("nobody-here"),
        body: Str16::truncated("hi"),
    }));
    // Non-fatal ERRORs ask for nothing, but each is logged.
    let error = wire(&Frame::ErrorFrame(confab_protocol::frame::ErrorFrame::new(
        ErrorCode::UNEXPECTED_FRAME,
        0,
        0,
        "noise",
    )));
    for (label, frame) in [("unknown", unknown), ("dm", no_such_user), ("error", error)] {
        let stream = attacker(server.addr, &format!("churn-{label}")).await;
        let chunk: Vec<u8> = frame.repeat(10_000);
        let (_, frames, ending) = pipeline(stream, chunk, Duration::from_secs(2)).await;
        let counts = error_counts(&frames);
        eprintln!("{label}: 10,000 frames answered by {counts:?}, {ending:?}");
        assert_eq!(ending, Ending::Eof, "{label}: the sender is cut");
        let answered = errors(&frames).len() as u32;
        // The burst, at most one second of refill, then RATE_LIMITED up to FLOODING.
        let bound = limits.msg_burst + limits.msg_rate + limits.msg_burst + 1;
        assert!(
            answered <= bound,
            "{label}: {answered} ERROR frames for 10,000 requests; at most {bound}"
        );
        assert_eq!(counts.get(&ErrorCode::FLOODING), Some(&1), "{label}");
        if label == "error" {
            // spec: ERROR-2 — never answered, not even RATE_LIMITED.
            assert_eq!(counts.len(), 1, "{counts:?}");
        }
    }
    chat_works(&mut witness, &mut other, "lobby", "unbothered").await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_join_carries_its_frame_type() {
    // spec: FLOW-5
    let server = TestServer::start(Config {
        msg_rate: 1,
        msg_burst: 2,
        ..defaults()
    })
    .await;
    let mut client = Client::login_flags(server.addr, "joiner", Hello::NO_AUTO_JOIN).await;
    // HELLO and LOGIN are free; two JOINs take both tokens.
    client.enter("a", 0, 0).await;
    client.enter("b", 0, 0).await;
    client.join("c", 0, 0).await;
    let error = client.expect_error(ErrorCode::RATE_LIMITED).await;
    assert_eq!((error.frame_type, error.client_ref), (code::JOIN, 0));
    assert!(!error.is_fatal());
    server.finish().await;
}
