//! `[DM-4]`: many senders, each within its own limits, aim direct messages at
//! one slow reader. The senders are refused; the reader is never cut off.

use crate::common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::BytesMut;
use common::*;
use confab_protocol::frame::{Direct, Frame, Hello};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use confab_server::Config;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::{Decoder, FramedRead};

const BODY: usize = 4_000;
/// What the slow reader takes per 100 ms: 16 KiB/s.
const SIP: usize = 1_638;

/// What one attacker saw: ACKs, RECIPIENT_BUSY refusals, other ERRORs.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    acked: u32,
    busy: u32,
    other_errors: u32,
    cut: bool,
}

/// Sends a 4 KB DIRECT to `to` every 70 ms (about 57 KB/s, within the
/// default byte rate) for `duration`, reading the answers.
async fn aim(addr: SocketAddr, local: IpAddr, name: String, to: &str, duration: Duration) -> Seen {
    let mut client = Client::connect_from(addr, local).await;
    client.greet_and_login(&name, Hello::NO_AUTO_JOIN).await;
    let stream = client.framed.into_inner();
    let (read_half, mut write_half) = stream.into_split();
    let to = to.to_string();
    let writing = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let body = "x".repeat(BODY);
        let mut pace = tokio::time::interval(Duration::from_millis(70));
        let started = Instant::now();
        let mut client_ref = 0;
        while started.elapsed() < duration {
            pace.tick().await;
            client_ref += 1;
            let frame = wire(&Frame::Direct(Direct {
                client_ref,
                to: Str8::truncated(&to),
                body: Str16::truncated(&body),
            }));
            if write_half.write_all(&frame).await.is_err() {
                break;
            }
        }
        write_half
    });
    let mut seen = Seen::default();
    let mut frames = FramedRead::new(read_half, FrameCodec::new(1 << 20));
    let deadline = Instant::now() + duration + Duration::from_secs(2);
    loop {
        match tokio::time::timeout_at(deadline, frames.next()).await {
            Ok(Some(Ok(Frame::Ack(_)))) => seen.acked += 1,
            Ok(Some(Ok(Frame::ErrorFrame(e)))) if e.code == ErrorCode::RECIPIENT_BUSY => {
                assert!(!e.is_fatal());
                seen.busy += 1
            }
            Ok(Some(Ok(Frame::ErrorFrame(_)))) => seen.other_errors += 1,
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_))) | Ok(None) => {
                seen.cut = true;
                break;
            }
            Err(_) => break,
        }
    }
    let _ = writing.await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_from_many_senders_cannot_cut_a_slow_reader() {
    // spec: DM-4, FLOW-3
    let config = Config {
        // A smaller queue, so that without the rule the reader would be
        // cut within the attack's few seconds.
        queue_depth: 1_024,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let addr = server.addr;

    let mut slow = Client::connect_small_buffer(addr, 4_096).await;
    slow.greet_and_login("slowpoke", Hello::NO_AUTO_JOIN).await;
    let mut friend = Client::login_flags(addr, "friend", Hello::NO_AUTO_JOIN).await;
    let mut stream = slow.framed.into_inner();

    const ADDRESSES: u8 = 8;
    const PER_ADDRESS: usize = 6;
    let attack = Duration::from_secs(4);
    let mut attackers = JoinSet::new();
    for a in 0..ADDRESSES {
        for c in 0..PER_ADDRESS {
            let local = IpAddr::from([127, 0, 0, 2 + a]);
            attackers.spawn(aim(addr, local, format!("aim{a}x{c}"), "slowpoke", attack));
        }
    }

    // The reader sips 16 KiB/s while the attack lasts...
    let mut codec = FrameCodec::new(1 << 20);
    let mut buf = BytesMut::new();
    let mut received = 0u32;
    let mut chunk = vec![0u8; SIP];
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    let started = Instant::now();
    let mut ended: Option<String> = None;
    let mut take = |buf: &mut BytesMut, received: &mut u32| -> Option<String> {
        while let Some(frame) = codec.decode(buf).expect("decodes") {
            match frame {
                Frame::DirectMessage(m) if m.body.as_str() == "marker" => {
                    return Some("marker".into())
                }
                Frame::DirectMessage(_) => *received += 1,
                Frame::ErrorFrame(e) => return Some(format!("{e:?}")),
                _ => {}
            }
        }
        None
    };
    while started.elapsed() < attack + Duration::from_secs(1) && ended.is_none() {
        pace.tick().await;
        match tokio::time::timeout(Duration::from_millis(50), stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => ended = Some("closed".into()),
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                ended = take(&mut buf, &mut received);
            }
            Err(_) => {}
        }
    }
    let mut seen = Seen::default();
    while let Some(done) = crate::common::within_for(
        crate::common::PATIENCE * 3,
        "attackers to end",
        attackers.join_next(),
    )
    .await
    {
        let s = done.unwrap();
        seen.acked += s.acked;
        seen.busy += s.busy;
        seen.other_errors += s.other_errors;
        seen.cut |= s.cut;
    }
    // ...then reads at full speed until its friend's message arrives.
    friend.dm("slowpoke", "marker").await;
    let mut chunk = vec![0u8; 1 << 16];
    let deadline = Instant::now() + PATIENCE;
    while ended.is_none() {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => ended = Some("closed".into()),
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                ended = take(&mut buf, &mut received);
            }
            Err(_) => ended = Some("no marker in time".into()),
        }
    }
    eprintln!(
        "targeted: {} senders from {ADDRESSES} addresses: {seen:?}; the reader got {received} direct messages, then {ended:?}",
        usize::from(ADDRESSES) * PER_ADDRESS
    );
    assert_eq!(ended.as_deref(), Some("marker"), "the slow reader was cut");
    assert!(seen.busy > 0, "the senders were refused: {seen:?}");
    assert!(!seen.cut, "no sender was cut for it: {seen:?}");
    assert_eq!(received, seen.acked, "every ACKed message was delivered");
    server.finish().await;
}
