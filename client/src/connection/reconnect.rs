//! The reconnect loop: connect, run a session, back off (queueing meanwhile), connect again.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::outbox::Outbox;
use super::session::Session;
use super::{describe_io, Memory, Options, Outcome, ServerStream, REPORT_RETRY};
use crate::command::Command;
use crate::event::{Event, Target};

/// What a command becomes while there is no connection.
async fn offline_command(command: Command, memory: &mut Memory, events: &mpsc::Sender<Event>) {
    let event = match command {
        Command::Say { room, body } => memory.enqueue(Target::Room(room), body, false),
        Command::Direct { to, body } => memory.enqueue(Target::User(to), body, false),
        Command::Action { room, body } => memory.enqueue(Target::Room(room), body, true),
        Command::DirectAction { to, body } => memory.enqueue(Target::User(to), body, true),
        other => refusal_while_offline(&other),
    };
    if let Some(event) = event {
        let _ = events.send(event).await;
    }
    memory.report_queue(events);
}

/// Messages are queued while disconnected; other commands are refused, except
/// the UI's own member-list request, which the next JOINED repeats anyway.
fn refusal_while_offline(command: &Command) -> Option<Event> {
    match command {
        Command::Members { .. } => None,
        _ => Some(Event::Error {
            text: "not connected; reconnecting (messages are queued, commands are not)".into(),
        }),
    }
}

/// After `Outcome::PromptIdle`: waits for the user's next name (or quit).
/// Returns whether to connect again, logging in with it.
async fn wait_for_name(
    memory: &mut Memory,
    commands: &mut mpsc::Receiver<Command>,
    events: &mpsc::Sender<Event>,
) -> bool {
    loop {
        match commands.recv().await {
            None | Some(Command::Quit) => return false,
            Some(Command::Login { name, account }) => {
                memory.name = Some(name);
                memory.account = account;
                return true;
            }
            Some(command) => offline_command(command, memory, events).await,
        }
    }
}

pub(super) async fn run(
    options: Options,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
) {
    let mut memory = Memory {
        name: options.name.clone(),
        account: options.account.clone(),
        rooms: Vec::new(),
        extra_rooms: options.rooms.clone(),
        logged_in_once: false,
        outbox: Outbox::default(),
        reported: (0, 1),
        finishing: false,
        drain_deadline: None,
        max_body: None,
        oldest_fetched: std::collections::HashMap::new(),
        refused: None,
    };
    if options.addrs.is_empty() {
        let closed = Event::Closed {
            reason: "no server address given".into(),
            clean: false,
        };
        let _ = events.send(closed).await;
        return;
    }
    let mut attempt = 0u32;
    let mut failures = 0u32;
    // Which of the server's addresses (nodes) is tried next.
    let mut current = 0usize;
    // Before the first login: how many addresses were tried, and why each
    // one failed.
    let mut tried = 0usize;
    let mut unreached: Vec<String> = Vec::new();
    let goodbye = || Event::Closed {
        reason: "goodbye".into(),
        clean: true,
    };
    let lost = |reason| Event::Closed {
        reason,
        clean: false,
    };
    // Every way out of the reconnect loop ends in one Closed event.
    let closed = 'reconnect: loop {
        attempt += 1;
        let addr = options.addrs[current].clone();
        let _ = events
            .send(Event::Connecting {
                addr: addr.clone(),
                attempt,
            })
            .await;
        let opened = match memory.drain_deadline {
            // Finishing: even the connection attempt must not outlast the deadline.
            Some(deadline) => tokio::time::timeout_at(deadline, open(&addr, &options))
                .await
                .unwrap_or_else(|_| Err("timed out".into())),
            None => open(&addr, &options).await,
        };
        let mut unreachable = false;
        let outcome = match opened {
            Ok(stream) => {
                let mut session = Session::new(&options, &addr, &mut memory, &events);
                let outcome = session.run(stream, &mut commands).await;
                if session.logged_in() {
                    failures = 0;
                }
                outcome
            }
            Err(e) if !memory.logged_in_once => {
                unreachable = true;
                unreached.push(format!("{addr}: {e}"));
                Outcome::Fatal(format!("cannot connect to {}", unreached.join("; ")))
            }
            // Short: it is said again on each attempt.
            Err(e) => Outcome::Lost(format!("{addr}: {e}")),
        };
        memory.outbox.connection_lost();
        if unreachable || matches!(outcome, Outcome::Lost(_) | Outcome::Leaving { .. }) {
            // spec: CLUSTER-4 — the next node, round robin.
            current = (current + 1) % options.addrs.len();
            if !memory.logged_in_once {
                // The first connection tries each address once before giving up.
                if let Outcome::Lost(why) | Outcome::Leaving { reason: why, .. } = &outcome {
                    unreached.push(format!("{addr}: {why}"));
                }
                tried += 1;
                if tried < options.addrs.len() {
                    continue 'reconnect;
                }
            }
        }
        // A node's departure with another node to go to: the next try is at
        // once, unless the last one after a departure failed already (no
        // spinning between nodes that all leave).
        let mut leaving = None;
        let reason = match outcome {
            Outcome::Quit => break goodbye(),
            Outcome::Fatal(reason) => break lost(memory.undelivered(&reason)),
            Outcome::Lost(reason) => reason,
            Outcome::Leaving { node, reason } if options.addrs.len() > 1 => {
                if failures == 0 {
                    let next = &options.addrs[current];
                    leaving = Some(format!("{node} is leaving; reconnecting to {next}"));
                }
                format!("{node} is leaving ({reason})")
            }
            Outcome::Leaving { reason, .. } => reason,
            // A fresh connection, fresh attempts; the user is asked again.
            Outcome::PromptAgain => continue 'reconnect,
            Outcome::PromptIdle { reason, asked } => {
                let _ = events
                    .send(Event::Disconnected {
                        reason: format!("{reason}; enter a name to connect again"),
                        retry_in: None,
                    })
                    .await;
                if !asked {
                    // A login was on its way: the prompt comes back.
                    let _ = events
                        .send(Event::NameRequired {
                            prompt: "Enter a name to connect again".into(),
                            rejected: None,
                        })
                        .await;
                }
                if wait_for_name(&mut memory, &mut commands, &events).await {
                    continue 'reconnect;
                }
                break goodbye();
            }
        };
        if memory.finishing && memory.outbox.is_empty() {
            // Nothing left to deliver: no reason to wait for the server.
            break goodbye();
        }
        let Some(backoff) = options.reconnect.filter(|_| memory.logged_in_once) else {
            break lost(memory.undelivered(&reason));
        };
        memory.start_drain_clock(options.drain_timeout);
        // Each round of the address list doubles the delay (one address:
        // each attempt, as ever).
        let rounds = failures / options.addrs.len() as u32;
        let delay = match leaving {
            Some(_) => Duration::ZERO,
            None => backoff
                .initial
                .saturating_mul(1 << rounds.min(16))
                .min(backoff.max),
        };
        failures += 1;
        let disconnected = match leaving {
            Some(note) => Event::Disconnected {
                reason: note,
                retry_in: None,
            },
            None => Event::Disconnected {
                reason,
                retry_in: Some(delay),
            },
        };
        let _ = events.send(disconnected).await;
        let deadline = Instant::now() + delay;
        loop {
            let give_up = memory.drain_deadline;
            let owed = memory.report_owed();
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = tokio::time::sleep(REPORT_RETRY), if owed => memory.report_queue(&events),
                _ = tokio::time::sleep_until(give_up.unwrap_or(deadline)), if give_up.is_some() => {
                    break 'reconnect lost(memory.undelivered("the server cannot be reached"));
                }
                command = commands.recv(), if !memory.finishing && memory.outbox.has_room() => match command {
                    None | Some(Command::Quit) => {
                        memory.finishing = true;
                        if memory.outbox.is_empty() {
                            break 'reconnect goodbye();
                        }
                        memory.start_drain_clock(options.drain_timeout);
                    }
                    Some(command) => offline_command(command, &mut memory, &events).await,
                },
            }
        }
    };
    let _ = events.send(closed).await;
}

/// TCP to the server, wrapped in TLS when asked for; the error in words.
async fn open(addr: &str, options: &Options) -> Result<Box<dyn ServerStream>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| describe_io(&e))?;
    let _ = stream.set_nodelay(true);
    let Some(connector) = &options.tls else {
        return Ok(Box::new(stream));
    };
    let host = crate::tls::server_name(addr).map_err(|e| describe_io(&e))?;
    let tls = connector
        .connect(host, stream)
        .await
        .map_err(|e| crate::tls::explain(&e))?;
    Ok(Box::new(tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uis_member_request_is_dropped_offline_but_a_users_who_is_refused() {
        let members = Command::Members {
            room: "lobby".into(),
        };
        assert!(refusal_while_offline(&members).is_none());
        let who = Command::Who { room: None };
        assert!(matches!(
            refusal_while_offline(&who),
            Some(Event::Error { text }) if text.contains("commands are not")
        ));
    }
}
