//! What stays per node in a cluster (`[CLUSTER-2]`): the node's name in
//! GREETING, and its limits.

use confab_protocol::frame::Frame;
use confab_protocol::ErrorCode;

use super::harness::RedisServer as Redis;
use super::*;

#[tokio::test]
async fn greeting_names_the_node_and_limits_count_per_node() {
    // spec: CLUSTER-2, HANDSHAKE-1, LIMIT-1
    let redis = Redis::start();
    let url = redis.url();
    let small = TestServer::with(|c| {
        c.cluster = Some(url.clone());
        c.node_name = Some("small".into());
        c.max_connections = 2;
    })
    .await;
    let roomy = TestServer::with(|c| {
        c.cluster = Some(url);
        c.node_name = Some("roomy".into());
    })
    .await;
    let (first, greeting) = Client::connect(small.addr).await;
    match greeting {
        Frame::Greeting(g) => assert!(g.server.ends_with("node small"), "{:?}", g.server),
        other => panic!("expected GREETING, got {other:?}"),
    }
    let (second, _) = Client::connect(small.addr).await;
    // The third is one too many for this node, not for the cluster.
    let mut third = Client::connect_raw(small.addr).await;
    third.expect_fatal_then_close(ErrorCode::SERVER_FULL).await;
    let (_, greeting) = Client::connect(roomy.addr).await;
    assert!(matches!(greeting, Frame::Greeting(g) if g.server.ends_with("node roomy")));
    drop((first, second));
    small.finish().await;
    roomy.finish().await;
}
