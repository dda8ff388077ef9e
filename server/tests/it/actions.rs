//! Actions (`/me waves`) and bodies with line breaks over real loopback TCP
//! (`[BODY-1]`, `[ACTION-1]`): relayed, acknowledged, replayed and stored with
//! the ACTION flag.

use crate::common;

use common::{Client, TempDir, TestServer};
use confab_protocol::frame::{
    code, DirectAction, DirectMessage, Direction, Frame, Greeting, HistoryKind, Message, SendAction,
};
use confab_protocol::{ErrorCode, Str16, Str8};

async fn act(client: &mut Client, room: &str, body: &str) -> u32 {
    let client_ref = client.next_client_ref();
    client
        .send(Frame::SendAction(SendAction {
            client_ref,
            room: Str8::new(room).unwrap(),
            body: Str16::new(body).unwrap(),
        }))
        .await;
    client_ref
}

#[tokio::test]
async fn an_action_is_relayed_acknowledged_and_replayed_with_its_flag() {
    // spec: ACTION-1
    let server = TestServer::start(TestServer::config()).await;
    let (probe, greeting) = Client::connect(server.addr).await;
    let Frame::Greeting(greeting) = greeting else {
        panic!("{greeting:?}");
    };
    assert_eq!(greeting.flags & Greeting::ACTIONS, Greeting::ACTIONS);
    drop(probe);

    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    let client_ref = act(&mut alice, "lobby", "waves").await;
    let ack = alice.expect_ack(client_ref).await;
    let message = bob.expect_message().await;
    assert_eq!(message.flags, Message::ACTION, "{message:?}");
    assert_eq!((message.body.as_str(), message.seq), ("waves", ack.seq));
    // An ordinary message after it is not an action.
    let client_ref = alice.say("lobby", "hello").await;
    alice.expect_ack(client_ref).await;
    assert_eq!(bob.expect_message().await.flags, 0);

    // Replayed: HISTORY and ACTION.
    let mut carol = Client::login(server.addr, "carol").await;
    let (_, replay) = carol.enter("lobby", 0, 5).await;
    let flags: Vec<u8> = replay
        .iter()
        .filter_map(|f| match f {
            Frame::Message(m) => Some(m.flags),
            _ => None,
        })
        .collect();
    assert_eq!(
        flags,
        [Message::HISTORY | Message::ACTION, Message::HISTORY]
    );

    // Directly: DIRECT_MESSAGE with ACTION.
    let client_ref = alice.next_client_ref();
    alice
        .send(Frame::DirectAction(DirectAction {
            client_ref,
            to: Str8::new("bob").unwrap(),
            body: Str16::new("nods").unwrap(),
        }))
        .await;
    alice.expect_ack(client_ref).await;
    match bob.recv_skipping_presence().await {
        Frame::DirectMessage(dm) => {
            assert_eq!(dm.flags, DirectMessage::ACTION, "{dm:?}");
            assert_eq!(dm.body, "nods");
        }
        other => panic!("expected DIRECT_MESSAGE, got {other:?}"),
    }

    // Refused as SEND would be, naming the frame that was refused.
    let client_ref = act(&mut alice, "elsewhere", "waves").await;
    let error = alice.expect_error(ErrorCode::NOT_IN_ROOM).await;
    assert_eq!(
        (error.frame_type, error.client_ref),
        (code::SEND_ACTION, client_ref)
    );
    server.finish().await;
}

#[tokio::test]
async fn a_stored_action_keeps_its_flag_and_a_body_keeps_its_line_breaks() {
    // spec: BODY-1, ACTION-1
    let dir = TempDir::new("actions");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let client_ref = act(&mut alice, "lobby", "waves").await;
    alice.expect_ack(client_ref).await;
    let client_ref = alice.say("lobby", "line one\nline two").await;
    alice.expect_ack(client_ref).await;
    drop(alice);
    server.stop().await;

    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let mut bob = Client::login(server.addr, "bob").await;
    bob.history(HistoryKind::Room, "lobby", Direction::Before, 0, 10)
        .await;
    let mut seen = Vec::new();
    loop {
        match bob.recv().await {
            Frame::Message(m) => seen.push((m.flags, m.body.to_string())),
            Frame::HistoryEnd(_) => break,
            _ => {}
        }
    }
    assert_eq!(
        seen,
        [
            (Message::HISTORY | Message::ACTION, "waves".to_string()),
            (Message::HISTORY, "line one\nline two".to_string()),
        ]
    );
    server.finish().await;
}
