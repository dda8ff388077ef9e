//! Section 22 in the terminal UI, in a real pseudo-terminal against scripted
//! nodes on 127.0.0.1: a message the cluster could not take is shown as not
//! sent, and a leaving node's user is told where the session goes and sees
//! the next node in the status bar.

mod cluster_support;
mod pty;
mod support;

use cluster_support::{accept_login, answer_join, close_on_goodbye, leave, next_send, node};
use confab_protocol::frame::{code, ErrorFrame, Frame};
use confab_protocol::ErrorCode;
use futures_util::SinkExt;
use pty::PtyClient;

/// The message pane's text as one line: rows without the left pane,
/// joined, so that a wrapped line reads as it was written.
fn flowed(screen: &vt100::Screen) -> String {
    let contents = screen.contents();
    let rows = contents
        .lines()
        .map(|row| row.split_once('│').map_or(row, |(_, pane)| pane).trim());
    rows.collect::<Vec<_>>().join(" ")
}

/// Waits until the message pane reads `text`, wrapped or not.
fn wait_for_flowed(alice: &PtyClient, text: &str) -> String {
    alice.wait_for(text, |s| flowed(s).contains(text))
}

#[test]
fn the_terminal_ui_shows_an_unsent_message_and_follows_a_leaving_node() {
    // spec: CLUSTER-3
    // spec: CLUSTER-4
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (listener_a, first) = runtime.block_on(node());
    let (listener_b, second) = runtime.block_on(node());
    let list = format!("{first},{second}");
    // A minute's backoff: only a reconnection "at once" is done in time.
    let mut alice =
        PtyClient::spawn(&[&list, "--name", "alice", "--reconnect-initial-ms", "60000"]);
    let mut node_a = runtime.block_on(async {
        let (mut framed, join) = accept_login(&listener_a, "node-a").await;
        answer_join(&mut framed, &join, 1).await;
        framed
    });
    alice.wait_for_text("#lobby · 2 here");

    alice.write(b"lost in the cluster\r");
    runtime.block_on(async {
        let send = next_send(&mut node_a).await;
        let refusal = ErrorFrame::new(
            ErrorCode::CLUSTER_UNAVAILABLE,
            code::SEND,
            send.client_ref,
            "the shared store is unreachable",
        );
        node_a.send(Frame::ErrorFrame(refusal)).await.unwrap();
    });
    wait_for_flowed(
        &alice,
        "not sent to lobby: the server cannot reach its cluster's store",
    );

    runtime.block_on(leave(node_a));
    let join = runtime.block_on(async {
        let (mut framed, join) = accept_login(&listener_b, "node-b").await;
        answer_join(&mut framed, &join, 1).await;
        close_on_goodbye(framed);
        join
    });
    assert_eq!(join.room.as_str(), "lobby", "{join:?}");
    wait_for_flowed(
        &alice,
        &format!("node-a is leaving; reconnecting to {second}"),
    );
    wait_for_flowed(&alice, &format!("connected to {second} (node-b)"));
    // The status bar names the node the session is on now.
    alice.wait_for_text(&format!("│ {second} │"));
    alice.write(b"\x03"); // Ctrl-C
    assert_eq!(alice.wait_exit(), Some(0));
}
