//! Section 22 from the outside in: real `confab --plain` processes against
//! real in-process `confab-server` nodes sharing one real `redis-server`,
//! all on 127.0.0.1.

#[path = "support/real_cluster.rs"]
mod real_cluster;
mod support;

use real_cluster::{Node, Redis};
use support::{bodies_from, Launch, PlainClient, Stderr};

fn capture() -> Launch<'static> {
    Launch {
        stderr: Stderr::Capture,
        ..Launch::default()
    }
}

/// `client` after its first output line that satisfies `wanted`; should
/// its output end or the wait run out instead, the test fails with the
/// client's exit code and stderr (after a failover: why it gave up).
async fn expect(mut client: PlainClient, wanted: impl Fn(&str) -> bool) -> PlainClient {
    use futures_util::FutureExt;
    let waited = std::panic::AssertUnwindSafe(client.until(wanted))
        .catch_unwind()
        .await;
    if waited.is_err() {
        let name = client.name.clone();
        let (code, out, err) = client.finish().await;
        panic!("{name} exited {code}; stderr: {err:?}; stdout: {out:#?}");
    }
    client
}

/// Bob's numbered lines `from..=to`, typed one after the other.
async fn numbered(bob: &mut PlainClient, from: u32, to: u32) {
    for n in from..=to {
        bob.line(&format!("m{n}")).await;
    }
}

fn expected(to: u32) -> Vec<String> {
    (1..=to).map(|n| format!("m{n}")).collect()
}

/// The server named in a `*** connected to ADDR (SERVER)` line.
fn server_of(connected: &str) -> &str {
    let (_, rest) = connected
        .split_once(" (")
        .expect("connected to ADDR (SERVER)");
    rest.strip_suffix(')').expect("connected to ADDR (SERVER)")
}

#[tokio::test]
async fn a_leaving_node_hands_alice_to_the_next_without_a_gap_or_a_duplicate() {
    // spec: CLUSTER-4, CLUSTER-1
    let redis = Redis::start("failover");
    let node_a = Node::start(&redis, "node-a").await;
    let node_b = Node::start(&redis, "node-b").await;
    // Bob on a third node: every message crosses the cluster, before and after.
    let node_c = Node::start(&redis, "node-c").await;
    let list = format!("{},{}", node_a.addr, node_b.addr);
    let b_addr = node_b.addr.clone();
    // A minute's backoff: only a reconnection "at once" is done in time.
    let args = ["--name", "alice", "--reconnect-initial-ms", "60000"];
    let mut alice = PlainClient::spawn_with(&list, &args, "alice", capture());
    let on_a = format!("*** connected to {} (", node_a.addr);
    let connected = alice.until(|l| l.starts_with(&on_a)).await;
    let a_server = server_of(&connected).to_string();
    assert!(a_server.ends_with("node node-a"), "{a_server}");
    alice.until(|l| l == "*** joined lobby (1 here)").await;
    let mut bob = PlainClient::spawn_with(&node_c.addr, &["--name", "bob"], "bob", capture());
    bob.until(|l| l.starts_with("*** joined lobby")).await;
    alice.until(|l| l == "*** bob joined lobby").await;

    // Before: through node A.
    numbered(&mut bob, 1, 20).await;
    alice.until(|l| l.ends_with("] bob: m20")).await;

    // During: bob keeps typing while node A says goodbye and alice moves.
    tokio::join!(numbered(&mut bob, 21, 60), node_a.stop());
    // The node, as its GREETING's server field ends: "node node-a".
    let leaving = format!("*** disconnected: node node-a is leaving; reconnecting to {b_addr}");
    alice.until(|l| l == leaving).await;
    let on_b = format!("*** connected to {b_addr} (");
    alice.until(|l| l.starts_with(&on_b)).await;
    // The first join was alone; this one counts bob, on node C.
    let mut alice = expect(alice, |l| l == "*** joined lobby (2 here)").await;

    // After: through node B.
    numbered(&mut bob, 61, 80).await;
    alice.until(|l| l.ends_with("] bob: m80")).await;

    let (code, out, err) = bob.finish().await;
    assert_eq!(code, 0, "bob: {out:?} {err}");
    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 0, "alice: {out:?} {err}");
    assert_eq!(
        bodies_from(&out, "bob"),
        expected(80),
        "each once, in order: {out:#?}"
    );
    // One departure, one move: no failed attempt, no second hop.
    let count = |prefix: &str| out.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("*** disconnected"), 1, "{out:#?}");
    assert_eq!(count("*** reconnect failed"), 0, "{out:#?}");
    assert_eq!(count("*** connected to"), 2, "{out:#?}");
    assert!(err.is_empty(), "nothing went wrong: {err}");
    node_b.stop().await;
    node_c.stop().await;
}

#[tokio::test]
async fn what_alice_types_while_her_node_leaves_reaches_bob_once_in_order() {
    // spec: CLUSTER-4, CLUSTER-1
    let redis = Redis::start("outbox");
    let node_a = Node::start(&redis, "node-a").await;
    let node_b = Node::start(&redis, "node-b").await;
    let list = format!("{},{}", node_a.addr, node_b.addr);
    let args = ["--name", "alice", "--reconnect-initial-ms", "60000"];
    let mut alice = PlainClient::spawn_with(&list, &args, "alice", capture());
    alice.until(|l| l == "*** joined lobby (1 here)").await;
    let mut bob = PlainClient::spawn_with(&node_b.addr, &["--name", "bob"], "bob", capture());
    bob.until(|l| l.starts_with("*** joined lobby")).await;
    alice.until(|l| l == "*** bob joined lobby").await;

    numbered(&mut alice, 1, 20).await;
    bob.until(|l| l.ends_with("] alice: m20")).await;
    // Some of these are in flight, acknowledged or not, when node A says
    // goodbye: each is sent again on node B only if it was not stored.
    tokio::join!(numbered(&mut alice, 21, 60), node_a.stop());
    let on_b = format!("*** connected to {} (", node_b.addr);
    alice.until(|l| l.starts_with(&on_b)).await;
    // Typed at once: some while alice logs in on node B (they wait for it).
    numbered(&mut alice, 61, 80).await;
    let alice = expect(alice, |l| l == "*** joined lobby (2 here)").await;
    bob.until(|l| l.ends_with("] alice: m80")).await;

    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 0, "alice: {out:?} {err}");
    assert!(err.is_empty(), "nothing reported unsent: {err}");
    let (code, out, err) = bob.finish().await;
    assert_eq!(code, 0, "bob: {out:?} {err}");
    assert_eq!(
        bodies_from(&out, "alice"),
        expected(80),
        "each once, in order: {out:#?}"
    );
    node_b.stop().await;
}

/// Found by the two failover tests above, which failed now and then with
/// alice's client exiting 3, "name refused: the name "alice" is taken": a
/// leaving node said GOODBYE NODE_LEAVING while freeing its names in Redis
/// ran beside it, so the reconnection "at once" could reach the next node
/// before the name was free there. Now the node frees its names first. A
/// slower link from node A to Redis made the race certain.
#[tokio::test]
async fn a_leaving_node_frees_alices_name_before_sending_her_away() {
    // spec: CLUSTER-4, CLUSTER-1
    let redis = Redis::start("names");
    let slow = real_cluster::slow_link(&redis, std::time::Duration::from_millis(300)).await;
    let node_a = Node::start_at(slow, "node-a").await;
    let node_b = Node::start(&redis, "node-b").await;
    let list = format!("{},{}", node_a.addr, node_b.addr);
    let args = ["--name", "alice", "--reconnect-initial-ms", "60000"];
    let mut alice = PlainClient::spawn_with(&list, &args, "alice", capture());
    alice.until(|l| l == "*** joined lobby (1 here)").await;
    // Bob on node B, so that alice's join there reads apart from her first.
    let mut bob = PlainClient::spawn_with(&node_b.addr, &["--name", "bob"], "bob", capture());
    bob.until(|l| l.starts_with("*** joined lobby")).await;
    alice.until(|l| l == "*** bob joined lobby").await;
    node_a.stop().await;
    let alice = expect(alice, |l| l == "*** joined lobby (2 here)").await;
    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 0, "{out:?} {err}");
    let (code, out, err) = bob.finish().await;
    assert_eq!(code, 0, "{out:?} {err}");
    node_b.stop().await;
}

#[tokio::test]
async fn alice_on_one_node_and_bob_on_another_chat_and_see_each_other() {
    // spec: CLUSTER-1
    let redis = Redis::start("chat");
    let node_a = Node::start(&redis, "node-a").await;
    let node_b = Node::start(&redis, "node-b").await;
    let mut alice = PlainClient::spawn_with(&node_a.addr, &["--name", "alice"], "alice", capture());
    alice.until(|l| l == "*** joined lobby (1 here)").await;
    let mut bob = PlainClient::spawn_with(&node_b.addr, &["--name", "bob"], "bob", capture());
    bob.until(|l| l == "*** joined lobby (2 here)").await;
    alice.until(|l| l == "*** bob joined lobby").await;

    alice.line("hello from node-a").await;
    bob.until(|l| l.ends_with("] alice: hello from node-a"))
        .await;
    bob.line("hello from node-b").await;
    alice
        .until(|l| l.ends_with("] bob: hello from node-b"))
        .await;

    // The room's members, then everyone online, wherever each is connected.
    alice.line("/who lobby").await;
    alice.until(|l| l == "*** in lobby: alice, bob").await;
    bob.line("/who lobby").await;
    bob.until(|l| l == "*** in lobby: alice, bob").await;
    alice.line("/who").await;
    alice.until(|l| l == "*** online: alice, bob").await;

    let (code, out, err) = bob.finish().await;
    assert_eq!(code, 0, "bob: {out:?} {err}");
    alice
        .until(|l| l == "*** bob disconnected from lobby")
        .await;
    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 0, "alice: {out:?} {err}");
    assert_eq!(bodies_from(&out, "bob"), ["hello from node-b"], "{out:#?}");
    node_a.stop().await;
    node_b.stop().await;
}

#[tokio::test]
async fn a_direct_message_crosses_from_one_node_to_another() {
    // spec: CLUSTER-1, DM-1
    let redis = Redis::start("direct");
    let node_a = Node::start(&redis, "node-a").await;
    let node_b = Node::start(&redis, "node-b").await;
    let mut alice = PlainClient::spawn_with(&node_a.addr, &["--name", "alice"], "alice", capture());
    alice.until(|l| l.starts_with("*** joined lobby")).await;
    let mut bob = PlainClient::spawn_with(&node_b.addr, &["--name", "bob"], "bob", capture());
    bob.until(|l| l.starts_with("*** joined lobby")).await;

    alice.line("/msg bob psst, from node-a").await;
    bob.until(|l| l.ends_with("] alice -> bob: psst, from node-a"))
        .await;
    bob.line("/msg alice heard you on node-b").await;
    alice
        .until(|l| l.ends_with("] bob -> alice: heard you on node-b"))
        .await;

    let (code, out, err) = bob.finish().await;
    assert_eq!(code, 0, "bob: {out:?} {err}");
    let directs = out.iter().filter(|l| l.contains(" -> bob: ")).count();
    assert_eq!(directs, 1, "delivered once: {out:#?}");
    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 0, "alice: {out:?} {err}");
    let directs = out.iter().filter(|l| l.contains(" -> alice: ")).count();
    assert_eq!(directs, 1, "delivered once: {out:#?}");
    node_a.stop().await;
    node_b.stop().await;
}
