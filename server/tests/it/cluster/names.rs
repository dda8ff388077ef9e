//! Names across nodes: one name, look-alikes included, is held once in
//! the whole cluster, freed when its holder leaves, and by a crashed
//! node's lease running out (`[CLUSTER-1]`, `[CLUSTER-5]`).

use std::time::Duration;

use confab_protocol::frame::LoginMode;
use confab_protocol::ErrorCode;

use super::harness::{guest, login_eventually, refused, Node, RedisServer};

/// Well past a lease of the tests' nodes and a busy machine's delays.
const LEASE_BOUND: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_name_is_unique_across_nodes_look_alikes_included() {
    // spec: CLUSTER-1, HANDSHAKE-5, SEC-8
    let redis = RedisServer::start();
    let a = Node::start(&redis, "a", &[]);
    let b = Node::start(&redis, "b", &[]);
    let c = Node::start(&redis, "c", &[]);
    let alice = guest(a.addr(), "Alice").await;

    for (node, name) in [(&b, "Alice"), (&b, "ALICE"), (&c, "alice"), (&c, "Аlice")] {
        // The last is a look-alike: Cyrillic А.
        let rejected = refused(node.addr(), LoginMode::Guest, name, "", "held on node a").await;
        assert_eq!(
            rejected.code,
            ErrorCode::NAME_TAKEN,
            "{name} on {}: {rejected:?}",
            node.name
        );
    }
    // Other names are not held by Alice's.
    let bob = guest(c.addr(), "Bob").await;

    alice.quit().await;
    // The name is freed in the background after the connection ends.
    let (on_b, welcome, _) =
        login_eventually(b.addr(), LoginMode::Guest, "alice", "", LEASE_BOUND).await;
    assert_eq!(welcome.username, "alice");
    let rejected = refused(
        a.addr(),
        LoginMode::Guest,
        "Alice",
        "",
        "now held on node b",
    )
    .await;
    assert_eq!(rejected.code, ErrorCode::NAME_TAKEN, "{rejected:?}");
    on_b.quit().await;
    bob.quit().await;
}

#[tokio::test]
async fn a_crashed_nodes_names_are_free_once_its_lease_ran_out() {
    // spec: CLUSTER-5
    let redis = RedisServer::start();
    let mut a = Node::start(&redis, "a", &["--name-lease-ms", "900"]);
    let b = Node::start(&redis, "b", &[]);
    let _carol = guest(a.addr(), "carol").await;
    // Held while node a beats, well past one lease.
    let rejected = refused(b.addr(), LoginMode::Guest, "carol", "", "held on node a").await;
    assert_eq!(rejected.code, ErrorCode::NAME_TAKEN, "{rejected:?}");

    a.kill_9();
    let (carol, welcome, refused) =
        login_eventually(b.addr(), LoginMode::Guest, "carol", "", LEASE_BOUND).await;
    assert_eq!(welcome.username, "carol");
    assert!(
        refused.iter().all(|r| r.code == ErrorCode::NAME_TAKEN),
        "until the lease ran out the name was taken, nothing else: {refused:?}"
    );
    carol.quit().await;
}

#[tokio::test]
async fn without_redis_a_login_is_cluster_unavailable_and_works_again_after() {
    // spec: CLUSTER-3
    let mut redis = RedisServer::start();
    let a = Node::start(&redis, "a", &[]);
    let b = Node::start(&redis, "b", &[]);
    let dave = guest(b.addr(), "dave").await;

    redis.stop();
    let rejected = refused(
        a.addr(),
        LoginMode::Guest,
        "erin",
        "",
        "no Redis to claim the name in",
    )
    .await;
    assert_eq!(
        rejected.code,
        ErrorCode::CLUSTER_UNAVAILABLE,
        "{rejected:?}"
    );
    // The node stays up: it still greets and judges logins.
    let rejected = refused(a.addr(), LoginMode::Guest, "frank", "", "still no Redis").await;
    assert_eq!(
        rejected.code,
        ErrorCode::CLUSTER_UNAVAILABLE,
        "{rejected:?}"
    );

    redis.restart();
    let (erin, welcome, _) =
        login_eventually(a.addr(), LoginMode::Guest, "erin", "", LEASE_BOUND).await;
    assert_eq!(welcome.username, "erin");
    // Dave's name survived the outage (its lease renewed, or claimed again
    // by node b's heartbeat once Redis was back): taken on node a.
    let rejected = refused(a.addr(), LoginMode::Guest, "dave", "", "dave is on node b").await;
    assert_eq!(rejected.code, ErrorCode::NAME_TAKEN, "{rejected:?}");
    erin.quit().await;
    dave.quit().await;
}
