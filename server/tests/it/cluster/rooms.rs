//! Rooms and users across the nodes of a cluster: JOINED's count, WHO,
//! LIST_ROOMS, PRESENCE and direct messages see every node (`[CLUSTER-1]`).

use confab_protocol::frame::{Direction, Frame, HistoryKind, PresenceEvent};

use super::harness::RedisServer as Redis;
use super::messages::nodes;
use super::*;
use crate::common::expect_presence;

/// The names of the next WHO_LIST, sorted as the server sends them.
async fn who(client: &mut Client, room: &str) -> Vec<String> {
    client.who(room).await;
    match client.recv_skipping_presence().await {
        Frame::WhoList(list) => list.users.iter().map(|u| u.to_string()).collect(),
        other => panic!("expected WHO_LIST, got {other:?}"),
    }
}

#[tokio::test]
async fn members_on_every_node_are_counted_named_and_announced() {
    // spec: CLUSTER-1, PRESENCE-1, PRESENCE-2, ROOM-6
    let redis = Redis::start();
    let nodes = nodes(&redis, 3).await;
    let mut alice = Client::login(nodes[0].addr, "alice").await;
    alice.enter("den", 0, 0).await;
    let mut bob = Client::login(nodes[1].addr, "bob").await;
    bob.join("den", 0, 0).await;
    match bob.recv_skipping_presence().await {
        Frame::Joined(joined) => assert_eq!(joined.members, 2, "alice on a counts"),
        other => panic!("bob: expected JOINED, got {other:?}"),
    }
    expect_presence(&mut alice, PresenceEvent::Joined, "den", "bob").await;
    // carol, on c, in no room: WHO and LIST_ROOMS see both nodes' members.
    let mut carol = Client::login(nodes[2].addr, "carol").await;
    assert_eq!(who(&mut carol, "den").await, ["alice", "bob"]);
    let everyone = who(&mut carol, "").await;
    for name in ["alice", "bob", "carol"] {
        assert!(everyone.iter().any(|n| n == name), "{name} in {everyone:?}");
    }
    carol.list_rooms().await;
    match carol.recv_skipping_presence().await {
        Frame::RoomList(list) => {
            let den = list.rooms.iter().find(|r| r.name.as_str() == "den");
            assert_eq!(den.map(|r| r.members), Some(2), "{list:?}");
        }
        other => panic!("carol: expected ROOM_LIST, got {other:?}"),
    }
    // bob leaves, then quits: alice on a hears both.
    bob.leave("den").await;
    expect_presence(&mut alice, PresenceEvent::Left, "den", "bob").await;
    assert_eq!(who(&mut carol, "den").await, ["alice"]);
    drop((alice, bob, carol));
    for node in nodes {
        node.finish().await;
    }
}

#[tokio::test]
async fn direct_messages_reach_any_node_and_share_their_history() {
    // spec: CLUSTER-1, DM-1, DM-2, HISTORY-2
    let redis = Redis::start();
    let nodes = nodes(&redis, 3).await;
    let mut alice = Client::login(nodes[0].addr, "alice").await;
    let mut bob = Client::login(nodes[1].addr, "bob").await;
    let mut carol = Client::login(nodes[2].addr, "carol").await;
    let client_ref = alice.dm("BOB", "psst").await;
    let ack = alice.expect_ack(client_ref).await;
    match bob.recv_skipping_presence().await {
        Frame::DirectMessage(m) => {
            assert_eq!(
                (m.from.as_str(), m.body.as_str(), m.id),
                ("alice", "psst", ack.id)
            );
        }
        other => panic!("bob: expected DIRECT_MESSAGE, got {other:?}"),
    }
    let client_ref = alice.dm("nobody", "hello?").await;
    alice
        .expect_error(confab_protocol::ErrorCode::NO_SUCH_USER)
        .await;
    let _ = client_ref;
    // The conversation's history, read on the other node.
    bob.history(HistoryKind::Direct, "alice", Direction::Before, 0, 10)
        .await;
    match bob.recv_skipping_presence().await {
        Frame::DirectMessage(m) => assert_eq!(m.body.as_str(), "psst"),
        other => panic!("bob: expected the DM's history, got {other:?}"),
    }
    // carol, on the third node, got none of it: her next frame answers her WHO.
    assert!(who(&mut carol, "").await.iter().any(|n| n == "carol"));
    drop((alice, bob, carol));
    for node in nodes {
        node.finish().await;
    }
}
