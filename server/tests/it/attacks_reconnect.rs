//! The per-address memory of the server: reconnecting refills nothing
//! (`[FLOW-5]`), and an address that connects too fast is refused
//! (`[LIMIT-3]`).

use crate::common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::*;
use confab_protocol::frame::{Frame, Hello};
use confab_protocol::ErrorCode;
use confab_server::Config;
use tokio::time::Instant;

/// One round of the reconnect flood: connect from `local`, log in, join,
/// flood until cut. Returns the ACKs it got, or None when refused at the door.
async fn one_round(addr: SocketAddr, local: IpAddr, round: u32) -> Option<u32> {
    let mut client = Client::connect_from(addr, local).await;
    match client.recv().await {
        Frame::Greeting(_) => {}
        Frame::ErrorFrame(e) => {
            assert_eq!(e.code, ErrorCode::TOO_MANY_CONNECTIONS, "{e:?}");
            return None;
        }
        other => panic!("expected GREETING, got {other:?}"),
    }
    client
        .login_as(&format!("reflood{round}"), Hello::NO_AUTO_JOIN)
        .await;
    client.join("target", 0, 0).await;
    let _ = client
        .try_write_raw(&sends("target", 400, |_| "spam".to_string()))
        .await;
    let (frames, _) = client.read_to_end_within(PATIENCE).await;
    Some(frames.iter().filter(|f| matches!(f, Frame::Ack(_))).count() as u32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_flood_gets_a_bounded_number_of_messages_into_a_room() {
    // spec: FLOW-5, FLOW-2, LIMIT-3
    let config = Config::default();
    let limits = config.limits();
    let share = config.per_ip_share;
    let server = TestServer::start(config).await;
    let addr = server.addr;
    let mut witness = Client::login_flags(addr, "witness", Hello::NO_AUTO_JOIN).await;
    witness.enter("target", 0, 0).await;

    let attacker = IpAddr::from([127, 0, 0, 2]);
    let started = Instant::now();
    let flood_for = Duration::from_secs(4);
    let (mut rounds, mut refused, mut acked) = (0u32, 0u32, 0u32);
    while started.elapsed() < flood_for {
        match one_round(addr, attacker, rounds).await {
            Some(acks) => acked += acks,
            None => refused += 1,
        }
        rounds += 1;
    }
    let lasted = started.elapsed().as_secs_f64();

    // What reached the room: everything before the witness's own message.
    let marker = witness.say("target", "counted").await;
    let mut delivered = 0u32;
    loop {
        match witness.recv_skipping_presence().await {
            Frame::Message(m) => {
                assert!(m.sender.starts_with("reflood"), "{m:?}");
                delivered += 1;
            }
            Frame::Ack(ack) if ack.client_ref == marker => break,
            other => panic!("witness: unexpected {other:?}"),
        }
    }
    // The address's share: its burst, plus its rate for as long as it lasted.
    let bound = (f64::from(limits.msg_burst * share)
        + f64::from(limits.msg_rate * share) * (lasted + 1.0)) as u32;
    eprintln!(
        "reconnect flood: {rounds} connections ({refused} refused at the door) in {lasted:.1} s: \
         {delivered} messages in the room, {acked} ACKs; bound {bound}"
    );
    assert_eq!(delivered, acked, "every delivered message was ACKed");
    assert!(
        delivered <= bound,
        "{delivered} messages from one address in {lasted:.1} s; at most {bound}"
    );
    // The witness, from another address, is unaffected.
    let mut other = Client::login_flags(addr, "other", Hello::NO_AUTO_JOIN).await;
    other.enter("target", 0, 0).await;
    chat_works(&mut witness, &mut other, "target", "still fine").await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_connects_too_fast_is_refused_and_others_are_not() {
    // spec: LIMIT-3, LIMIT-1
    let server = TestServer::start(Config {
        connect_rate: 1,
        connect_burst: 5,
        ..Config::default()
    })
    .await;
    let addr = server.addr;
    let hasty = IpAddr::from([127, 0, 0, 3]);
    let started = Instant::now();
    let (mut admitted, mut refused) = (0u32, 0u32);
    let mut kept = Vec::new();
    for _ in 0..20 {
        let mut client = Client::connect_from(addr, hasty).await;
        match client.recv().await {
            Frame::Greeting(_) => {
                admitted += 1;
                kept.push(client);
            }
            Frame::ErrorFrame(e) => {
                assert_eq!(
                    (e.code, e.is_fatal(), e.frame_type, e.client_ref),
                    (ErrorCode::TOO_MANY_CONNECTIONS, true, 0, 0)
                );
                let (rest, ending) = client.read_to_end().await;
                assert!(
                    rest.is_empty() && ending == Ending::Eof,
                    "{rest:?} {ending:?}"
                );
                refused += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let bound = 5 + started.elapsed().as_secs() as u32 + 1;
    eprintln!("connect throttle: {admitted} admitted, {refused} refused");
    assert!(admitted >= 5, "the burst is admitted: {admitted}");
    assert!(admitted <= bound, "{admitted} admitted; at most {bound}");
    assert!(refused > 0);
    // Another address is not throttled by it.
    let mut other = Client::connect_from(addr, IpAddr::from([127, 0, 0, 4])).await;
    assert!(matches!(other.recv().await, Frame::Greeting(_)));
    drop(kept);
    server.finish().await;
}
