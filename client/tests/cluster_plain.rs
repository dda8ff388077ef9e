//! Section 22 from the client's side, with real `confab --plain` processes
//! and scripted nodes on 127.0.0.1: a list of addresses, failover to the
//! next node when one is unreachable or leaves, rooms resumed there with
//! `since_seq`, and a message the cluster could not take reported unsent.

mod cluster_support;
mod support;

use cluster_support::{accept_login, answer_join, close_on_goodbye, leave, next_send, node};
use cluster_support::{refusing_addr, say};
use confab_protocol::frame::{code, Ack, ErrorFrame, Frame, Goodbye};
use confab_protocol::ErrorCode;
use futures_util::SinkExt;
use support::{bodies_from, Launch, PlainClient, Stderr};

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
    leave(node_a).await;

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
    let send = next_send(&mut framed).await;
    let refusal = ErrorFrame::new(
        ErrorCode::CLUSTER_UNAVAILABLE,
        code::SEND,
        send.client_ref,
        "the shared store is unreachable",
    );
    framed.send(Frame::ErrorFrame(refusal)).await.unwrap();

    alice.line("this one goes").await;
    let send = next_send(&mut framed).await;
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

#[tokio::test]
async fn a_node_shutting_down_sends_the_client_to_the_next_one_after_its_backoff() {
    // spec: CLUSTER-4
    let (listener_a, first) = node().await;
    let (listener_b, second) = node().await;
    let list = format!("{first},{second}");
    let args = ["--name", "alice", "--reconnect-initial-ms", "20"];
    let mut alice = PlainClient::spawn_with(&list, &args, "alice", capture());
    let (mut node_a, join) = accept_login(&listener_a, "node-a").await;
    answer_join(&mut node_a, &join, 5).await;
    say(&mut node_a, 5, "five").await;
    alice.until(|l| l.ends_with("bob: five")).await;
    // Not a cluster's departure: an ordinary shutdown, or a crash, which
    // the client also answers with the next address (round robin).
    let goodbye = Goodbye::new(ErrorCode::SERVER_SHUTDOWN, "bye");
    node_a.send(Frame::Goodbye(goodbye)).await.unwrap();
    drop(node_a);
    let (node_b, join) = accept_login(&listener_b, "node-b").await;
    assert_eq!(join.since_seq, 5, "{join:?}");
    close_on_goodbye(node_b);
    let (code, out, err) = alice.finish().await;
    assert_eq!(code, 0, "{out:?} {err}");
    assert!(
        out.iter()
            .any(|l| l.starts_with("*** disconnected: SERVER_SHUTDOWN")),
        "{out:?}"
    );
}
