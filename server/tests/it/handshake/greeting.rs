//! GREETING and HELLO: limits, pipelining, versions, the handshake timeout, early requests.

use super::*;

#[tokio::test]
async fn greeting_arrives_first_and_unprompted_with_the_configured_limits() {
    // spec: HANDSHAKE-1, TRANSPORT-1
    let server = TestServer::with(unusual_limits).await;
    let expected = {
        let mut config = TestServer::config();
        unusual_limits(&mut config);
        config.limits()
    };

    let started = Instant::now();
    let mut client = Client::connect_raw(server.addr).await;
    // A client enforces 4,096 bytes until it has the GREETING.
    client.framed.codec_mut().set_max_frame(GREETING_MAX_FRAME);
    // Nothing is sent: the server speaks first.
    let frame = client.recv().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "GREETING took {:?}",
        started.elapsed()
    );
    assert!(
        frame.body_len() <= 4096,
        "GREETING body is {} bytes",
        frame.body_len()
    );
    let Frame::Greeting(greeting) = frame else {
        panic!("first frame {frame:?}");
    };
    assert_eq!((greeting.min_version, greeting.max_version), (1, 1));
    // spec: ACTION-1, MOD-1
    assert_eq!(
        greeting.flags,
        Greeting::ACTIONS | Greeting::MODERATION,
        "no accounts, no persistence; actions relayed; moderation"
    );
    assert!(!greeting.server.is_empty());
    assert_eq!(greeting.limits, expected);
    assert_eq!(greeting.default_room, "Plaza");
    assert!(!greeting.prompt.is_empty());
    client
        .framed
        .codec_mut()
        .set_max_frame(greeting.limits.max_frame);

    // The advertised default room is the one the auto-join uses.
    client.hello().await;
    client.send_login("ann").await;
    expect_welcome(&mut client).await;
    client.expect_joined("Plaza").await;
    drop(client);
    server.finish().await;
}

#[tokio::test]
async fn hello_and_login_may_be_pipelined_before_the_greeting() {
    // spec: STATE-5, HANDSHAKE-3, HANDSHAKE-7, ROOM-2
    let server = TestServer::with(|_| {}).await;
    let mut client = Client::connect_raw(server.addr).await;
    let mut bytes = wire(&hello(0));
    bytes.extend(wire(&guest("pipe")));
    client.write_raw(&bytes).await;

    assert!(matches!(client.recv().await, Frame::Greeting(_)));
    let welcome = expect_welcome(&mut client).await;
    assert_eq!(welcome.username, "pipe");
    assert_eq!(welcome.flags, 0, "a guest is not REGISTERED");
    assert!(
        welcome.server_time > 1_700_000_000_000,
        "server_time is UTC ms"
    );
    let (next_seq, replay) = client.expect_joined("lobby").await;
    assert_eq!(next_seq, 1);
    assert!(replay.is_empty());

    // A rejected first LOGIN and a retry may be pipelined too; they are
    // processed in order.
    let mut second = Client::connect_raw(server.addr).await;
    let mut bytes = wire(&hello(0));
    bytes.extend(wire(&guest("PIPE")));
    bytes.extend(wire(&guest("pipe2")));
    second.write_raw(&bytes).await;
    assert!(matches!(second.recv().await, Frame::Greeting(_)));
    expect_rejected(&mut second, ErrorCode::NAME_TAKEN, 2).await;
    assert_eq!(expect_welcome(&mut second).await.username, "pipe2");
    second.expect_joined("lobby").await;
    drop((client, second));
    server.finish().await;
}

#[tokio::test]
async fn an_unsupported_version_or_bad_hello_is_fatal() {
    // spec: HANDSHAKE-2, VERSION-1
    let server = TestServer::with(|_| {}).await;
    for version in [0u16, 2, 0xFFFF] {
        let (mut client, _) = Client::connect(server.addr).await;
        client
            .send(Frame::Hello(Hello {
                version,
                flags: 0,
                client: Str8::new("future").unwrap(),
            }))
            .await;
        let error = client
            .expect_fatal_then_close(ErrorCode::UNSUPPORTED_VERSION)
            .await;
        assert_eq!(error.frame_type, code::HELLO, "version {version}");
    }

    // Wrong magic: not a Confab peer.
    let (mut client, _) = Client::connect(server.addr).await;
    let mut body = b"CONFAX".to_vec();
    body.extend_from_slice(&[0, 1, 0, 0]);
    client.write_raw(&raw_frame(code::HELLO, &body)).await;
    let error = client.expect_fatal_then_close(ErrorCode::NOT_CONFAB).await;
    assert_eq!(error.frame_type, code::HELLO);

    // A HELLO too short to hold the magic is malformed.
    let (mut client, _) = Client::connect(server.addr).await;
    client.write_raw(&raw_frame(code::HELLO, b"CON")).await;
    let error = client
        .expect_fatal_then_close(ErrorCode::MALFORMED_FRAME)
        .await;
    assert_eq!(error.frame_type, code::HELLO);

    drop(client);
    let ok = Client::login(server.addr, "afterwards").await;
    drop(ok);
    server.finish().await;
}

#[tokio::test]
async fn the_handshake_times_out_however_the_client_dawdles() {
    // spec: HANDSHAKE-8, SEC-7, KEEPALIVE-1
    let server = TestServer::with(|c| c.handshake_timeout_ms = 1_000).await;
    let started = Instant::now();

    // Sends nothing at all.
    let silent = async {
        let (mut client, _) = Client::connect(server.addr).await;
        let error = client
            .expect_fatal_then_close(ErrorCode::HANDSHAKE_TIMEOUT)
            .await;
        assert_eq!((error.frame_type, error.client_ref), (0, 0));
        started.elapsed()
    };
    // Sends HELLO, then nothing.
    let after_hello = async {
        let (mut client, _) = Client::connect(server.addr).await;
        client.hello().await;
        client
            .expect_fatal_then_close(ErrorCode::HANDSHAKE_TIMEOUT)
            .await;
        started.elapsed()
    };
    // Sends HELLO, then keeps the connection busy with PINGs but never logs in.
    let pinger = async {
        let (mut client, _) = Client::connect(server.addr).await;
        client.hello().await;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut pongs = 0u64;
        let mut nonce = 0u64;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    nonce += 1;
                    let ping = wire(&Frame::Ping(Ping { nonce }));
                    // The server may have closed already.
                    let _ = client.try_write_raw(&ping).await;
                }
                frame = tokio::time::timeout(common::PATIENCE, client.framed.next()) => {
                    match frame.expect("the handshake timeout comes") {
                        Some(Ok(Frame::Pong(pong))) => {
                            pongs += 1;
                            assert_eq!(pong.nonce, pongs, "PONG echoes the nonce");
                        }
                        Some(Ok(Frame::ErrorFrame(error))) => {
                            assert_eq!(error.code, ErrorCode::HANDSHAKE_TIMEOUT);
                            assert!(error.is_fatal());
                            break;
                        }
                        other => panic!("pinger: unexpected {other:?}"),
                    }
                }
            }
        }
        assert!(pongs >= 2, "PINGs in AWAIT_LOGIN are answered ({pongs})");
        let rest = client.expect_closed().await;
        assert!(rest.is_empty(), "nothing follows the fatal ERROR: {rest:?}");
        started.elapsed()
    };
    // Logs in in time: unaffected.
    let prompt = Client::login(server.addr, "prompt");
    let (a, b, c, mut prompt) = tokio::join!(silent, after_hello, pinger, prompt);
    for elapsed in [a, b, c] {
        assert!(
            elapsed >= Duration::from_millis(950) && elapsed < Duration::from_secs(4),
            "closed after {elapsed:?}, want about 1 s"
        );
    }
    // Well past the handshake timeout, the logged-in client still works.
    prompt.list_rooms().await;
    assert!(matches!(prompt.recv().await, Frame::RoomList(_)));
    drop(prompt);
    server.finish().await;
}

#[tokio::test]
async fn undefined_hello_flag_bits_are_ignored() {
    // spec: TYPES-3, HANDSHAKE-7
    let server = TestServer::with(|_| {}).await;
    let (mut client, _) = Client::connect(server.addr).await;
    client.send(hello(0xFE)).await;
    client.send(guest("flags")).await;
    expect_welcome(&mut client).await;
    client.expect_joined("lobby").await;
    drop(client);
    server.finish().await;
}

#[tokio::test]
async fn requests_before_login_are_unexpected_but_not_fatal() {
    // spec: STATE-2, STATE-3, KEEPALIVE-1
    let server = TestServer::with(|_| {}).await;
    let mut alice = Client::login(server.addr, "alice").await;
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    client
        .send(Frame::SendMessage(SendMessage {
            client_ref: 77,
            room: Str8::new("lobby").unwrap(),
            body: Str16::new("sneaky").unwrap(),
        }))
        .await;
    let error = client.expect_error(ErrorCode::UNEXPECTED_FRAME).await;
    assert_eq!((error.frame_type, error.client_ref), (code::SEND, 77));
    client
        .send(Frame::Join(Join {
            room: Str8::new("side").unwrap(),
            since_seq: 0,
            history: 0,
        }))
        .await;
    let error = client.expect_error(ErrorCode::UNEXPECTED_FRAME).await;
    assert_eq!((error.frame_type, error.client_ref), (code::JOIN, 0));
    // A server-to-client frame from the client: wrong direction.
    client
        .send(Frame::Welcome(Welcome {
            username: Str8::new("alice").unwrap(),
            flags: 0,
            server_time: 0,
        }))
        .await;
    let error = client.expect_error(ErrorCode::UNEXPECTED_FRAME).await;
    assert_eq!(error.frame_type, code::WELCOME);
    // HELLO again is not legal either.
    client.send(hello(0)).await;
    let error = client.expect_error(ErrorCode::UNEXPECTED_FRAME).await;
    assert_eq!(error.frame_type, code::HELLO);
    // Still usable: PING is answered, and none of that cost a login attempt.
    client.send(Frame::Ping(Ping { nonce: 9 })).await;
    assert!(matches!(client.recv().await, Frame::Pong(p) if p.nonce == 9));
    client.send(guest("bob")).await;
    expect_welcome(&mut client).await;
    client.expect_joined("lobby").await;

    // The early SEND was never delivered: alice's next message is bob's real one.
    expect_presence(&mut alice, PresenceEvent::Joined, "lobby", "bob").await;
    common::chat_works(&mut client, &mut alice, "lobby", "legit").await;
    drop((alice, client));
    server.finish().await;
}
