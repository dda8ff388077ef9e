//! The client's connection task against a scripted server on 127.0.0.1, for
//! the server behaviours a real server never shows: silence, gaps, garbage.

use std::time::Duration;

use confab_client::command::Command;
use confab_client::connection::{self, Handle, Options};
use confab_client::event::Event;
use confab_protocol::frame::{
    Direction, Frame, Greeting, HistoryEnd, HistoryKind, Joined, Limits, Missed, Welcome,
};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

const PATIENCE: Duration = Duration::from_secs(15);

fn greeting(limits: Limits) -> Frame {
    Frame::Greeting(Greeting {
        min_version: 1,
        max_version: 1,
        flags: 0,
        server: Str8::truncated("scripted"),
        limits,
        default_room: Str8::truncated("lobby"),
        prompt: Str16::truncated("name?"),
    })
}

/// Accepts one client, greets it, logs it in and joins it to `lobby`.
async fn scripted_login(listener: &TcpListener, limits: Limits) -> Framed<TcpStream, FrameCodec> {
    let (stream, _) = listener.accept().await.unwrap();
    let mut framed = Framed::new(stream, FrameCodec::new(65_536));
    framed.send(greeting(limits)).await.unwrap();
    loop {
        match framed.next().await.unwrap().unwrap() {
            Frame::Login(login) => {
                let welcome = Welcome {
                    username: login.username,
                    flags: 0,
                    server_time: 0,
                };
                framed.send(Frame::Welcome(welcome)).await.unwrap();
            }
            Frame::Join(join) => {
                framed
                    .send(Frame::Joined(Joined {
                        room: join.room.clone(),
                        next_seq: 1,
                        members: 1,
                    }))
                    .await
                    .unwrap();
                let end = HistoryEnd {
                    kind: HistoryKind::Room,
                    target: join.room,
                    count: 0,
                    flags: 0,
                };
                framed.send(Frame::HistoryEnd(end)).await.unwrap();
                return framed;
            }
            _ => {}
        }
    }
}

async fn start_client(listener: &TcpListener) -> Handle {
    connection::spawn(Options {
        addrs: vec![listener.local_addr().unwrap().to_string()],
        name: Some("alice".into()),
        account: None,
        rooms: Vec::new(),
        reconnect: None,
        join_history: 0,
        tls: None,
        drain_timeout: Duration::from_secs(10),
        prompt_again: false,
    })
}

async fn until(handle: &mut Handle, wanted: impl Fn(&Event) -> bool) -> Event {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let event = handle.events.recv().await.expect("events until Closed");
            if wanted(&event) {
                return event;
            }
        }
    })
    .await
    .expect("the expected event arrives")
}

#[tokio::test]
async fn a_server_gone_silent_is_detected() {
    // spec: KEEPALIVE-3
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut handle = start_client(&listener).await;
    let limits = Limits {
        ping_interval_ms: 1000,
        ping_timeout_ms: 1000,
        ..Limits::default()
    };
    let _silent = scripted_login(&listener, limits).await;
    let started = tokio::time::Instant::now();
    let event = until(&mut handle, |e| matches!(e, Event::Closed { .. })).await;
    assert_eq!(
        event,
        Event::Closed {
            reason: "the server stopped answering".into(),
            clean: false
        }
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "not before interval + timeout"
    );
}

#[tokio::test]
async fn an_action_is_not_sent_to_a_server_without_actions() {
    // spec: ACTION-1
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut handle = start_client(&listener).await;
    // This server's GREETING does not set ACTIONS.
    let mut server = scripted_login(&listener, Limits::default()).await;
    let say = |body: &str| Command::Action {
        room: "lobby".into(),
        body: body.into(),
    };
    handle.commands.send(say("waves")).await.unwrap();
    let refused = until(&mut handle, |e| matches!(e, Event::Error { .. })).await;
    assert!(format!("{refused:?}").contains("/me"), "{refused:?}");
    handle
        .commands
        .send(Command::Say {
            room: "lobby".into(),
            body: "plain".into(),
        })
        .await
        .unwrap();
    // The first message frame the server sees is the plain SEND.
    loop {
        let frame = tokio::time::timeout(PATIENCE, server.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match frame {
            Frame::SendMessage(send) => {
                assert_eq!(send.body, "plain");
                break;
            }
            Frame::SendAction(_) => panic!("SEND_ACTION to a server without ACTIONS"),
            _ => {}
        }
    }
    handle.commands.send(Command::Quit).await.unwrap();
}

#[tokio::test]
async fn missed_messages_are_fetched_with_history() {
    // spec: HISTORY-3, ROOM-3
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut handle = start_client(&listener).await;
    let mut server = scripted_login(&listener, Limits::default()).await;
    let missed = Missed {
        room: Str8::truncated("lobby"),
        from_seq: 5,
        to_seq: 9,
    };
    server.send(Frame::Missed(missed)).await.unwrap();
    until(&mut handle, |e| {
        matches!(e, Event::Missed { from: 5, to: 9, .. })
    })
    .await;
    match tokio::time::timeout(PATIENCE, server.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        Frame::History(request) => {
            assert_eq!(request.kind, HistoryKind::Room);
            assert_eq!(request.target, "lobby");
            assert_eq!(request.direction, Direction::After);
            assert_eq!(request.anchor, 4);
            assert_eq!(request.limit, 5);
        }
        other => panic!("expected HISTORY, got {other:?}"),
    }
    handle.commands.send(Command::Quit).await.unwrap();
}

#[tokio::test]
async fn garbage_from_the_server_gets_an_error_and_a_clean_close() {
    // spec: ERROR-3, SEC-2
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut handle = start_client(&listener).await;
    let mut server = scripted_login(&listener, Limits::default()).await;
    server
        .get_mut()
        .write_all(b"SSH-2.0-OpenSSH\r\n")
        .await
        .unwrap();
    match tokio::time::timeout(PATIENCE, server.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        Frame::ErrorFrame(error) => {
            assert_eq!(error.code, ErrorCode::NOT_CONFAB);
            assert!(error.is_fatal());
        }
        other => panic!("expected ERROR, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(PATIENCE, server.next())
            .await
            .unwrap()
            .is_none(),
        "then the client closes"
    );
    let event = until(&mut handle, |e| matches!(e, Event::Closed { .. })).await;
    assert!(
        matches!(event, Event::Closed { clean: false, reason } if reason.contains("not Confab"))
    );
}

/// The next SEND the scripted server receives, skipping anything else.
async fn next_send(
    server: &mut Framed<TcpStream, FrameCodec>,
) -> confab_protocol::frame::SendMessage {
    loop {
        let frame = tokio::time::timeout(PATIENCE, server.next())
            .await
            .expect("a frame in time")
            .expect("the client stays connected")
            .unwrap();
        if let Frame::SendMessage(send) = frame {
            return send;
        }
    }
}

fn error_for(code: ErrorCode, client_ref: u32, text: &str) -> Frame {
    Frame::ErrorFrame(confab_protocol::frame::ErrorFrame::new(
        code,
        confab_protocol::frame::code::SEND,
        client_ref,
        text,
    ))
}

#[tokio::test]
async fn rate_limited_is_sent_again_and_other_refusals_name_the_message() {
    // spec: FLOW-1
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut handle = start_client(&listener).await;
    let mut server = scripted_login(&listener, Limits::default()).await;
    until(&mut handle, |e| matches!(e, Event::Joined { .. })).await;
    let say = |body: &str| Command::Say {
        room: "lobby".into(),
        body: body.into(),
    };
    handle.commands.send(say("first")).await.unwrap();
    let first = next_send(&mut server).await;
    assert_eq!(first.body, "first");
    server
        .send(error_for(
            ErrorCode::RATE_LIMITED,
            first.client_ref,
            "slow down",
        ))
        .await
        .unwrap();
    // Not dropped: the same message comes again after a pause.
    let again = next_send(&mut server).await;
    assert_eq!(again.body, "first");
    let ack = confab_protocol::frame::Ack {
        client_ref: again.client_ref,
        id: 1,
        seq: 1,
        time: 0,
    };
    server.send(Frame::Ack(ack)).await.unwrap();
    let delivered = until(&mut handle, |e| {
        matches!(
            e,
            Event::Message { own: true, .. } | Event::NotSent { .. } | Event::Error { .. }
        )
    })
    .await;
    assert!(
        matches!(&delivered, Event::Message { body, .. } if body == "first"),
        "{delivered:?}"
    );

    handle.commands.send(say("second")).await.unwrap();
    let second = next_send(&mut server).await;
    server
        .send(error_for(
            ErrorCode::NOT_IN_ROOM,
            second.client_ref,
            "not a member",
        ))
        .await
        .unwrap();
    let refused = until(&mut handle, |e| matches!(e, Event::NotSent { .. })).await;
    assert_eq!(
        refused,
        Event::NotSent {
            n: 2,
            target: confab_client::event::Target::Room("lobby".into()),
            body: "second".into(),
            reason: "not a member (NOT_IN_ROOM)".into(),
        }
    );
    let empty = until(&mut handle, |e| {
        matches!(e, Event::Outgoing { queued: 0, .. })
    })
    .await;
    assert_eq!(
        empty,
        Event::Outgoing {
            queued: 0,
            oldest: 3
        }
    );
    handle.commands.send(Command::Quit).await.unwrap();
}

#[tokio::test]
async fn too_many_attempts_without_a_login_tried_is_the_end_not_a_reconnect_loop() {
    // The terminal UI connects again after TOO_MANY_ATTEMPTS (fresh
    // attempts for the names a person typed), but only when it tried one:
    // a server that says so at once must not make it reconnect forever.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut handle = connection::spawn(Options {
        addrs: vec![listener.local_addr().unwrap().to_string()],
        name: None,
        account: None,
        rooms: Vec::new(),
        reconnect: None,
        join_history: 0,
        tls: None,
        drain_timeout: Duration::from_secs(10),
        prompt_again: true,
    });
    let (stream, _) = listener.accept().await.unwrap();
    let mut server = Framed::new(stream, FrameCodec::new(65_536));
    server.send(greeting(Limits::default())).await.unwrap();
    let refusal = confab_protocol::frame::ErrorFrame::new(ErrorCode::TOO_MANY_ATTEMPTS, 0, 0, "no");
    server.send(Frame::ErrorFrame(refusal)).await.unwrap();
    let event = until(&mut handle, |e| matches!(e, Event::Closed { .. })).await;
    assert!(
        matches!(&event, Event::Closed { clean: false, reason } if reason.contains("TOO_MANY_ATTEMPTS")),
        "{event:?}"
    );
    // Closed comes after any further connection would have been opened.
    let again = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
    assert!(again.is_err(), "no second connection");
}
