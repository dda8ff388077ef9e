//! Section 22 from the connection task's side (the events the terminal UI
//! gets), against scripted nodes on 127.0.0.1: a message the cluster could
//! not take is reported unsent, and a message in flight when its node left
//! is settled by the next node's replay, neither lost nor sent twice.

mod cluster_support;

use std::time::Duration;

use cluster_support::until_event;
use cluster_support::{accept_login, answer_join, client, leave, next_send, node, post, say};
use confab_client::command::Command;
use confab_client::event::{Event, Target};
use confab_protocol::frame::{code, ErrorFrame, Frame, HistoryEnd, HistoryKind, Joined, Message};
use confab_protocol::ErrorCode;
use futures_util::SinkExt;

fn say_in_lobby(body: &str) -> Command {
    Command::Say {
        room: "lobby".into(),
        body: body.into(),
    }
}

#[tokio::test]
async fn the_terminal_ui_is_told_the_unacknowledged_message_was_not_sent() {
    // spec: CLUSTER-3
    let (listener, addr) = node().await;
    let mut handle = client(vec![addr], None);
    let (mut framed, join) = accept_login(&listener, "node-a").await;
    answer_join(&mut framed, &join, 1).await;
    let body = "lost in the cluster";
    handle.commands.send(say_in_lobby(body)).await.unwrap();
    let send = next_send(&mut framed).await;
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
        body: unsent,
        reason,
        ..
    } = event
    else {
        panic!("shown as sent: {event:?}");
    };
    assert_eq!(target, Target::Room("lobby".into()));
    assert_eq!(unsent, body, "the user has the text to send again");
    assert!(
        reason.contains("cannot reach its cluster's store"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_message_in_flight_when_its_node_left_is_settled_by_the_next_nodes_replay() {
    // spec: CLUSTER-4
    let (listener_a, first) = node().await;
    let (listener_b, second) = node().await;
    // A minute's backoff: only a reconnection "at once" is done in time.
    let mut handle = client(vec![first, second], Some(Duration::from_secs(60)));
    let (mut node_a, join) = accept_login(&listener_a, "node-a").await;
    answer_join(&mut node_a, &join, 1).await;
    say(&mut node_a, 1, "hello alice").await;
    until_event(&mut handle, |e| matches!(e, Event::Message { seq: 1, .. })).await;
    handle.commands.send(say_in_lobby("pending")).await.unwrap();
    // node-a takes it into the room as seq 2 and leaves before its ACK.
    next_send(&mut node_a).await;
    leave(node_a).await;

    let (mut node_b, join) = accept_login(&listener_b, "node-b").await;
    assert_eq!(
        join.since_seq, 1,
        "resumed after the last seq seen: {join:?}"
    );
    assert_eq!(join.history, u16::MAX, "the whole gap is replayed");
    let joined = Joined {
        room: join.room.clone(),
        next_seq: 3,
        members: 2,
    };
    node_b.send(Frame::Joined(joined)).await.unwrap();
    post(&mut node_b, 2, "alice", "pending", Message::HISTORY).await;
    let end = HistoryEnd {
        kind: HistoryKind::Room,
        target: join.room.clone(),
        count: 1,
        flags: 0,
    };
    node_b.send(Frame::HistoryEnd(end)).await.unwrap();
    let event = until_event(&mut handle, |e| {
        matches!(e, Event::Message { own: true, .. })
    })
    .await;
    assert!(
        matches!(&event, Event::Message { seq: 2, body, history: false, .. } if body == "pending"),
        "the replay is its acknowledgement: {event:?}"
    );
    // Not sent again: the next SEND node-b sees is the next line.
    handle.commands.send(say_in_lobby("after")).await.unwrap();
    let send = next_send(&mut node_b).await;
    assert_eq!(
        send.body.as_str(),
        "after",
        "no duplicate of the replayed one"
    );
}
