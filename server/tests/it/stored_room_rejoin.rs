//! A stored room let go while someone joins it is loaded again, never made
//! anew: its numbering goes on (`[LIMIT-5]`, `[MSG-3]`, `[MSG-4]`). Found by
//! confab-conform's slow-consumer case: the last member leaving between the
//! JOIN's store lookup and the join itself made a fresh room whose seqs
//! clashed with the stored ones, and its messages were never acknowledged.

use crate::common;

use common::{Client, TempDir, TestServer};

/// Members of `room` one after another, each leaving while the next joins.
async fn relay(addr: std::net::SocketAddr, room: String) {
    let mut previous: Option<Client> = None;
    for i in 1..=100u64 {
        let mut next = Client::login(addr, &format!("{room}u{i}")).await;
        // The previous member leaves while the next one joins: the room
        // is let go at any point of the JOIN.
        drop(previous.take());
        next.enter(&room, 0, 0).await;
        let sent = next.say(&room, &format!("m{i}")).await;
        assert_eq!(next.expect_ack(sent).await.seq, i, "{room}: message {i}");
        previous = Some(next);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_let_go_during_a_join_keeps_its_numbering() {
    // spec: LIMIT-5, MSG-3, MSG-4, MSG-2
    let dir = TempDir::new("rejoin-race");
    let server = TestServer::start(confab_server::Config {
        // 400 connections from one address, quickly.
        max_per_ip: 0,
        ..TestServer::persistent_config(dir.path())
    })
    .await;
    let relays: Vec<_> = (0..4)
        .map(|n| tokio::spawn(relay(server.addr, format!("r{n}"))))
        .collect();
    for relay in relays {
        relay.await.expect("a relay panicked");
    }
    server.finish().await;
}
