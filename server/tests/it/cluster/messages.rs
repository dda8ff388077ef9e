//! Room messages across the nodes of a cluster (spec section 22): one
//! contiguous `seq` per room, every message once to every member on every
//! node, in each sender's order, never echoed.

use std::collections::{BTreeMap, HashMap};

use confab_protocol::frame::{Direction, Frame, HistoryKind};

use super::harness::RedisServer as Redis;
use super::*;

/// `count` in-process nodes of one cluster, named a, b, c...
pub async fn nodes(redis: &Redis, count: usize) -> Vec<TestServer> {
    let mut nodes = Vec::new();
    for i in 0..count {
        let name = ((b'a' + i as u8) as char).to_string();
        let url = redis.url();
        nodes.push(
            TestServer::with(|c| {
                c.cluster = Some(url);
                c.node_name = Some(name);
            })
            .await,
        );
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_clients_on_three_nodes_get_every_message_once_in_order() {
    // spec: CLUSTER-1, MSG-1, MSG-3, MSG-4, MSG-5
    const CLIENTS: usize = 30;
    const EACH: u32 = 100;
    let redis = Redis::start();
    let nodes = nodes(&redis, 3).await;
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let addr = nodes[i % nodes.len()].addr;
        let mut client = Client::login(addr, &format!("u{i}")).await;
        let (next_seq, _) = client.enter("hall", 0, 0).await;
        assert_eq!(next_seq, 1, "nothing was said in hall yet");
        clients.push(client);
    }
    // Everyone sends at once, each message as fast as its node takes it.
    let mut tasks = Vec::new();
    for (i, mut client) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let me = format!("u{i}");
            for n in 0..EACH {
                client.say("hall", &format!("{me}:{n}")).await;
            }
            let mut acked = Vec::new();
            let mut heard: BTreeMap<u64, (String, u32)> = BTreeMap::new();
            let expected = (CLIENTS - 1) * EACH as usize;
            while acked.len() < EACH as usize || heard.len() < expected {
                match client.recv_skipping_presence().await {
                    Frame::Ack(ack) => acked.push(ack.seq),
                    Frame::Message(m) => {
                        assert_ne!(m.sender.as_str(), me, "no echo (MSG-1)");
                        let (sender, n) = m.body.split_once(':').unwrap();
                        let n: u32 = n.parse().unwrap();
                        let first = heard.insert(m.seq, (sender.to_string(), n));
                        assert!(first.is_none(), "{me}: seq {} twice", m.seq);
                    }
                    other => panic!("{me}: unexpected {other:?}"),
                }
            }
            (me, acked, heard)
        }));
    }
    let mut all_seqs: Vec<u64> = Vec::new();
    for task in tasks {
        let (me, acked, heard) = within("every client to hear everyone", task).await.unwrap();
        // Each sender's messages in the order it sent them (MSG-5).
        let mut last: HashMap<String, u32> = HashMap::new();
        for (sender, n) in heard.values() {
            if let Some(previous) = last.insert(sender.clone(), *n) {
                assert!(*n > previous, "{me}: {sender}'s {n} after {previous}");
            }
        }
        // What it heard and what it sent make the whole room, once each.
        let mut seqs: Vec<u64> = heard.keys().copied().chain(acked.iter().copied()).collect();
        seqs.sort_unstable();
        let total = CLIENTS as u64 * u64::from(EACH);
        assert_eq!(
            seqs,
            (1..=total).collect::<Vec<_>>(),
            "{me}: one contiguous seq"
        );
        all_seqs.extend(acked);
    }
    all_seqs.sort_unstable();
    let total = CLIENTS as u64 * u64::from(EACH);
    assert_eq!(
        all_seqs,
        (1..=total).collect::<Vec<_>>(),
        "each seq ACKed once"
    );
    for node in nodes {
        node.finish().await;
    }
}

#[tokio::test]
async fn history_and_replay_read_the_same_log_from_any_node() {
    // spec: CLUSTER-1, ROOM-2, ROOM-3, HISTORY-1
    let redis = Redis::start();
    let nodes = nodes(&redis, 3).await;
    let mut alice = Client::login(nodes[0].addr, "alice").await;
    alice.enter("den", 0, 0).await;
    for n in 1..=12 {
        let client_ref = alice.say("den", &format!("m{n}")).await;
        assert_eq!(alice.expect_ack(client_ref).await.seq, n);
    }
    // A newcomer on b resumes after seq 4: 5..=12 replayed, then live.
    let mut bob = Client::login(nodes[1].addr, "bob").await;
    let (next_seq, replay) = bob.enter("den", 4, 50).await;
    assert_eq!(next_seq, 13);
    let replayed: Vec<u64> = replay
        .iter()
        .filter_map(|f| match f {
            Frame::Message(m) => Some(m.seq),
            _ => None,
        })
        .collect();
    assert_eq!(replayed, (5..=12).collect::<Vec<_>>());
    let client_ref = alice.say("den", "live").await;
    alice.expect_ack(client_ref).await;
    let live = bob.expect_message().await;
    assert_eq!((live.seq, live.body.as_str()), (13, "live"));
    // HISTORY pages on c, oldest first, with MORE until the start.
    let mut carol = Client::login(nodes[2].addr, "carol").await;
    carol.enter("den", 0, 0).await;
    carol
        .history(HistoryKind::Room, "den", Direction::Before, 6, 3)
        .await;
    let mut page = Vec::new();
    loop {
        match carol.recv_skipping_presence().await {
            Frame::Message(m) => page.push(m.seq),
            Frame::HistoryEnd(end) => {
                assert_ne!(end.flags & confab_protocol::frame::HistoryEnd::MORE, 0);
                break;
            }
            other => panic!("carol: unexpected {other:?}"),
        }
    }
    assert_eq!(page, [3, 4, 5]);
    drop((alice, bob, carol));
    for node in nodes {
        node.finish().await;
    }
}
