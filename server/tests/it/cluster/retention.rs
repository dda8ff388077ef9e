//! Retention in a cluster runs once per interval for the whole cluster,
//! not once per node, and every node forgets what it removed.

use confab_protocol::frame::{Direction, Frame, HistoryKind};
use confab_server::retention_schedule::Driver;

use super::harness::RedisServer as Redis;
use super::*;

#[tokio::test]
async fn one_pass_per_interval_serves_every_node() {
    // spec: CLUSTER-1, HISTORY-4, HISTORY-5
    let redis = Redis::start();
    let mut nodes = Vec::new();
    let mut drivers = Vec::new();
    for name in ["a", "b", "c"] {
        let driver = Driver::default();
        let url = redis.url();
        let configured = driver.clone();
        nodes.push(
            TestServer::with(move |c| {
                c.cluster = Some(url);
                c.node_name = Some(name.into());
                c.history_max = 5;
                c.retention_per_room = 5;
                c.retention_interval_s = 3_600;
                c.retention_driver = Some(configured);
            })
            .await,
        );
        drivers.push(driver);
    }
    let mut alice = Client::login(nodes[0].addr, "alice").await;
    alice.enter("hall", 0, 0).await;
    for n in 1..=20 {
        let client_ref = alice.say("hall", &format!("m{n}")).await;
        alice.expect_ack(client_ref).await;
    }
    let now = confab_server::now_millis();
    // The first node to run a pass does the work; the others find it done.
    assert_eq!(drivers[1].pass_at(now).await.unwrap(), 15);
    assert_eq!(drivers[0].pass_at(now).await.unwrap(), 0);
    assert_eq!(drivers[2].pass_at(now).await.unwrap(), 0);
    let mut conn = redis.client().get_connection().unwrap();
    let kept: usize = redis::cmd("XLEN")
        .arg("confab:{room:hall}:log")
        .query(&mut conn)
        .unwrap();
    assert_eq!(kept, 5);
    let holder: String = redis::cmd("GET")
        .arg("confab:lock:retention")
        .query(&mut conn)
        .unwrap();
    assert!(holder.starts_with("b#"), "{holder}");
    // HISTORY on any node returns what is kept, and nothing older.
    let mut carol = Client::login(nodes[2].addr, "carol").await;
    carol.enter("hall", 0, 0).await;
    carol
        .history(HistoryKind::Room, "hall", Direction::Before, 0, 5)
        .await;
    let mut seqs = Vec::new();
    loop {
        match carol.recv_skipping_presence().await {
            Frame::Message(m) => seqs.push(m.seq),
            Frame::HistoryEnd(end) => {
                assert_eq!(end.flags & confab_protocol::frame::HistoryEnd::MORE, 0);
                break;
            }
            other => panic!("carol: unexpected {other:?}"),
        }
    }
    assert_eq!(seqs, [16, 17, 18, 19, 20]);
    drop((alice, carol));
    for node in nodes {
        node.finish().await;
    }
}
