//! Attack 2, slowloris: connections that dawdle before logging in.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use confab_protocol::frame::{Frame, Hello, Login};
use confab_protocol::{ErrorCode, FrameCodec, Str8};
use confab_server::Config;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use crate::common::{
    assert_fatal_end, fast_config, unique_name, Client, Ending, TestServer, PATIENCE,
};
use crate::malformed_inputs::hello_bytes;
use crate::support::*;
use crate::{attack, DURING_ATTACK};

/// How a slowloris connection behaves after the GREETING.
#[derive(Debug, Clone, Copy)]
enum Sloth {
    Silent,
    /// HELLO, one byte at a time.
    DribbleHello,
    /// HELLO at once, then LOGIN one byte at a time.
    DribbleLogin,
}

const DRIBBLE: Duration = Duration::from_millis(150);

/// Connects, reports admission, then dawdles until the server closes.
/// Returns the frames after the GREETING, how the stream ended and how long
/// the server kept the connection.
async fn slowloris(
    addr: SocketAddr,
    kind: Sloth,
    admitted: mpsc::Sender<()>,
) -> (Vec<Frame>, Ending, Duration) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let accepted = Instant::now();
    let (read_half, mut write_half) = stream.into_split();
    let mut frames = FramedRead::new(read_half, FrameCodec::new(1 << 20));
    match tokio::time::timeout(PATIENCE, frames.next()).await {
        Ok(Some(Ok(Frame::Greeting(_)))) => {}
        other => panic!("slowloris {kind:?}: expected GREETING, got {other:?}"),
    }
    match tokio::time::timeout(PATIENCE, frames.next()).await {
        Ok(Some(Ok(Frame::ServerLimits(_)))) => {}
        other => panic!("slowloris {kind:?}: expected LIMITS (LIMITS-1), got {other:?}"),
    }
    crate::common::within("the report of admission", admitted.send(()))
        .await
        .unwrap();
    let login = Frame::Login(Login::guest(Str8::new("sloth").unwrap()))
        .to_bytes()
        .to_vec();
    let script = match kind {
        Sloth::Silent => Vec::new(),
        Sloth::DribbleHello => hello_bytes(0),
        Sloth::DribbleLogin => {
            let _ = write_half.write_all(&hello_bytes(0)).await;
            login
        }
    };
    let mut pace = tokio::time::interval(DRIBBLE);
    let mut sent = 0;
    let deadline = Instant::now() + PATIENCE;
    let mut received = Vec::new();
    let ending = loop {
        tokio::select! {
            next = frames.next() => match next {
                Some(Ok(frame)) => received.push(frame),
                Some(Err(e)) => break Ending::Broken(e.to_string()),
                None => break Ending::Eof,
            },
            _ = pace.tick(), if sent < script.len() => {
                let _ = write_half.write_all(&script[sent..sent + 1]).await;
                sent += 1;
            }
            _ = tokio::time::sleep_until(deadline) => break Ending::Open,
        }
    };
    (received, ending, accepted.elapsed())
}

/// A newcomer past a limit: the fatal ERROR `code` instead of GREETING, then EOF.
pub(crate) async fn refused(addr: SocketAddr, local: Option<IpAddr>, code: ErrorCode) {
    let mut conn = match local {
        Some(ip) => Client::connect_from(addr, ip).await,
        None => Client::connect_raw(addr).await,
    };
    let (frames, ending) = conn.read_to_end_within(PATIENCE).await;
    // spec: LIMIT-1 — an ERROR, never a silent close.
    assert_fatal_end("newcomer", &frames, &ending, code);
    let Some(Frame::ErrorFrame(error)) = frames.first() else {
        unreachable!()
    };
    assert_eq!((error.frame_type, error.client_ref), (0, 0), "{error:?}");
}

#[test]
fn slowloris_connections_are_dropped_and_the_login_queue_stays_open() {
    // spec: SEC-7, HANDSHAKE-8, LIMIT-1, HANDSHAKE-1
    attack(|| async {
        const SLOTS: usize = 50;
        let server = TestServer::start(Config {
            handshake_timeout_ms: 1_000,
            max_unauthenticated: SLOTS,
            ..fast_config()
        })
        .await;
        let addr = server.addr;
        // Logged in: they do not count against --max-unauthenticated.
        let witnesses = Witnesses::start(addr, BRISK_PACE).await;
        let baseline = rss_bytes();
        let (mut shortest, mut longest) = (Duration::MAX, Duration::ZERO);
        for wave in 0..3 {
            let (admitted_tx, mut admitted) = mpsc::channel(SLOTS);
            let mut sloths = JoinSet::new();
            for i in 0..SLOTS {
                let kind = [Sloth::Silent, Sloth::DribbleHello, Sloth::DribbleLogin][i % 3];
                let tx = admitted_tx.clone();
                sloths.spawn(async move { (kind, slowloris(addr, kind, tx).await) });
            }
            for _ in 0..SLOTS {
                tokio::time::timeout(PATIENCE, admitted.recv())
                    .await
                    .expect("every slowloris connection is admitted")
                    .unwrap();
            }
            // Every slot is held: newcomers are refused, honest ones too.
            let mut newcomers = JoinSet::new();
            for _ in 0..SLOTS {
                newcomers.spawn(refused(addr, None, ErrorCode::SERVER_FULL));
            }
            while let Some(done) = next_done(&mut newcomers, "newcomers to end").await {
                done.expect("a refused newcomer got an ERROR SERVER_FULL");
            }
            // The handshake timeout drops every slowloris connection.
            while let Some(done) = next_done(&mut sloths, "sloths to end").await {
                let (kind, (frames, ending, held)) = done.unwrap();
                let who = format!("wave {wave}: slowloris {kind:?}");
                assert_fatal_end(&who, &frames, &ending, ErrorCode::HANDSHAKE_TIMEOUT);
                assert!(
                    held >= Duration::from_millis(900) && held < Duration::from_millis(3_000),
                    "{who}: held {held:?} with a 1 s handshake timeout"
                );
                shortest = shortest.min(held);
                longest = longest.max(held);
            }
            // Slots free up: an honest client gets in and logs in at once.
            let (mut honest, attempts) = connect_when_admitted(addr, None).await;
            let name = unique_name("honest");
            honest.hello_flags(Hello::NO_AUTO_JOIN).await;
            honest
                .send(Frame::Login(Login::guest(Str8::new(&name).unwrap())))
                .await;
            match honest.recv_skipping_presence().await {
                Frame::Welcome(_) => {}
                other => panic!("wave {wave}: honest client got {other:?}"),
            }
            eprintln!("slowloris wave {wave}: honest client admitted after {attempts} attempt(s)");
        }
        eprintln!("slowloris: connections held {shortest:?} to {longest:?}");
        witnesses.finish("slowloris", DURING_ATTACK).await;
        health_check(addr, "slowloris", baseline).await;
        server.finish().await;
    });
}
