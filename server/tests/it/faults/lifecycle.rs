//! Admission past the limits, shutdown, GOODBYE, keepalive, frames that
//! arrive in pieces, and a binary that cannot listen.

use super::*;

#[tokio::test]
async fn past_max_connections_a_newcomer_gets_server_full() {
    // spec: LIMIT-1, HANDSHAKE-1
    let server = TestServer::with(|c| c.max_connections = 2).await;
    let mut w1 = Client::login(server.addr, "wit1").await;
    let (second, _) = Client::connect(server.addr).await;

    let mut third = Client::connect_raw(server.addr).await;
    let error = third.expect_fatal_then_close(ErrorCode::SERVER_FULL).await;
    assert_eq!((error.frame_type, error.client_ref), (0, 0));
    assert!(!error.message.is_empty());

    // The logged-in client is unaffected.
    w1.list_rooms().await;
    assert!(matches!(w1.recv().await, Frame::RoomList(_)));

    // Once a connection ends, its place is given back.
    drop(second);
    let mut admitted = None;
    for _ in 0..100 {
        let mut attempt = Client::connect_raw(server.addr).await;
        match attempt.recv().await {
            Frame::Greeting(_) => {
                admitted = Some(attempt);
                break;
            }
            Frame::ErrorFrame(e) if e.code == ErrorCode::SERVER_FULL => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut admitted = admitted.expect("a freed place is reused");
    admitted.hello().await;
    admitted.send_login("newcomer").await;
    assert!(matches!(admitted.recv().await, Frame::Welcome(_)));
    drop((w1, admitted, third));
    server.finish().await;
}

#[tokio::test]
async fn past_max_per_ip_a_newcomer_gets_too_many_connections() {
    // spec: LIMIT-1
    let server = TestServer::with(|c| c.max_per_ip = 1).await;
    let mut w1 = Client::login(server.addr, "wit1").await;
    let mut second = Client::connect_raw(server.addr).await;
    let error = second
        .expect_fatal_then_close(ErrorCode::TOO_MANY_CONNECTIONS)
        .await;
    assert_eq!((error.frame_type, error.client_ref), (0, 0));
    // The limit is per address: another loopback address is welcome.
    let mut other = Client::connect_from(server.addr, "127.0.0.2".parse().unwrap()).await;
    other.name = "wit2".into();
    assert!(matches!(other.recv().await, Frame::Greeting(_)));
    other.hello().await;
    other.send_login("wit2").await;
    assert!(matches!(other.recv().await, Frame::Welcome(_)));
    other.expect_joined("lobby").await;
    expect_presence(&mut w1, PresenceEvent::Joined, "lobby", "wit2").await;
    still_fine(&mut w1, &mut other).await;
    drop((w1, other, second));
    server.finish().await;
}

#[tokio::test]
async fn shutdown_flushes_queued_frames_then_says_goodbye() {
    // spec: CLOSE-2, STATE-4
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let mut bob = Client::login(server.addr, "bob").await;
    let (mut carol, _) = Client::connect(server.addr).await; // mid-handshake
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "bob").await;
    // Three messages queued for bob (each ACK comes after bob's copy is queued).
    let mut acks = Vec::new();
    for i in 0..3 {
        let client_ref = alice.say("lobby", &format!("queued {i}")).await;
        acks.push(alice.expect_ack(client_ref).await);
    }

    let started = Instant::now();
    server.shutdown.cancel();
    let bob_frames = bob.expect_closed().await;
    let alice_frames = alice.expect_closed().await;
    let carol_frames = carol.expect_closed().await;

    let goodbye = |frames: &[Frame], who: &str| match frames.last() {
        Some(Frame::Goodbye(g)) => assert_eq!(g.reason, ErrorCode::SERVER_SHUTDOWN, "{who}"),
        other => panic!("{who}: expected GOODBYE SERVER_SHUTDOWN last, got {other:?}"),
    };
    goodbye(&bob_frames, "bob");
    goodbye(&alice_frames, "alice");
    goodbye(&carol_frames, "carol");
    // alice may first hear that bob's connection ended, nothing else.
    assert!(
        alice_frames[..alice_frames.len() - 1]
            .iter()
            .all(|f| matches!(f, Frame::Presence(_))),
        "{alice_frames:?}"
    );
    assert_eq!(carol_frames.len(), 1, "{carol_frames:?}");
    let delivered: Vec<(u64, String)> = bob_frames
        .iter()
        .filter_map(|f| match f {
            Frame::Message(m) => Some((m.seq, m.body.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        delivered,
        acks.iter()
            .enumerate()
            .map(|(i, a)| (a.seq, format!("queued {i}")))
            .collect::<Vec<_>>()
    );
    drop((alice, bob, carol));

    let result = tokio::time::timeout(PATIENCE, server.handle)
        .await
        .expect("run returns after shutdown")
        .expect("run did not panic");
    assert!(result.is_ok(), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The listener is gone.
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
    common::assert_no_server_panic();
}

#[tokio::test]
async fn a_client_goodbye_closes_the_connection_and_is_announced() {
    // spec: CLOSE-1, CLOSE-3, STATE-4, PRESENCE-2
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let mut leaver = Client::login(server.addr, "leaver").await;
    let mut bytes = wire(&Frame::Goodbye(Goodbye::new(ErrorCode::NORMAL, "bye")));
    // Nothing after GOODBYE is processed.
    bytes.extend(wire(&send_frame(1, "lobby", "after goodbye")));
    leaver.write_raw(&bytes).await;
    let frames = leaver.expect_closed().await;
    assert!(
        frames.iter().all(|f| matches!(f, Frame::Presence(_))),
        "no reply to GOODBYE: {frames:?}"
    );
    for w in [&mut w1, &mut w2] {
        expect_presence(w, PresenceEvent::Disconnected, "lobby", "leaver").await;
    }
    still_fine(&mut w1, &mut w2).await;
    // The name is free again after the close.
    drop((w1, w2, leaver));
    server.finish().await;
}

#[tokio::test]
async fn keepalive_pings_idle_clients_and_drops_the_silent() {
    // spec: KEEPALIVE-1, KEEPALIVE-2, SEC-7
    let server = TestServer::with(|c| {
        c.ping_interval_ms = 1_000;
        c.ping_timeout_ms = 1_000;
    })
    .await;
    let mut lively = Client::login(server.addr, "lively").await;
    let started = Instant::now();
    let deadline = started + Duration::from_millis(3_300);

    // Answers every PING: stays.
    let lively_run = async {
        let mut pings = 0;
        let mut saw_mute_leave = false;
        while let Ok(frame) = tokio::time::timeout_at(deadline.into(), lively.recv()).await {
            match frame {
                Frame::Ping(ping) => {
                    pings += 1;
                    lively.answer_ping(&Frame::Ping(ping)).await;
                }
                Frame::Presence(p) => {
                    if p.username == "mute" && p.event == PresenceEvent::Disconnected {
                        saw_mute_leave = true;
                    }
                }
                other => panic!("lively: unexpected {other:?}"),
            }
        }
        assert!(pings >= 2, "lively got {pings} PINGs in 3.3 s");
        assert!(saw_mute_leave, "lively saw the mute client dropped");
    };
    // Reads, never answers: PING, then IDLE_TIMEOUT.
    let mute_run = async {
        let mut mute = Client::login(server.addr, "mute").await;
        let logged_in = Instant::now();
        let frames = mute.expect_closed().await;
        let elapsed = logged_in.elapsed();
        let frames: Vec<&Frame> = frames
            .iter()
            .filter(|f| !matches!(f, Frame::Presence(_)))
            .collect();
        match frames.as_slice() {
            [Frame::Ping(_), Frame::ErrorFrame(error)] => {
                assert_eq!(error.code, ErrorCode::IDLE_TIMEOUT);
                assert!(error.is_fatal());
                assert_eq!(error.frame_type, 0);
            }
            other => panic!("mute: expected PING then IDLE_TIMEOUT, got {other:?}"),
        }
        assert!(
            elapsed >= Duration::from_millis(1_900) && elapsed < Duration::from_millis(3_300),
            "dropped after {elapsed:?}, want about interval + timeout = 2 s"
        );
    };
    // Never answers PINGs but talks on its own every 400 ms: never pinged.
    let chatty_run = async {
        let mut chatty = Client::login(server.addr, "chatty").await;
        let mut tick = tokio::time::interval(Duration::from_millis(400));
        let mut nonce = 1_000;
        let mut pongs = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline.into()) => break,
                _ = tick.tick() => {
                    nonce += 1;
                    chatty.send(Frame::Ping(Ping { nonce })).await;
                }
                frame = chatty.recv() => match frame {
                    Frame::Pong(p) => {
                        assert_eq!(p.nonce, nonce);
                        pongs += 1;
                    }
                    Frame::Presence(_) => {}
                    other => panic!("chatty: unexpected {other:?}"),
                }
            }
        }
        assert!(pongs >= 5, "{pongs} PONGs");
        chatty
    };
    // Mid-handshake, silent after HELLO: pinged in AWAIT_LOGIN too.
    let handshaking_run = async {
        let (mut client, _) = Client::connect(server.addr).await;
        client.hello().await;
        let frames = client.expect_closed().await;
        match frames.as_slice() {
            [Frame::Ping(_), Frame::ErrorFrame(error)] => {
                assert_eq!(error.code, ErrorCode::IDLE_TIMEOUT)
            }
            other => panic!("handshaking: expected PING then IDLE_TIMEOUT, got {other:?}"),
        }
    };
    let ((), (), mut chatty, ()) = tokio::join!(lively_run, mute_run, chatty_run, handshaking_run);

    // Well past 3 s, lively and chatty are still connected and chat.
    assert!(started.elapsed() >= Duration::from_secs(3));
    chat_works(&mut lively, &mut chatty, "lobby", "still awake").await;
    drop((lively, chatty));
    server.finish().await;
}

#[tokio::test]
async fn a_frame_split_into_single_bytes_is_reassembled() {
    // spec: FRAMING-6
    let server = TestServer::with(|_| {}).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let mut slow = Client::login(server.addr, "slow").await;
    slow.framed.get_ref().set_nodelay(true).unwrap();
    let bytes = wire(&send_frame(42, "lobby", "one byte at a time"));
    for byte in &bytes {
        slow.write_raw(std::slice::from_ref(byte)).await;
        tokio::task::yield_now().await;
    }
    slow.expect_ack(42).await;
    for w in [&mut w1, &mut w2] {
        assert_eq!(w.expect_message().await.body, "one byte at a time");
    }
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2, slow));
    server.finish().await;
}

#[tokio::test]
async fn a_client_dribbling_a_frame_is_not_a_sign_of_life() {
    // spec: KEEPALIVE-2, SEC-7
    // A READY client that sends one byte of a frame now and then never
    // completes a frame, so it cannot answer PING: it must be dropped
    // about ping_interval + ping_timeout after its last whole frame.
    let server = TestServer::with(|c| {
        c.ping_interval_ms = 1_000;
        c.ping_timeout_ms = 1_000;
    })
    .await;
    let (mut w1, mut w2) = two_witnesses(&server).await;
    let mut dribbler = Client::login(server.addr, "dribbler").await;
    let logged_in = Instant::now();
    // Bounded: 5 s is well past the 2 s the keepalive allows.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);

    let dribble = async {
        let bytes = wire(&send_frame(1, "lobby", &"d".repeat(200)));
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut sent = 0;
        let mut frames = Vec::new();
        let ended = loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break None,
                _ = tick.tick() => {
                    if sent < bytes.len() && dribbler.try_write_raw(&bytes[sent..=sent]).await.is_ok() {
                        sent += 1;
                    }
                }
                frame = futures_util::StreamExt::next(&mut dribbler.framed) => match frame {
                    Some(Ok(frame)) => frames.push(frame),
                    Some(Err(_)) | None => break Some(logged_in.elapsed()),
                },
            }
        };
        frames.retain(|f| !matches!(f, Frame::Presence(_)));
        let ended = ended.unwrap_or_else(|| {
            panic!(
                "the dribbler sent {sent} bytes of one frame over 5 s and is still connected; got {frames:?}"
            )
        });
        match frames.as_slice() {
            [Frame::Ping(_), Frame::ErrorFrame(error)] => {
                assert_eq!(error.code, ErrorCode::IDLE_TIMEOUT)
            }
            other => panic!("dribbler: expected PING then IDLE_TIMEOUT, got {other:?}"),
        }
        assert!(
            ended < Duration::from_millis(3_500),
            "dropped after {ended:?}"
        );
    };
    // The witnesses meanwhile answer their own PINGs and see the dribbler go.
    async fn watch(w: &mut Client, deadline: tokio::time::Instant) -> bool {
        while let Ok(frame) = tokio::time::timeout_at(deadline, w.recv()).await {
            if w.answer_ping(&frame).await {
                continue;
            }
            match frame {
                Frame::Presence(p)
                    if p.username == "dribbler" && p.event == PresenceEvent::Disconnected =>
                {
                    return true
                }
                Frame::Presence(_) => {}
                other => panic!("{}: unexpected {other:?}", w.name),
            }
        }
        false
    }
    let ((), saw1, saw2) =
        tokio::join!(dribble, watch(&mut w1, deadline), watch(&mut w2, deadline));
    assert!(saw1 && saw2, "the witnesses saw the dribbler disconnected");
    still_fine(&mut w1, &mut w2).await;
    drop((w1, w2, dribbler));
    server.finish().await;
}

#[test]
fn the_binary_fails_fast_and_clearly_when_the_port_is_taken() {
    // spec: TRANSPORT-1
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    let (status, stderr) = run_binary_to_exit(&["--listen", &addr.to_string()]);
    assert!(!status.success(), "exit status {status:?}");
    assert!(
        stderr.contains(&addr.to_string()),
        "stderr names the address {addr}: {stderr:?}"
    );
    assert!(
        stderr.to_lowercase().contains("in use"),
        "stderr says why: {stderr:?}"
    );
    drop(holder);
}
