//! Room chat between real clients over loopback TCP.

use crate::common;

use common::{Client, TestServer};
use confab_protocol::frame::{Frame, PresenceEvent};

#[tokio::test]
async fn three_clients_see_each_other_never_themselves() {
    // spec: MSG-1, MSG-2, MSG-4, HANDSHAKE-1, HANDSHAKE-7, TRANSPORT-1
    let server = TestServer::start(TestServer::config()).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    let mut carol = Client::login(server.addr, "carol").await;

    let client_ref = alice.say("lobby", "hello from alice").await;
    let ack = match alice.recv_skipping_presence().await {
        Frame::Ack(ack) => ack,
        other => panic!("alice expected ACK, got {other:?}"),
    };
    assert_eq!(ack.client_ref, client_ref);
    assert!(ack.id > 0 && ack.seq > 0 && ack.time > 0);

    for receiver in [&mut bob, &mut carol] {
        match receiver.recv_skipping_presence().await {
            Frame::Message(message) => {
                assert_eq!(message.sender, "alice");
                assert_eq!(message.body, "hello from alice");
                assert_eq!(message.room, "lobby");
                assert_eq!(
                    (message.id, message.seq, message.time),
                    (ack.id, ack.seq, ack.time)
                );
                assert_eq!(message.flags, 0);
            }
            other => panic!("{} expected MESSAGE, got {other:?}", receiver.name),
        }
    }

    bob.say("lobby", "hi alice").await;
    assert!(matches!(bob.recv_skipping_presence().await, Frame::Ack(a) if a.seq == ack.seq + 1));
    // alice's next frame is bob's message: her own never came back.
    match alice.recv_skipping_presence().await {
        Frame::Message(message) => {
            assert_eq!(message.sender, "bob");
            assert_eq!(message.seq, ack.seq + 1);
            assert!(message.id > ack.id);
        }
        other => panic!("alice expected bob's MESSAGE, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn joins_and_leaves_are_announced_to_other_members() {
    // spec: PRESENCE-2, ROOM-5
    let server = TestServer::start(TestServer::config()).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let bob = Client::login(server.addr, "bob").await;
    match alice.recv().await {
        Frame::Presence(p) => {
            assert_eq!(
                (p.event, p.username.as_str(), p.room.as_str()),
                (PresenceEvent::Joined, "bob", "lobby")
            )
        }
        other => panic!("expected PRESENCE, got {other:?}"),
    }
    drop(bob);
    match alice.recv().await {
        Frame::Presence(p) => assert_eq!(
            (p.event, p.username.as_str()),
            (PresenceEvent::Disconnected, "bob")
        ),
        other => panic!("expected PRESENCE, got {other:?}"),
    }
    server.stop().await;
}
