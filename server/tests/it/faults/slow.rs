//! Clients that never read are cut off, and a busy client does not
//! starve the others.

use super::*;

/// What the reading witness saw, for the sender to pace itself by.
#[derive(Debug)]
enum Seen {
    Message(u64),
    SlothGone,
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_off_without_slowing_anyone() {
    // spec: FLOW-3, LIMIT-2, CLOSE-3, MSG-2
    const BODY: usize = 32_000;
    let server = TestServer::with(|c| {
        c.queue_depth = 16;
        // A join replay must fit the queue: keep history_max small with it.
        c.history_max = 8;
        c.max_body = BODY as u16;
        c.max_frame = 1 << 17;
    })
    .await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "bob").await;

    // The sloth logs in, then never reads again; a small receive buffer
    // makes its socket fill sooner.
    let mut sloth = Client::connect_small_buffer(server.addr, 4096).await;
    sloth.name = "sloth".into();
    assert!(matches!(sloth.recv().await, Frame::Greeting(_)));
    sloth.hello().await;
    sloth.send_login("sloth").await;
    assert!(matches!(sloth.recv().await, Frame::Welcome(_)));
    let (first_seq, _) = sloth.expect_joined("lobby").await;

    // bob reads everything, in a task of his own.
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let bob_task = tokio::spawn(async move {
        loop {
            let frame = bob.recv().await;
            if bob.answer_ping(&frame).await {
                continue;
            }
            match frame {
                Frame::Message(m) if m.body == "done" => return bob,
                Frame::Message(m) => {
                    assert_eq!(m.sender, "alice");
                    seen_tx.send(Seen::Message(m.seq)).unwrap();
                }
                Frame::Presence(p)
                    if p.username == "sloth" && p.event == PresenceEvent::Disconnected =>
                {
                    seen_tx.send(Seen::SlothGone).unwrap();
                }
                Frame::Presence(_) => {}
                other => panic!("bob: unexpected {other:?}"),
            }
        }
    });

    // alice sends messages one after another; each ACK must come promptly,
    // and bob must get each message, whatever the sloth does. The first
    // ones are big, to fill the sloth's socket buffers (a few MB on
    // loopback); small ones follow until the server has cut the sloth off.
    let big = "z".repeat(BODY);
    let mut sloth_gone_after = None;
    let mut slowest_ack = Duration::ZERO;
    let mut pace = tokio::time::interval(Duration::from_millis(5));
    for sent in 0..5_000u32 {
        let expected_seq = first_seq + u64::from(sent);
        let body = if sent < 300 {
            big.as_str()
        } else {
            // Chat at a human-ish pace until the server has acted.
            pace.tick().await;
            "tick"
        };
        let started = Instant::now();
        let client_ref = alice.say("lobby", body).await;
        let ack = alice.expect_ack(client_ref).await;
        slowest_ack = slowest_ack.max(started.elapsed());
        assert_eq!(ack.seq, expected_seq, "seq stays contiguous");
        loop {
            match tokio::time::timeout(PATIENCE, seen.recv()).await {
                Ok(Some(Seen::Message(seq))) => {
                    assert_eq!(seq, expected_seq, "bob gets every message in order");
                    break;
                }
                Ok(Some(Seen::SlothGone)) => {
                    sloth_gone_after.get_or_insert(sent);
                }
                other => panic!("bob stopped: {other:?}"),
            }
        }
        if sloth_gone_after.is_some_and(|at| sent >= at + 5) {
            break;
        }
    }
    let sloth_gone_after = sloth_gone_after.expect("the sloth was never cut off");
    assert!(
        slowest_ack < Duration::from_secs(2),
        "a sender waited {slowest_ack:?} for an ACK"
    );
    eprintln!(
        "sloth cut off after {sloth_gone_after} messages of {BODY} bytes; slowest ACK {slowest_ack:?}"
    );
    // Normal chat after the cut.
    let client_ref = alice.say("lobby", "done").await;
    alice.expect_ack(client_ref).await;
    let mut bob =
        crate::common::within_for(crate::common::PATIENCE * 3, "the bob_task task", bob_task)
            .await
            .unwrap();
    chat_works(&mut bob, &mut alice, "lobby", "all good").await;

    // Only now does the sloth read: whole frames, the last of them ERROR
    // SLOW_CONSUMER, then the end of the stream.
    let (frames, ending) = sloth.read_to_end().await;
    let mut next = first_seq;
    for frame in &frames[..frames.len().saturating_sub(1)] {
        match frame {
            Frame::Message(m) => {
                assert_eq!(m.seq, next, "the sloth's messages are a contiguous prefix");
                next += 1;
            }
            Frame::Presence(_) => {}
            other => panic!("sloth: unexpected {other:?}"),
        }
    }
    match frames.last() {
        Some(Frame::ErrorFrame(error)) => {
            assert_eq!(error.code, ErrorCode::SLOW_CONSUMER);
            assert!(error.is_fatal());
            assert_eq!(error.frame_type, 0);
        }
        other => panic!(
            "sloth: the last frame must be ERROR SLOW_CONSUMER, got {} after {} frames ({ending:?})",
            other.map_or("nothing".to_string(), |f| match f {
                Frame::Message(m) => format!("MESSAGE seq {}", m.seq),
                f => format!("{f:?}"),
            }),
            frames.len()
        ),
    }
    assert!(matches!(ending, Ending::Eof), "{ending:?}");
    drop((alice, bob, sloth));
    server.finish().await;
}

#[tokio::test]
async fn a_busy_client_does_not_starve_the_others() {
    // spec: FLOW-4
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;

    // The busy client writes PINGs (not rate limited) without pause and
    // reads its PONGs in another task.
    let busy = Client::login(server.addr, "busy").await;
    let (mut reader, mut writer) = busy.framed.into_inner().into_split();
    let stop = tokio_util::sync::CancellationToken::new();
    let stop_writer = stop.clone();
    let flood = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut batch = Vec::new();
        for nonce in 0..1_000u64 {
            batch.extend(wire(&Frame::Ping(Ping { nonce })));
        }
        let mut batches = 0u64;
        while !stop_writer.is_cancelled() && batches < 100_000 {
            writer.write_all(&batch).await.unwrap();
            batches += 1;
            tokio::task::yield_now().await;
        }
        batches
    });
    let stop_drain = stop.clone();
    let drain = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        loop {
            tokio::select! {
                _ = stop_drain.cancelled() => return (total, true),
                read = reader.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return (total, false),
                    Ok(n) => total += n,
                },
            }
        }
    });

    let mut slowest = Duration::ZERO;
    let chat_started = Instant::now();
    let mut rounds = 0;
    // Chat for half a second of flood (bounded by a number of rounds too).
    while rounds < 5_000 && chat_started.elapsed() < Duration::from_millis(500) {
        let started = Instant::now();
        chat_works(&mut w1, &mut w2, "lobby", &format!("round {rounds}")).await;
        slowest = slowest.max(started.elapsed());
        rounds += 1;
    }
    assert!(!flood.is_finished(), "the flood lasted the whole time");
    stop.cancel();
    let batches = crate::common::within_for(crate::common::PATIENCE * 3, "the flood task", flood)
        .await
        .unwrap();
    assert!(
        batches >= 10,
        "the busy client was busy: {batches} batches of 1,000 PINGs"
    );
    assert!(
        slowest < Duration::from_millis(500),
        "a round trip took {slowest:?} while another client flooded"
    );
    let (pong_bytes, still_open) =
        crate::common::within_for(crate::common::PATIENCE * 3, "the drain task", drain)
            .await
            .unwrap();
    eprintln!(
        "busy client wrote {batches} batches of 1,000 PINGs and got {} PONGs; {rounds} rounds of chat in {:?}, slowest {slowest:?}",
        pong_bytes / 13,
        chat_started.elapsed()
    );
    assert!(still_open, "the busy client was not cut off");
    assert!(
        pong_bytes >= 13 * 1_000,
        "its PINGs were answered: {pong_bytes} bytes"
    );
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2));
    server.finish().await;
}
