//! The connection task's send queue across a server restart, driven through
//! its `Handle` as both front ends drive it, against a real server.

use std::time::Duration;

use confab_client::command::Command;
use confab_client::connection::{self, Backoff, Handle, Options};
use confab_client::event::Event;
use confab_server::Config;
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(15);

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
    .expect("the expected event came")
}

fn client(addr: &str, name: &str, join_history: u16) -> Handle {
    connection::spawn(Options {
        addrs: vec![addr.to_string()],
        name: Some(name.into()),
        account: None,
        rooms: Vec::new(),
        reconnect: Some(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(200),
        }),
        join_history,
        tls: None,
        drain_timeout: Duration::from_secs(10),
        prompt_again: false,
    })
}

fn say(body: &str) -> Command {
    Command::Say {
        room: "lobby".into(),
        body: body.into(),
    }
}

#[tokio::test]
async fn a_message_sent_while_reconnecting_is_queued_and_delivered_after_login() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let first = CancellationToken::new();
    let server = tokio::spawn(confab_server::run(
        listener,
        Config::default(),
        first.clone(),
    ));
    let mut alice = client(&addr.to_string(), "alice", 0);
    until(&mut alice, |e| matches!(e, Event::Joined { .. })).await;
    first.cancel();
    server.await.unwrap().unwrap();
    until(&mut alice, |e| matches!(e, Event::Disconnected { .. })).await;

    alice.commands.send(say("typed while away")).await.unwrap();
    let queued = until(&mut alice, |e| {
        matches!(e, Event::Outgoing { .. } | Event::Error { .. })
    })
    .await;
    assert_eq!(
        queued,
        Event::Outgoing {
            queued: 1,
            oldest: 1
        },
        "queued, not refused"
    );

    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let second = CancellationToken::new();
    tokio::spawn(confab_server::run(
        listener,
        Config::default(),
        second.clone(),
    ));
    let sent = until(&mut alice, |e| {
        matches!(e, Event::Message { own: true, .. } | Event::Error { .. })
    })
    .await;
    assert!(
        matches!(&sent, Event::Message { body, history: false, .. } if body == "typed while away"),
        "acknowledged after the new login: {sent:?}"
    );
    let emptied = until(&mut alice, |e| matches!(e, Event::Outgoing { .. })).await;
    assert_eq!(
        emptied,
        Event::Outgoing {
            queued: 0,
            oldest: 2
        }
    );
    // Another member reads it from the room's history: it was delivered once.
    let mut bob = client(&addr.to_string(), "bob", 50);
    let replayed = until(&mut bob, |e| matches!(e, Event::HistoryEnd { .. })).await;
    assert!(
        matches!(replayed, Event::HistoryEnd { count: 1, .. }),
        "{replayed:?}"
    );
    alice.commands.send(Command::Quit).await.unwrap();
    bob.commands.send(Command::Quit).await.unwrap();
    until(&mut alice, |e| {
        matches!(e, Event::Closed { clean: true, .. })
    })
    .await;
    second.cancel();
}

#[tokio::test]
async fn a_full_queue_stops_taking_commands() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(confab_server::run(
        listener,
        Config::default(),
        shutdown.clone(),
    ));
    let mut alice = client(&addr, "alice", 0);
    until(&mut alice, |e| matches!(e, Event::Joined { .. })).await;
    shutdown.cancel();
    server.await.unwrap().unwrap();
    until(&mut alice, |e| matches!(e, Event::Disconnected { .. })).await;

    // Nothing can leave while the server is gone: the queue fills up.
    let full = connection::QUEUE_MAX_MESSAGES;
    for n in 0..full {
        let sent = tokio::time::timeout(PATIENCE, alice.commands.send(say(&format!("m{n}"))));
        sent.await.expect("taken while there is room").unwrap();
    }
    let queued = until(
        &mut alice,
        |e| matches!(e, Event::Outgoing { queued, .. } if *queued == full),
    )
    .await;
    assert_eq!(
        queued,
        Event::Outgoing {
            queued: full,
            oldest: 1
        }
    );
    // The command channel fills up behind it, and then holds up the sender.
    let mut accepted = 0;
    while alice.commands.try_send(say("more")).is_ok() {
        accepted += 1;
        assert!(accepted <= 256, "the channel is bounded");
    }
    assert_eq!(accepted, alice.commands.max_capacity());
    // Two more reconnection attempts: the connection task went round its
    // loop, where it takes commands when there is room, and took none.
    for _ in 0..2 {
        let event = until(&mut alice, |e| {
            matches!(e, Event::Disconnected { .. } | Event::Outgoing { .. })
        })
        .await;
        assert!(
            matches!(event, Event::Disconnected { .. }),
            "the queue did not grow: {event:?}"
        );
    }
    assert_eq!(alice.commands.capacity(), 0, "nothing more was taken");
}
