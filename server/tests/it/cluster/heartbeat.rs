//! The node's heartbeat (`[CLUSTER-5]`): it renews the leases of its key
//! and of its users' names, and ends a local session whose name another
//! node's user holds by then, so that no name is held twice
//! (`[CLUSTER-1]`).

use confab_protocol::frame::Frame;
use confab_protocol::names::user_key;
use confab_protocol::ErrorCode;
use redis::AsyncCommands;

use super::harness::{guest, Node, RedisServer, POLL};
use crate::common::PATIENCE;

/// The Redis key of a logged-in name (docs/cluster.md, "Names").
fn name_key(name: &str) -> String {
    format!("confab:name:{}", user_key(name))
}

#[tokio::test]
async fn a_names_key_says_node_and_connection_and_its_lease_is_renewed() {
    // spec: CLUSTER-5
    let redis = RedisServer::start();
    let mut a = Node::start(&redis, "a", &["--name-lease-ms", "3000"]);
    let ivan = guest(a.addr(), "Ivan").await;
    let mut keys = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    // "<node id> <connection id>", which direct messages are routed by.
    let held: String = keys.get(name_key("ivan")).await.unwrap();
    let (node, conn) = held.split_once(' ').expect("two fields");
    assert!(node.starts_with("a#"), "the node's id: {held:?}");
    conn.parse::<u64>().expect("a connection id");
    let nodes: Vec<String> = keys.keys("confab:node:a#*").await.unwrap();
    assert_eq!(nodes, [format!("confab:node:{node}")], "the node's own key");

    // The lease is renewed: its time to live, going down, goes up again.
    let first: i64 = keys.pttl(name_key("ivan")).await.unwrap();
    assert!(first > 0 && first <= 3000, "a lease: {first}");
    let mut lowest = first;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let now: i64 = keys.pttl(name_key("ivan")).await.unwrap();
        if now > lowest + 100 {
            break;
        }
        lowest = lowest.min(now);
        assert!(
            tokio::time::Instant::now() < deadline,
            "never renewed: {now} ms left"
        );
        tokio::time::sleep(POLL).await;
    }
    ivan.quit().await;
    assert!(a.sigterm().success(), "a clean exit:\n{}", a.log_text());
}

#[tokio::test]
async fn a_session_whose_name_another_node_holds_now_is_ended() {
    // spec: CLUSTER-1
    let redis = RedisServer::start();
    let a = Node::start(&redis, "a", &[]);
    let mut judy = guest(a.addr(), "judy").await;
    let mut keys = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // As after an outage longer than the lease: another node's login took
    // the name meanwhile.
    let () = keys
        .pset_ex(name_key("judy"), "b#elsewhere 7", 60_000)
        .await
        .unwrap();

    let (frames, _) = judy.read_to_end().await;
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, Frame::Goodbye(g) if g.reason == ErrorCode::TAKEN_OVER)),
        "ended TAKEN_OVER: {frames:?}"
    );
    // The other node's claim is left alone by the session's end.
    let held: String = keys.get(name_key("judy")).await.unwrap();
    assert_eq!(held, "b#elsewhere 7");
}
