//! A cluster's failures (spec section 22): a node killed with `kill -9`, a
//! node shut down, Redis restarted. Nothing acknowledged is lost, nothing
//! is delivered twice, and gaps are filled.

use std::collections::BTreeSet;
use std::time::Duration;

use confab_protocol::frame::{Frame, LoginMode};
use confab_protocol::ErrorCode;

use super::harness::RedisServer as Redis;
use super::messages::nodes;
use super::*;
use crate::common::{Ending, ServerProcess};

/// A node as a process of its own, so it can be killed.
fn node_process(redis: &Redis, name: &str) -> ServerProcess {
    let url = redis.url();
    ServerProcess::start(&[
        "--cluster",
        &url,
        "--node-name",
        name,
        "--listen",
        "127.0.0.1:0",
        "--name-lease-ms",
        "900",
        "--history-max",
        "1000",
        "--msg-rate",
        "100000",
        "--msg-burst",
        "100000",
        "--byte-rate",
        "100000000",
        "--byte-burst",
        "100000000",
    ])
}

/// Sends `count` messages to `room`, `window` unanswered at most, and
/// returns the seqs of those ACKed (the others were refused `CLUSTER_UNAVAILABLE`).
async fn send_all(
    client: &mut Client,
    room: &str,
    label: &str,
    count: u32,
    window: u32,
) -> Vec<u64> {
    let mut acked = Vec::new();
    let mut answered = 0;
    let mut sent = 0;
    while answered < count {
        while sent < count && sent - answered < window {
            client.say(room, &format!("{label}:{sent}")).await;
            sent += 1;
        }
        match client.recv_skipping_presence().await {
            Frame::Ack(ack) => acked.push(ack.seq),
            Frame::ErrorFrame(e) if e.code == ErrorCode::CLUSTER_UNAVAILABLE => {}
            Frame::Message(_) => continue,
            other => panic!("{label}: unexpected {other:?}"),
        }
        answered += 1;
    }
    acked
}

/// Reads messages of `room` until `want` are all among the seqs seen;
/// every seq is seen once.
async fn hear_all(client: &mut Client, seen: &mut BTreeSet<u64>, want: &BTreeSet<u64>) {
    while !want.is_subset(seen) {
        match client.recv_skipping_presence().await {
            Frame::Message(m) => assert!(seen.insert(m.seq), "seq {} delivered twice", m.seq),
            Frame::Missed(m) => panic!("nothing may be missed: {m:?}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_load_loses_nothing_acknowledged() {
    // spec: CLUSTER-1, CLUSTER-5, MSG-2, ROOM-3
    let redis = Redis::start();
    let mut a = node_process(&redis, "a");
    let (b, c) = (node_process(&redis, "b"), node_process(&redis, "c"));
    let mut watcher = Client::login(a.addr, "watcher").await;
    watcher.enter("hall", 0, 0).await;
    let mut doomed = Client::login(a.addr, "doomed").await;
    doomed.enter("hall", 0, 0).await;
    let mut senders = Vec::new();
    for (i, addr) in [b.addr, c.addr].into_iter().enumerate() {
        let mut sender = Client::login(addr, &format!("s{i}")).await;
        sender.enter("hall", 0, 0).await;
        senders.push(sender);
    }
    // Before the kill: a's own sender is acknowledged, the others send.
    let mut acked: BTreeSet<u64> = send_all(&mut doomed, "hall", "doomed", 50, 10)
        .await
        .into_iter()
        .collect();
    let mut load = Vec::new();
    for (i, mut sender) in senders.into_iter().enumerate() {
        load.push(tokio::spawn(async move {
            // 250 messages in all: what the watcher misses fits one replay
            // (history_max is 248 with the default queue).
            let seqs = send_all(&mut sender, "hall", &format!("s{i}"), 100, 10).await;
            (sender, seqs)
        }));
    }
    let mut seen = BTreeSet::new();
    while seen.len() < 60 {
        if let Frame::Message(m) = watcher.recv_skipping_presence().await {
            seen.insert(m.seq);
        }
    }
    a.kill();
    let (_, ending) = watcher.read_to_end().await;
    assert_ne!(ending, Ending::Open);
    for task in load {
        let (_, seqs) = within("the senders on b and c", task).await.unwrap();
        assert_eq!(seqs.len(), 100, "b and c acknowledge everything");
        acked.extend(seqs);
    }
    // The watcher comes back on b once a's lease on its name ran out.
    let mut watcher = within_for(Duration::from_secs(15), "a's names to be freed", async {
        loop {
            let mut client = Client::connect_raw(b.addr).await;
            client.expect_greeting().await;
            client.hello().await;
            client
                .send(crate::common::login_frame(LoginMode::Guest, "watcher", ""))
                .await;
            match client.recv().await {
                Frame::Welcome(_) => break client,
                Frame::LoginRejected(r) => assert_eq!(r.code, ErrorCode::NAME_TAKEN),
                other => panic!("watcher: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    // The auto-join of the default room comes first (HANDSHAKE-7).
    watcher.expect_joined("lobby").await;
    let contiguous = (1..).take_while(|s| seen.contains(s)).last().unwrap_or(0);
    let (_, replay) = watcher.enter("hall", contiguous, 1000).await;
    for frame in replay {
        if let Frame::Message(m) = frame {
            assert!(
                seen.insert(m.seq) || m.seq <= contiguous,
                "seq {} replayed twice",
                m.seq
            );
        }
    }
    hear_all(&mut watcher, &mut seen, &acked).await;
    let last = *seen.last().unwrap();
    assert_eq!(seen, (1..=last).collect(), "one contiguous seq, no gap");
    drop((b, c));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_load_loses_nothing_and_gaps_are_filled() {
    // spec: CLUSTER-3, MSG-2, MSG-4
    let mut redis = Redis::start();
    let nodes = nodes(&redis, 3).await;
    let mut alice = Client::login(nodes[0].addr, "alice").await;
    alice.enter("hall", 0, 0).await;
    let mut bob = Client::login(nodes[1].addr, "bob").await;
    bob.enter("hall", 0, 0).await;
    let mut carol = Client::login(nodes[2].addr, "carol").await;
    carol.enter("hall", 0, 0).await;
    let mut acked: BTreeSet<u64> = send_all(&mut alice, "hall", "before", 100, 10)
        .await
        .into_iter()
        .collect();
    assert_eq!(acked.len(), 100);
    let load = tokio::spawn(async move {
        let seqs = send_all(&mut alice, "hall", "during", 300, 10).await;
        (alice, seqs)
    });
    redis.kill();
    redis.restart();
    let (mut alice, seqs) = within("alice's load", load).await.unwrap();
    acked.extend(seqs);
    // After the outage every send is acknowledged again: the node recovered.
    let after = send_all(&mut alice, "hall", "after", 20, 1).await;
    assert_eq!(after.len(), 20, "acknowledged again once Redis is back");
    acked.extend(after);
    let mut seen = BTreeSet::new();
    hear_all(&mut bob, &mut seen, &acked).await;
    let last = *seen.last().unwrap();
    assert_eq!(
        seen,
        (1..=last).collect(),
        "one contiguous seq, no gap, none twice"
    );
    drop((alice, bob));
    for node in nodes {
        node.finish().await;
    }
}

#[tokio::test]
async fn a_node_shut_down_sends_its_clients_elsewhere() {
    // spec: CLUSTER-4, CLOSE-2, PRESENCE-2
    let redis = Redis::start();
    let mut a = node_process(&redis, "a");
    let b = node_process(&redis, "b");
    let mut alice = Client::login(a.addr, "alice").await;
    alice.enter("den", 0, 0).await;
    let mut bob = Client::login(b.addr, "bob").await;
    bob.enter("den", 0, 0).await;
    crate::common::expect_presence(
        &mut alice,
        confab_protocol::frame::PresenceEvent::Joined,
        "den",
        "bob",
    )
    .await;
    let status = tokio::task::spawn_blocking(move || (a.terminate(), a))
        .await
        .unwrap();
    assert!(status.0.success(), "{:?}", status.0);
    let (frames, _) = alice.read_to_end().await;
    match frames.last() {
        Some(Frame::Goodbye(goodbye)) => assert_eq!(goodbye.reason, ErrorCode::NODE_LEAVING),
        other => panic!("alice: expected GOODBYE NODE_LEAVING last, got {other:?}"),
    }
    // b hears alice leave at once, not a lease later.
    crate::common::expect_presence(
        &mut bob,
        confab_protocol::frame::PresenceEvent::Disconnected,
        "den",
        "alice",
    )
    .await;
    drop(bob);
}

#[tokio::test]
async fn while_redis_is_down_requests_are_refused_and_connections_kept() {
    // spec: CLUSTER-3, ERROR-1
    let mut redis = Redis::start();
    let nodes = nodes(&redis, 2).await;
    let mut alice = Client::login(nodes[0].addr, "alice").await;
    alice.enter("hall", 0, 0).await;
    let mut bob = Client::login(nodes[1].addr, "bob").await;
    bob.enter("hall", 0, 0).await;
    redis.kill();
    let client_ref = alice.say("hall", "into the void").await;
    let refused = alice.expect_error(ErrorCode::CLUSTER_UNAVAILABLE).await;
    assert_eq!(
        refused.client_ref, client_ref,
        "the refusal names the message"
    );
    alice.who("hall").await;
    alice.expect_error(ErrorCode::CLUSTER_UNAVAILABLE).await;
    alice.list_rooms().await;
    alice.expect_error(ErrorCode::CLUSTER_UNAVAILABLE).await;
    alice.join("elsewhere", 0, 0).await;
    alice.expect_error(ErrorCode::CLUSTER_UNAVAILABLE).await;
    // Back: the same connections work again, without reconnecting.
    redis.kill();
    redis.restart();
    let acked = within_for(Duration::from_secs(20), "the node to recover", async {
        loop {
            let client_ref = alice.say("hall", "back").await;
            match alice.recv_skipping_presence().await {
                Frame::Ack(ack) if ack.client_ref == client_ref => break ack,
                Frame::ErrorFrame(e) if e.code == ErrorCode::CLUSTER_UNAVAILABLE => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => panic!("alice: unexpected {other:?}"),
            }
        }
    })
    .await;
    let mut seen = BTreeSet::new();
    hear_all(&mut bob, &mut seen, &BTreeSet::from([acked.seq])).await;
    drop((alice, bob));
    for node in nodes {
        node.finish().await;
    }
}
