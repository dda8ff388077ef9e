//! Attack 5, floods: rate-limited, then disconnected, while nobody else notices.

use std::net::SocketAddr;
use std::time::Duration;

use confab_protocol::frame::{code, Frame, Hello, SendMessage};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use confab_server::Config;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use crate::common::{Client, Ending, TestServer, PATIENCE};
use crate::support::*;
use crate::{attack, DURING_ATTACK};

fn send_bytes(room: &str, client_ref: u32) -> Vec<u8> {
    Frame::SendMessage(SendMessage {
        client_ref,
        room: Str8::new(room).unwrap(),
        body: Str16::new(&format!("flood {client_ref}")).unwrap(),
    })
    .to_bytes()
    .to_vec()
}

/// Checks a flooder's answers: for SEND 1, 2, ... in order an ACK or a
/// non-fatal RATE_LIMITED carrying its client_ref, then FLOODING naming the
/// SEND that caused it, then the end. Returns (accepted, limited).
fn check_flood_answers(name: &str, frames: &[Frame], ending: &Ending, sent: u32) -> (u32, u32) {
    assert_eq!(*ending, Ending::Eof, "{name}");
    let (last, answers) = frames.split_last().expect("answers");
    let (mut accepted, mut limited) = (0, 0);
    for (i, answer) in answers.iter().enumerate() {
        let client_ref = i as u32 + 1;
        match answer {
            Frame::Ack(ack) if ack.client_ref == client_ref => accepted += 1,
            // spec: FLOW-1 — refused, never silently dropped.
            Frame::ErrorFrame(e)
                if e.code == ErrorCode::RATE_LIMITED
                    && e.client_ref == client_ref
                    && e.frame_type == code::SEND
                    && !e.is_fatal() =>
            {
                limited += 1
            }
            other => panic!("{name}: answer to SEND {client_ref}: {other:?}"),
        }
    }
    match last {
        // spec: FLOW-2
        Frame::ErrorFrame(e) => {
            assert_eq!(e.code, ErrorCode::FLOODING, "{name}: {e:?}");
            assert!(e.is_fatal());
            assert_eq!(
                (e.frame_type, e.client_ref),
                (code::SEND, answers.len() as u32 + 1),
                "{name}: FLOODING names the SEND that caused it"
            );
        }
        other => panic!("{name}: expected FLOODING last, got {other:?}"),
    }
    // spec: ERROR-3
    assert!(
        answers.len() < sent as usize,
        "{name}: nothing after FLOODING is processed"
    );
    (accepted, limited)
}

/// Floods `room` with 400 SENDs in one write; returns (accepted, limited).
async fn flood(addr: SocketAddr, name: String, room: String) -> (u32, u32) {
    const COUNT: u32 = 400;
    let mut flooder = Client::login_flags(addr, &name, Hello::NO_AUTO_JOIN).await;
    flooder.enter(&room, 0, 0).await;
    let bytes: Vec<u8> = (1..=COUNT).flat_map(|r| send_bytes(&room, r)).collect();
    flooder.write_raw(&bytes).await;
    let (frames, ending) = flooder.read_to_end_within(PATIENCE).await;
    check_flood_answers(&name, &frames, &ending, COUNT)
}

/// Keeps sending one SEND every `every` (faster than msg_rate) until the
/// server cuts it off; returns (accepted, limited, how long it lasted, how
/// many refusals arrived in the second before FLOODING).
async fn paced_flood(
    addr: SocketAddr,
    name: &str,
    room: &str,
    every: Duration,
) -> (u32, u32, Duration, usize) {
    const MAX: u32 = 2_000;
    let mut flooder = Client::login_flags(addr, name, Hello::NO_AUTO_JOIN).await;
    flooder.enter(room, 0, 0).await;
    let parts = flooder.framed.into_parts();
    assert!(parts.read_buf.is_empty(), "nothing pending after JOIN");
    let (read_half, mut write_half) = parts.io.into_split();
    let mut answers = FramedRead::new(read_half, FrameCodec::new(1 << 20));
    let started = Instant::now();
    let mut pace = tokio::time::interval(every);
    let mut sent = 0;
    let mut frames = Vec::new();
    let mut arrivals = Vec::new();
    let deadline = started + PATIENCE;
    let ending = loop {
        tokio::select! {
            next = answers.next() => match next {
                Some(Ok(frame)) => {
                    frames.push(frame);
                    arrivals.push(Instant::now());
                }
                Some(Err(e)) => break Ending::Broken(e.to_string()),
                None => break Ending::Eof,
            },
            _ = pace.tick(), if sent < MAX => {
                sent += 1;
                // The server closes at FLOODING; later writes may fail.
                let _ = write_half.write_all(&send_bytes(room, sent)).await;
            }
            _ = tokio::time::sleep_until(deadline) => break Ending::Open,
        }
    };
    let lasted = started.elapsed();
    let (accepted, limited) = check_flood_answers(name, &frames, &ending, sent);
    // Refusals that arrived within the second before FLOODING (a little
    // more, for the trip from the server).
    let cut_at = *arrivals.last().unwrap();
    let recent = frames
        .iter()
        .zip(&arrivals)
        .filter(|(f, at)| {
            matches!(f, Frame::ErrorFrame(e) if e.code == ErrorCode::RATE_LIMITED)
                && cut_at.duration_since(**at) <= Duration::from_millis(1_100)
        })
        .count();
    (accepted, limited, lasted, recent)
}

#[test]
fn a_flood_is_rate_limited_then_disconnected_and_nobody_else_notices() {
    // spec: FLOW-1, FLOW-2, FLOW-4, ERROR-3
    attack(|| async {
        let defaults = Config::default();
        // Per connection: the share of the address all these flooders come
        // from (FLOW-5) is tested on its own.
        let server = TestServer::start(Config {
            per_ip_share: 0,
            ..Config::default()
        })
        .await;
        let addr = server.addr;
        let witnesses = Witnesses::start(addr, POLITE_PACE).await;
        let baseline = rss_bytes();

        // One flooder, observed exactly.
        let (accepted, limited) = flood(addr, "flooder".into(), "flood-room".into()).await;
        eprintln!("flood: {accepted} accepted, {limited} rate limited, then FLOODING");
        // Its JOIN took one token of the burst (FLOW-5).
        let burst = defaults.msg_burst;
        assert!(
            (burst - 1..=burst + 5).contains(&accepted),
            "{accepted} accepted with msg_burst {burst}"
        );
        assert_eq!(
            limited, burst,
            "FLOODING on the rejection after msg_burst rejections"
        );

        // A sustained flood, 100 messages a second against msg_rate 20:
        // the bucket empties, then msg_burst refusals within a second end it.
        let (accepted, limited, lasted, recent) =
            paced_flood(addr, "steady", "steady-room", Duration::from_millis(10)).await;
        eprintln!(
            "flood: sustained: {accepted} accepted, {limited} rate limited \
             ({recent} in the last second), FLOODING after {lasted:?}"
        );
        assert!(accepted >= burst, "{accepted} accepted");
        // FLOW-2 allows the cut only after more than msg_burst refusals
        // within one second; the server counts in fixed one-second windows,
        // so up to about twice that many may come first.
        assert!(
            recent >= burst as usize,
            "cut off after only {recent} refusals in a second"
        );
        assert!(limited <= 3 * burst, "{limited} refusals before FLOODING");
        assert!(
            lasted < Duration::from_secs(4),
            "the flood lasted {lasted:?}"
        );

        // Then several bursts at once, each in its own room.
        let mut floods = JoinSet::new();
        for i in 0..6 {
            floods.spawn(flood(
                addr,
                format!("flooder{i}"),
                format!("flood-room-{i}"),
            ));
        }
        while let Some(done) = next_done(&mut floods, "floods to end").await {
            let (accepted, limited) = done.unwrap();
            assert!(
                accepted >= burst - 1 && limited == burst,
                "{accepted} / {limited}"
            );
        }
        witnesses.finish("flood", DURING_ATTACK).await;
        health_check(addr, "flood", baseline).await;
        server.finish().await;
    });
}
