//! History across a clean restart, and replay then live delivery without
//! a gap or a repeat while others send.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_clean_restart_and_join_replays_the_latest() {
    // spec: ROOM-2, HISTORY-1, HISTORY-4, MSG-3, MSG-4, CLOSE-2
    let dir = TempDir::new("clean-restart");
    let mut server = start_binary(&dir, &[]);
    let mut alice = Client::login(server.addr, "alice").await;
    join_full(&mut alice, "diary", 0, 0).await;
    let mut acks = Vec::new();
    for i in 1..=15 {
        let client_ref = alice.say("diary", &format!("entry {i}")).await;
        acks.push(alice.expect_ack(client_ref).await);
    }
    let status = server.terminate();
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    let frames = alice.expect_closed().await;
    assert!(
        matches!(frames.last(), Some(Frame::Goodbye(g)) if g.reason == ErrorCode::SERVER_SHUTDOWN),
        "GOODBYE SERVER_SHUTDOWN last: {frames:?}"
    );
    let log = server.log_text();
    assert!(!log.contains("panicked"), "{log}");

    let server = start_binary(&dir, &[]);
    let (mut bob, greeting) = Client::connect(server.addr).await;
    let greeting = greeting_of(greeting);
    assert_eq!(
        greeting.flags & (Greeting::PERSISTENT | Greeting::ACCOUNTS | Greeting::ACCOUNT_REQUIRED),
        Greeting::PERSISTENT | Greeting::ACCOUNTS,
        "{greeting:?}"
    );
    bob.hello().await;
    bob.send_login("bob").await;
    assert!(matches!(bob.recv().await, Frame::Welcome(_)));
    bob.expect_joined("lobby").await;

    // JOIN with history 5: the last five, oldest first, as they were acknowledged.
    let (joined, replay, end) = join_full(&mut bob, "diary", 0, 5).await;
    assert_eq!(joined.next_seq, 16);
    let seqs: Vec<u64> = replay.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![11, 12, 13, 14, 15]);
    for (message, ack) in replay.iter().zip(&acks[10..]) {
        assert_eq!(
            (message.id, message.seq, message.time),
            (ack.id, ack.seq, ack.time)
        );
        assert_eq!(message.body, format!("entry {}", ack.seq).as_str());
        assert_eq!(message.sender, "alice");
        assert_eq!(message.flags, Message::HISTORY);
    }
    assert_eq!(end.count, 5);
    assert_eq!(
        end.flags & HistoryEnd::MORE,
        HistoryEnd::MORE,
        "older ones exist"
    );

    // since_seq: only what is newer; history 0: nothing, but HISTORY_END.
    let mut carol = Client::login(server.addr, "carol").await;
    let (_, replay, end) = join_full(&mut carol, "diary", 12, 100).await;
    assert_eq!(
        replay.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![13, 14, 15]
    );
    assert_eq!(end.flags & HistoryEnd::MORE, 0);
    let mut dave = Client::login(server.addr, "dave").await;
    let (_, replay, end) = join_full(&mut dave, "diary", 0, 0).await;
    assert!(replay.is_empty());
    assert_eq!(end.count, 0);

    // The whole history is in the store.
    let all = read_all_history(&mut bob, "diary", 200).await;
    assert_eq!(all.len(), 15);
    for (message, ack) in all.iter().zip(&acks) {
        assert_eq!((message.id, message.seq), (ack.id, ack.seq));
    }

    // A new message continues the numbering.
    let client_ref = bob.say("diary", "after the restart").await;
    let ack = bob.expect_ack(client_ref).await;
    assert_eq!(ack.seq, 16);
    assert!(ack.id > acks.last().unwrap().id);
    let live = carol.expect_message().await;
    assert_eq!((live.id, live.seq, live.flags), (ack.id, 16, 0));
    drop((bob, carol, dave));
    drop(server);
}

/// What a joiner saw after JOIN(room, since_seq, history): the room's seqs
/// from `since_seq + 1` up to `last`, each accounted for exactly once by
/// MISSED, the replay or live delivery, in that order and without gap.
async fn follow_join(
    client: &mut Client,
    room: &str,
    since_seq: u64,
    history: u16,
    history_max: u16,
    last: u64,
) {
    let (joined, replay, end) = join_full(client, room, since_seq, history).await;
    let next_seq = joined.next_seq;
    let name = client.name.clone();
    assert!(next_seq > since_seq, "{name}: {joined:?} since {since_seq}");
    // The replay: the most recent min(history, history_max) messages above since_seq.
    let available = next_seq - 1 - since_seq;
    let expected = available.min(u64::from(history.min(history_max)));
    assert_eq!(replay.len() as u64, expected, "{name}: replay length");
    for (offset, message) in replay.iter().enumerate() {
        assert_eq!(
            message.seq,
            next_seq - expected + offset as u64,
            "{name}: replay is the latest, contiguous, oldest first"
        );
    }
    let more = end.flags & HistoryEnd::MORE != 0;
    assert_eq!(more, expected < available, "{name}: MORE of {end:?}");
    let first_sent = replay.first().map_or(next_seq, |m| m.seq);
    let mut expect = next_seq;
    let mut missed_seen = false;
    let mut frames = 0;
    while expect <= last {
        frames += 1;
        assert!(frames < 200_000, "{name}: too many frames");
        match next_frame(client).await {
            Frame::Missed(Missed {
                room: r,
                from_seq,
                to_seq,
            }) => {
                assert!(
                    !missed_seen && expect == next_seq,
                    "{name}: MISSED out of place"
                );
                assert_eq!(r, room);
                assert_eq!(
                    (from_seq, to_seq),
                    (since_seq + 1, first_sent - 1),
                    "{name}: MISSED covers exactly the unreplayed gap (ROOM-3)"
                );
                missed_seen = true;
            }
            Frame::Message(message) => {
                assert_eq!(message.flags, 0, "{name}: live after the replay");
                assert_eq!(
                    message.seq, expect,
                    "{name}: live delivery must continue at next_seq without gap or repeat"
                );
                expect += 1;
            }
            other => panic!("{name}: expected live MESSAGE, got {other:?}"),
        }
    }
    let needs_missed = since_seq > 0 && first_sent > since_seq + 1;
    assert_eq!(
        missed_seen, needs_missed,
        "{name}: MISSED iff a gap is left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_then_live_has_no_gap_or_repeat_while_others_send() {
    // spec: ROOM-2, ROOM-3, MSG-2, MSG-4, MSG-5, HISTORY-1
    const SENDERS: usize = 3;
    const EACH: usize = 400;
    const TOTAL: u64 = (SENDERS * EACH) as u64;
    let dir = TempDir::new("replay-live");
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let addr = server.addr;
    let history_max = TestServer::config().limits().history_max;

    // Two members who will leave and come back with since_seq.
    let mut rejoiners = Vec::new();
    for name in ["back-full", "back-short"] {
        let mut client = Client::login(addr, name).await;
        join_full(&mut client, "busy", 0, 0).await;
        rejoiners.push(client);
    }
    let (progress, acks) = watch::channel(0usize);
    let progress = Arc::new(progress);
    let mut loaded = Vec::new();
    for i in 0..SENDERS {
        let mut client = Client::login(addr, &format!("sender{i}")).await;
        join_full(&mut client, "busy", 0, 0).await;
        loaded.push(client);
    }
    let senders: Vec<_> = loaded
        .into_iter()
        .map(|client| {
            tokio::spawn(pump(
                client,
                "busy".into(),
                EACH,
                8,
                Arc::clone(&progress),
                Some(TOTAL as usize),
            ))
        })
        .collect();

    let mut joiners = Vec::new();
    // Newcomers at different moments, with and without a replay.
    for (name, at, history) in [
        ("new-50", 150, 50),
        ("new-0", 350, 0),
        ("new-all", 600, 1000),
    ] {
        let mut acks = acks.clone();
        joiners.push(tokio::spawn(async move {
            let mut client = Client::login(addr, name).await;
            crate::common::within("the ACKs", acks.wait_for(|n| *n >= at))
                .await
                .unwrap();
            follow_join(&mut client, "busy", 0, history, history_max, TOTAL).await;
        }));
    }
    // Members that read part of the stream, leave, and rejoin with since_seq.
    for (mut client, (at, history)) in rejoiners.into_iter().zip([(250, 1000), (450, 5)]) {
        let mut acks = acks.clone();
        joiners.push(tokio::spawn(async move {
            crate::common::within("the ACKs", acks.wait_for(|n| *n >= at))
                .await
                .unwrap();
            client.leave("busy").await;
            let mut last_held = 0;
            loop {
                match next_frame(&mut client).await {
                    Frame::Message(m) => {
                        assert_eq!(m.seq, last_held + 1, "{}: live gap", client.name);
                        last_held = m.seq;
                    }
                    Frame::Left(_) => break,
                    other => panic!("{}: expected MESSAGE or LEFT, got {other:?}", client.name),
                }
            }
            // Let the room move on before coming back.
            let now = *acks.borrow();
            let target = (now + 60).min(TOTAL as usize);
            crate::common::within("the ACKs", acks.wait_for(|n| *n >= target))
                .await
                .unwrap();
            follow_join(&mut client, "busy", last_held, history, history_max, TOTAL).await;
        }));
    }
    for joiner in joiners {
        tokio::time::timeout(Duration::from_secs(30), joiner)
            .await
            .expect("joiner finishes")
            .unwrap();
    }
    // Each sender holds every seq once: its own through ACKs, the others' as
    // live messages in seq order.
    for sender in senders {
        let report =
            crate::common::within_for(crate::common::PATIENCE * 3, "the sender task", sender)
                .await
                .unwrap();
        assert!(!report.cut_off);
        assert_eq!(report.acked.len(), EACH);
        for pair in report.acked.windows(2) {
            assert!(pair[0].1.id < pair[1].1.id, "{}: ids", report.name);
            assert!(pair[0].1.seq < pair[1].1.seq, "{}: seqs", report.name);
        }
        for pair in report.received.windows(2) {
            assert!(pair[0].seq < pair[1].seq, "{}: delivery order", report.name);
        }
        let mut seqs: Vec<u64> = report
            .acked
            .iter()
            .map(|(_, a)| a.seq)
            .chain(report.received.iter().map(|m| m.seq))
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=TOTAL).collect::<Vec<_>>(), "{}", report.name);
    }
    // And the store has them all.
    let mut auditor = Client::login(addr, "auditor").await;
    join_full(&mut auditor, "busy", 0, 0).await;
    let stored = read_all_history(&mut auditor, "busy", history_max).await;
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=TOTAL).collect::<Vec<_>>()
    );
    drop(auditor);
    server.stop().await;
}
