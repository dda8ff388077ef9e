//! The replay on JOIN, its meeting with live delivery, and MISSED.

use super::*;

#[tokio::test]
async fn join_replays_the_last_messages_in_order() {
    // spec: ROOM-2, MSG-2, PRESENCE-2
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "hist", 0, 0).await;
    let acks = send_many(&mut alice, "hist", 10, "m").await;

    let mut bob = Client::login(server.addr, "bob").await;
    let (joined, replay, end) = join_full(&mut bob, "hist", 0, 4).await;
    assert_eq!((joined.next_seq, joined.members), (11, 2));
    assert_eq!(seqs(&replay), [7, 8, 9, 10]);
    for (m, ack) in replay.iter().zip(&acks[6..]) {
        assert_eq!((m.id, m.seq, m.time), (ack.id, ack.seq, ack.time));
        assert_eq!((m.room.as_str(), m.sender.as_str()), ("hist", "alice"));
    }
    assert_eq!(replay[0].body, "m6");
    assert_eq!(end.flags, HistoryEnd::MORE, "older messages exist");
    expect_presence(&mut alice, PresenceEvent::Joined, "hist", "bob").await;

    // More than exist: all of them, nothing more to fetch.
    let mut carol = Client::login(server.addr, "carol").await;
    let (_, replay, end) = join_full(&mut carol, "hist", 0, 50).await;
    assert_eq!(seqs(&replay), (1..=10).collect::<Vec<_>>());
    assert_eq!(end.flags, 0);

    expect_presence(&mut alice, PresenceEvent::Joined, "hist", "carol").await;
    // A member joining again may ask for a replay too, and nobody hears of it.
    let (joined, replay, _) = join_full(&mut alice, "hist", 0, 3).await;
    assert_eq!((joined.next_seq, joined.members), (11, 3));
    assert_eq!(seqs(&replay), [8, 9, 10]);
    bob.who("hist").await;
    loop {
        match bob.recv().await {
            Frame::Presence(p) => assert_ne!(p.username, "alice", "{p:?}"),
            Frame::WhoList(list) => {
                assert_eq!(list.users.len(), 3);
                break;
            }
            other => panic!("bob: unexpected {other:?}"),
        }
    }
    // Live delivery continues at next_seq.
    let ack = chat_works(&mut alice, &mut bob, "hist", "live").await;
    assert_eq!(ack.seq, 11);
    drop((alice, bob, carol));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_and_live_delivery_meet_without_gap_or_repeat() {
    // spec: ROOM-2, MSG-4, MSG-5
    const TOTAL: u64 = 1_000;
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "busy", 0, 0).await;
    let mut bob = Client::login(server.addr, "bob").await;

    // alice streams her messages, keeping two batches of ten in flight, and
    // never waits for bob; bob joins part-way, on another worker thread.
    let (started_tx, started) = oneshot::channel();
    let sender = tokio::spawn(async move {
        let mut started_tx = Some(started_tx);
        let mut acked = 0u32;
        for batch in 0..(TOTAL / 10) as u32 {
            let mut bytes = Vec::new();
            for client_ref in batch * 10 + 1..=batch * 10 + 10 {
                bytes.extend(wire(&Frame::SendMessage(SendMessage {
                    client_ref,
                    room: Str8::new("busy").unwrap(),
                    body: Str16::new(&format!("n{client_ref}")).unwrap(),
                })));
            }
            alice.write_raw(&bytes).await;
            while acked + 20 < (batch + 1) * 10 {
                acked += 1;
                assert_eq!(alice.expect_ack(acked).await.seq, u64::from(acked));
            }
            if acked >= 50 {
                if let Some(tx) = started_tx.take() {
                    let _ = tx.send(());
                }
            }
        }
        while u64::from(acked) < TOTAL {
            acked += 1;
            assert_eq!(alice.expect_ack(acked).await.seq, u64::from(acked));
        }
        alice
    });
    crate::common::within_for(crate::common::PATIENCE * 3, "the started task", started)
        .await
        .unwrap();
    let (joined, replay, _) = join_full(&mut bob, "busy", 0, 100).await;
    let next = joined.next_seq;
    let first = next.saturating_sub(100).max(1);
    assert_eq!(seqs(&replay), (first..next).collect::<Vec<_>>());
    let mut expected = next;
    while expected <= TOTAL {
        let m = bob.expect_message().await;
        assert_eq!(m.flags, 0, "live");
        assert_eq!(m.seq, expected, "no gap, no repeat after the replay");
        assert_eq!(m.body.as_str(), format!("n{expected}"));
        expected += 1;
    }
    eprintln!("bob joined at next_seq {next} of {TOTAL}");
    let mut alice =
        crate::common::within_for(crate::common::PATIENCE * 3, "the sender task", sender)
            .await
            .unwrap();
    // Nothing more is pending for bob: the next message is a fresh one.
    let ack = chat_works(&mut alice, &mut bob, "busy", "last").await;
    assert_eq!(ack.seq, TOTAL + 1);
    drop((alice, bob));
    server.finish().await;
}

/// The next frame must be MISSED for room "gap"; returns its range.
async fn missed(client: &mut Client) -> (u64, u64) {
    match client.recv().await {
        Frame::Missed(m) => {
            assert_eq!(m.room, "gap");
            (m.from_seq, m.to_seq)
        }
        other => panic!("expected MISSED, got {other:?}"),
    }
}

#[tokio::test]
async fn joining_with_an_old_since_seq_reports_missed_messages() {
    // spec: ROOM-3, HISTORY-4, ROOM-2
    let server = TestServer::with(|c| c.history_max = 5).await;
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "gap", 0, 0).await;
    send_many(&mut alice, "gap", 20, "g").await;

    let mut bob = Client::login(server.addr, "bob").await;
    // Only the last history_max messages are kept: 16..=20.
    let (_, replay, end) = join_full(&mut bob, "gap", 3, 5).await;
    assert_eq!(seqs(&replay), [16, 17, 18, 19, 20]);
    assert_eq!(end.flags, HistoryEnd::MORE);
    assert_eq!(missed(&mut bob).await, (4, 15));

    // A shorter replay misses more.
    let (_, replay, _) = join_full(&mut bob, "gap", 3, 2).await;
    assert_eq!(seqs(&replay), [19, 20]);
    assert_eq!(missed(&mut bob).await, (4, 18));

    // No replay at all: everything after since_seq is missed.
    let (_, replay, _) = join_full(&mut bob, "gap", 18, 0).await;
    assert!(replay.is_empty());
    assert_eq!(missed(&mut bob).await, (19, 20));

    // A replay that covers the gap, or no gap at all: no MISSED (the next
    // frame answers the next request).
    let (_, replay, end) = join_full(&mut bob, "gap", 17, 5).await;
    assert_eq!(seqs(&replay), [18, 19, 20]);
    assert_eq!(end.flags, 0);
    let (_, replay, _) = join_full(&mut bob, "gap", 20, 5).await;
    assert!(replay.is_empty());
    // since_seq 0 never yields MISSED, even when history is short.
    let (_, replay, _) = join_full(&mut bob, "gap", 0, 1).await;
    assert_eq!(seqs(&replay), [20]);
    assert_eq!(room_list(&mut bob).await, set(&[("lobby", 2), ("gap", 2)]));
    drop((alice, bob));
    server.finish().await;
}
