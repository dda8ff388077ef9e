//! Section 22 from the client's side, with real `confab --plain` processes
//! and scripted nodes on 127.0.0.1: a list of addresses, failover to the
//! next node when one is unreachable or leaves, rooms resumed there with
//! `since_seq`, and a message the cluster could not take reported unsent.

mod support;

use confab_protocol::frame::{
    code, Ack, ErrorFrame, Frame, Goodbye, Greeting, HistoryEnd, HistoryKind, Join, Joined, Limits,
    Message, Welcome,
};
use confab_protocol::{ErrorCode, FrameCodec, Str16, Str8};
use futures_util::{SinkExt, StreamExt};
use support::{bodies_from, Launch, PlainClient, Stderr, PATIENCE};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

type Wire = Framed<TcpStream, FrameCodec>;

/// A port nothing listens on (bound, then released): connecting is refused.
async fn refusing_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().to_string()
}

/// A listening node, and its address.
async fn node() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

/// The next frame from the client that `pick` takes, within `PATIENCE`.
async fn next_frame<T>(framed: &mut Wire, pick: impl Fn(Frame) -> Option<T>) -> T {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let frame = framed
                .next()
                .await
                .expect("the client stays connected")
                .unwrap();
            if let Some(wanted) = pick(frame) {
                return wanted;
            }
        }
    })
    .await
    .expect("the expected frame arrives")
}

/// Accepts one client as the node `name`, greets it, logs it in and
/// returns the connection and the client's first JOIN, not answered yet.
async fn accept_login(listener: &TcpListener, name: &str) -> (Wire, Join) {
    let (stream, _) = tokio::time::timeout(PATIENCE, listener.accept())
        .await
        .expect("the client connects")
        .unwrap();
    let mut framed = Framed::new(stream, FrameCodec::new(65_536));
    let greeting = Greeting {
        min_version: 1,
        max_version: 1,
        flags: 0,
        server: Str8::truncated(name),
        limits: Limits::default(),
        default_room: Str8::truncated("lobby"),
        prompt: Str16::truncated("name?"),
    };
    framed.send(Frame::Greeting(greeting)).await.unwrap();
    let login = next_frame(&mut framed, |f| match f {
        Frame::Login(login) => Some(login),
        _ => None,
    })
    .await;
    let welcome = Welcome {
        username: login.username,
        flags: 0,
        server_time: 0,
    };
    framed.send(Frame::Welcome(welcome)).await.unwrap();
    let join = next_frame(&mut framed, |f| match f {
        Frame::Join(join) => Some(join),
        _ => None,
    })
    .await;
    (framed, join)
}

/// JOINED (the room's next `seq` is `next_seq`) and an empty replay.
async fn answer_join(framed: &mut Wire, join: &Join, next_seq: u64) {
    let joined = Joined {
        room: join.room.clone(),
        next_seq,
        members: 2,
    };
    framed.send(Frame::Joined(joined)).await.unwrap();
    let end = HistoryEnd {
        kind: HistoryKind::Room,
        target: join.room.clone(),
        count: 0,
        flags: 0,
    };
    framed.send(Frame::HistoryEnd(end)).await.unwrap();
}

async fn say(framed: &mut Wire, seq: u64, body: &str) {
    let message = Message {
        id: seq,
        seq,
        time: 1_700_000_000_000 + seq,
        flags: 0,
        room: Str8::truncated("lobby"),
        sender: Str8::truncated("bob"),
        body: Str16::truncated(body),
    };
    framed.send(Frame::Message(message)).await.unwrap();
}

/// Reads the client's frames until its GOODBYE, then closes, so that the
/// client's quit is not held up by the grace it gives the server.
fn close_on_goodbye(mut framed: Wire) {
    tokio::spawn(async move {
        let goodbye = tokio::time::timeout(PATIENCE, async {
            while let Some(Ok(frame)) = framed.next().await {
                if let Frame::Goodbye(_) = frame {
                    return;
                }
            }
        });
        let _ = goodbye.await;
    });
}

fn capture() -> Launch<'static> {
    Launch {
        stderr: Stderr::Capture,
        ..Launch::default()
    }
}

#[tokio::test]
async fn an_unreachable_first_address_is_passed_over_for_the_second() {
    // spec: CLUSTER-4
    let refused = refusing_addr().await;
    let (listener, second) = node().await;
    let list = format!("{refused},{second}");
    let mut alice = PlainClient::spawn_with(&list, &["--name", "alice"], "alice", capture());
    let (mut framed, join) = accept_login(&listener, "node-b").await;
    answer_join(&mut framed, &join, 1).await;
    alice
        .until(|l| l == format!("*** connected to {second} (node-b)"))
        .await;
    alice.until(|l| l.starts_with("*** joined lobby")).await;
    close_on_goodbye(framed);
    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 0, "{out:?} {err}");
}

#[tokio::test]
async fn a_list_that_cannot_be_reached_at_all_names_each_address() {
    let first = refusing_addr().await;
    let second = refusing_addr().await;
    let list = format!("{first},{second}");
    let alice = PlainClient::spawn_with(&list, &["--name", "alice"], "alice", capture());
    let (code, _, err) = alice.finish().await;
    assert_eq!(code, 2, "unreachable: {err}");
    assert!(
        err.contains(&format!("{first}: connection refused"))
            && err.contains(&format!("{second}: connection refused")),
        "{err}"
    );
}

#[tokio::test]
async fn an_invalid_entry_is_refused_at_start_by_name() {
    let (listener, addr) = node().await;
    let list = format!("{addr},127.0.0.1:http");
    let alice = PlainClient::spawn_with(&list, &["--name", "alice"], "alice", capture());
    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 2, "{out:?} {err}");
    assert!(err.contains("\"127.0.0.1:http\""), "{err}");
    // Refused before connecting anywhere: the first node saw nobody.
    let accepted = tokio::time::timeout(std::time::Duration::ZERO, listener.accept()).await;
    assert!(accepted.is_err(), "no connection was made");
}

#[tokio::test]
async fn a_leaving_node_hands_the_client_to_the_next_which_resumes_its_rooms() {
    // spec: CLUSTER-4
    let (listener_a, first) = node().await;
    let (listener_b, second) = node().await;
    let list = format!("{first},{second}");
    // A minute's backoff: only a reconnection "at once" gets done in time.
    let args = ["--name", "alice", "--reconnect-initial-ms", "60000"];
    let mut alice = PlainClient::spawn_with(&list, &args, "alice", capture());

    let (mut node_a, join) = accept_login(&listener_a, "node-a").await;
    assert_eq!(join.since_seq, 0, "a first join starts fresh");
    answer_join(&mut node_a, &join, 1).await;
    for (seq, body) in [(1, "one"), (2, "two"), (3, "three")] {
        say(&mut node_a, seq, body).await;
    }
    alice.until(|l| l.ends_with("bob: three")).await;
    let goodbye = Goodbye::new(ErrorCode::NODE_LEAVING, "node-a is shutting down");
    node_a.send(Frame::Goodbye(goodbye)).await.unwrap();
    drop(node_a);

    // The next node is asked to resume the room after the last seq seen.
    let (mut node_b, join) = accept_login(&listener_b, "node-b").await;
    assert_eq!(join.room.as_str(), "lobby");
    assert_eq!(join.since_seq, 3, "resumed where node-a left off: {join:?}");
    answer_join(&mut node_b, &join, 4).await;
    say(&mut node_b, 4, "four").await;
    alice.until(|l| l.ends_with("bob: four")).await;
    alice
        .until(|l| l == format!("*** disconnected: node-a is leaving; reconnecting to {second}"))
        .await;
    close_on_goodbye(node_b);
    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(
        bodies_from(&out, "bob"),
        ["one", "two", "three", "four"],
        "no gap, no duplicate: {out:?}"
    );
}

#[tokio::test]
async fn a_message_the_cluster_could_not_take_is_reported_not_sent() {
    // spec: CLUSTER-3
    let (listener, addr) = node().await;
    let mut alice = PlainClient::spawn_with(&addr, &["--name", "alice"], "alice", capture());
    let (mut framed, join) = accept_login(&listener, "node-a").await;
    answer_join(&mut framed, &join, 1).await;
    alice.until(|l| l.starts_with("*** joined lobby")).await;

    alice.line("lost in the cluster").await;
    let send = next_frame(&mut framed, |f| match f {
        Frame::SendMessage(send) => Some(send),
        _ => None,
    })
    .await;
    let refusal = ErrorFrame::new(
        ErrorCode::CLUSTER_UNAVAILABLE,
        code::SEND,
        send.client_ref,
        "the shared store is unreachable",
    );
    framed.send(Frame::ErrorFrame(refusal)).await.unwrap();

    alice.line("this one goes").await;
    let send = next_frame(&mut framed, |f| match f {
        Frame::SendMessage(send) => Some(send),
        _ => None,
    })
    .await;
    assert_eq!(
        send.body.as_str(),
        "this one goes",
        "the refused one is not resent"
    );
    let ack = Ack {
        client_ref: send.client_ref,
        id: 1,
        seq: 1,
        time: 1_700_000_000_000,
    };
    framed.send(Frame::Ack(ack)).await.unwrap();
    close_on_goodbye(framed);

    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 0, "{out:?} {err}");
    assert!(
        err.contains(
            "line 1 not sent to lobby: the server cannot reach its cluster's store \
             (CLUSTER_UNAVAILABLE); try again"
        ),
        "{err}"
    );
    // Plain mode prints no line of its own that went through: the second
    // line was acknowledged silently (exit 0 says nothing is left queued).
    assert_eq!(
        err.matches("not sent").count(),
        1,
        "only the refused line is reported: {err}"
    );
}

/// The connection task's events, as the terminal UI receives them.
async fn until_event(
    handle: &mut confab_client::connection::Handle,
    wanted: impl Fn(&confab_client::event::Event) -> bool,
) -> confab_client::event::Event {
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
async fn the_terminal_ui_is_told_the_unacknowledged_message_was_not_sent() {
    // spec: CLUSTER-3
    use confab_client::command::Command;
    use confab_client::connection::{self, Options};
    use confab_client::event::{Event, Target};

    let (listener, addr) = node().await;
    let mut handle = connection::spawn(Options {
        addrs: vec![addr],
        name: Some("alice".into()),
        account: None,
        rooms: Vec::new(),
        reconnect: None,
        join_history: 0,
        tls: None,
        drain_timeout: std::time::Duration::from_secs(10),
        prompt_again: true,
    });
    let (mut framed, join) = accept_login(&listener, "node-a").await;
    answer_join(&mut framed, &join, 1).await;
    let say = Command::Say {
        room: "lobby".into(),
        body: "lost in the cluster".into(),
    };
    handle.commands.send(say).await.unwrap();
    let send = next_frame(&mut framed, |f| match f {
        Frame::SendMessage(send) => Some(send),
        _ => None,
    })
    .await;
    let refusal = ErrorFrame::new(
        ErrorCode::CLUSTER_UNAVAILABLE,
        code::SEND,
        send.client_ref,
        "the shared store is unreachable",
    );
    framed.send(Frame::ErrorFrame(refusal)).await.unwrap();
    let event = until_event(&mut handle, |e| {
        matches!(e, Event::NotSent { .. } | Event::Message { own: true, .. })
    })
    .await;
    let Event::NotSent {
        target,
        body,
        reason,
        ..
    } = event
    else {
        panic!("shown as sent: {event:?}");
    };
    assert_eq!(target, Target::Room("lobby".into()));
    assert_eq!(body, "lost in the cluster", "the user can send it again");
    assert!(
        reason.contains("cannot reach its cluster's store"),
        "{reason}"
    );
}
