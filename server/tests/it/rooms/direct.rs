//! Direct messages and their history, seen only by the two parties.

use super::*;

#[tokio::test]
async fn direct_messages_reach_only_their_recipient() {
    // spec: DM-1, DM-2, DM-3, MSG-3
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login_flags(server.addr, "bob", Hello::NO_AUTO_JOIN).await;
    let mut carol = Client::login(server.addr, "carol").await;
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "carol").await;

    // The recipient's name is matched case-insensitively; bob is in no room.
    let client_ref = alice.dm("BOB", "psst").await;
    let ack = alice.expect_ack(client_ref).await;
    assert_eq!(ack.seq, 0, "a direct message has no seq");
    assert!(ack.id > 0);
    match bob.recv().await {
        Frame::DirectMessage(dm) => {
            assert_eq!(
                (dm.from.as_str(), dm.to.as_str(), dm.body.as_str(), dm.flags),
                ("alice", "bob", "psst", 0)
            );
            assert_eq!((dm.id, dm.time), (ack.id, ack.time));
        }
        other => panic!("bob expected DIRECT_MESSAGE, got {other:?}"),
    }
    // Replies work, and ids keep increasing across kinds of message.
    let client_ref = bob.dm("alice", "what?").await;
    let reply = bob.expect_ack(client_ref).await;
    assert!(reply.id > ack.id);
    match alice.recv().await {
        Frame::DirectMessage(dm) => {
            assert_eq!(
                (dm.from.as_str(), dm.to.as_str(), dm.body.as_str()),
                ("bob", "alice", "what?")
            );
            assert_eq!(dm.id, reply.id);
        }
        other => panic!("alice expected DIRECT_MESSAGE, got {other:?}"),
    }
    let room_ack = chat_works(&mut carol, &mut alice, "lobby", "hello room").await;
    assert!(room_ack.id > reply.id);

    // Nobody else saw the DMs, and alice never got her own back: the next
    // frame each receives answers their own request.
    assert_eq!(who(&mut carol, "lobby").await.len(), 2);
    assert_eq!(who(&mut alice, "lobby").await.len(), 2);

    // To oneself, to nobody, and to a name that cannot exist.
    for to in ["alice", "ALICE", "nobody", "no one"] {
        let client_ref = alice.dm(to, "hello?").await;
        let error = alice.expect_error(ErrorCode::NO_SUCH_USER).await;
        assert_eq!(
            (error.frame_type, error.client_ref),
            (code::DIRECT, client_ref),
            "{to}"
        );
    }
    // After bob leaves, he is nobody.
    drop(bob);
    let client_ref = alice.dm("bob", "gone?").await;
    let error = alice.expect_error(ErrorCode::NO_SUCH_USER).await;
    assert_eq!(error.client_ref, client_ref);

    // The body rules of SEND apply.
    let client_ref = alice.dm("carol", " \n").await;
    assert_eq!(
        alice
            .expect_error(ErrorCode::EMPTY_MESSAGE)
            .await
            .client_ref,
        client_ref
    );
    let client_ref = alice.dm("carol", &"x".repeat(4097)).await;
    assert_eq!(
        alice
            .expect_error(ErrorCode::BODY_TOO_LONG)
            .await
            .client_ref,
        client_ref
    );
    // ...and rejected DMs were not delivered: carol's next is a real one.
    let client_ref = alice.dm("carol", "real").await;
    alice.expect_ack(client_ref).await;
    match carol.recv_skipping_presence().await {
        Frame::DirectMessage(dm) => assert_eq!(dm.body, "real"),
        other => panic!("carol expected DIRECT_MESSAGE, got {other:?}"),
    }
    drop((alice, carol));
    server.finish().await;
}

#[tokio::test]
async fn direct_history_is_only_for_the_two_parties() {
    // spec: HISTORY-2
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login_flags(server.addr, "alice", Hello::NO_AUTO_JOIN).await;
    let mut bob = Client::login_flags(server.addr, "bob", Hello::NO_AUTO_JOIN).await;
    let mut carol = Client::login_flags(server.addr, "carol", Hello::NO_AUTO_JOIN).await;
    let mut dave = Client::login_flags(server.addr, "dave", Hello::NO_AUTO_JOIN).await;

    let mut ab = Vec::new();
    for (from, to, body) in [
        ("alice", "bob", "1"),
        ("bob", "alice", "2"),
        ("alice", "bob", "3"),
    ] {
        let (sender, receiver) = if from == "alice" {
            (&mut alice, &mut bob)
        } else {
            (&mut bob, &mut alice)
        };
        let client_ref = sender.dm(to, body).await;
        ab.push(sender.expect_ack(client_ref).await.id);
        assert!(matches!(receiver.recv().await, Frame::DirectMessage(_)));
    }
    let client_ref = alice.dm("carol", "x").await;
    let ac = alice.expect_ack(client_ref).await.id;
    assert!(matches!(carol.recv().await, Frame::DirectMessage(_)));
    let client_ref = carol.dm("bob", "y").await;
    let cb = carol.expect_ack(client_ref).await.id;
    assert!(matches!(bob.recv().await, Frame::DirectMessage(_)));

    let (messages, end) = direct_history(&mut alice, "bob").await;
    let got: Vec<(u64, &str, &str, &str)> = messages
        .iter()
        .map(|m| (m.id, m.from.as_str(), m.to.as_str(), m.body.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (ab[0], "alice", "bob", "1"),
            (ab[1], "bob", "alice", "2"),
            (ab[2], "alice", "bob", "3")
        ]
    );
    assert_eq!(end.flags, 0);
    let (messages, _) = direct_history(&mut bob, "ALICE").await;
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), ab);

    let (messages, _) = direct_history(&mut carol, "bob").await;
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), [cb]);
    let (messages, _) = direct_history(&mut carol, "alice").await;
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), [ac]);
    for target in ["alice", "bob", "carol", "dave"] {
        let (messages, end) = direct_history(&mut dave, target).await;
        assert!(messages.is_empty(), "dave reads nothing with {target}");
        assert_eq!(end.count, 0);
    }

    // Anchors work on ids.
    alice
        .history(HistoryKind::Direct, "bob", Direction::After, ab[0], 1)
        .await;
    match alice.recv().await {
        Frame::DirectMessage(m) => assert_eq!(m.id, ab[1]),
        other => panic!("expected DIRECT_MESSAGE, got {other:?}"),
    }
    match alice.recv().await {
        Frame::HistoryEnd(end) => assert_eq!((end.count, end.flags), (1, HistoryEnd::MORE)),
        other => panic!("expected HISTORY_END, got {other:?}"),
    }
    alice
        .history(HistoryKind::Direct, "bob", Direction::Before, ab[2], 5)
        .await;
    let mut ids = Vec::new();
    loop {
        match alice.recv().await {
            Frame::DirectMessage(m) => ids.push(m.id),
            Frame::HistoryEnd(end) => {
                assert_eq!(end.flags, 0);
                break;
            }
            other => panic!("expected DIRECT_MESSAGE, got {other:?}"),
        }
    }
    assert_eq!(ids, &ab[..2]);
    drop((alice, bob, carol, dave));
    server.finish().await;
}
