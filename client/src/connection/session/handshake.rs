//! The handshake and the session's end, as the protocol session judges the
//! server's frames: GREETING, WELCOME, LOGIN_REJECTED, GOODBYE and fatal
//! errors; what the application handles goes on to `events.rs`.

use std::time::Duration;

use confab_protocol::frame::Frame;
use confab_protocol::session::ClientAction;
use confab_protocol::ErrorCode;
use futures_util::SinkExt;

use super::commands::send_join;
use super::Session;
use crate::connection::{Outcome, Wire};
use crate::event::Event;

impl Session<'_> {
    pub(super) async fn on_frame(&mut self, frame: Frame, framed: &mut Wire) -> Option<Outcome> {
        // Whether a name prompt is up, as it was when the server gave up on it.
        let prompt_up = self.protocol.login_owed();
        match self.protocol.handle(frame) {
            // spec: LIMITS-1 — informational: this client uses no limit of
            // the registry, so it takes LIMITS and goes on.
            ClientAction::Nothing | ClientAction::Ignored(_) | ClientAction::Limits(_) => {}
            ClientAction::Reply(reply) => {
                if let Err(e) = framed.send(reply).await {
                    return Some(Outcome::Lost(format!("connection failed: {e}")));
                }
            }
            ClientAction::Greeted(greeting) => {
                self.sending.greeted(&greeting);
                self.moderating.greeted(&greeting);
                framed.codec_mut().set_max_frame(self.protocol.max_frame());
                let limits = &greeting.limits;
                self.memory.max_body = Some(usize::from(limits.max_body));
                // spec: KEEPALIVE-3 — a live server pings within the interval
                // and waits the timeout for our answer; past both, with a
                // margin for the network, it is gone.
                self.silence_limit = Duration::from_millis(
                    u64::from(limits.ping_interval_ms) + u64::from(limits.ping_timeout_ms),
                ) + Duration::from_secs(1);
                if self.memory.rooms.is_empty() {
                    let mut rooms = vec![greeting.default_room.to_string()];
                    for room in &self.memory.extra_rooms {
                        if !rooms.contains(room) {
                            rooms.push(room.clone());
                        }
                    }
                    self.memory.rooms = rooms.into_iter().map(|r| (r, 0)).collect();
                }
                if let Some(node) = node_of(greeting.server.as_str()) {
                    self.node = crate::format::sanitize(node);
                }
                self.emit(Event::Connected {
                    addr: self.addr.to_string(),
                    server: greeting.server.to_string(),
                })
                .await;
                match self.memory.name.clone() {
                    Some(name) => {
                        if let Err(e) = self.send_login(&name, framed).await {
                            return Some(Outcome::Lost(format!("connection failed: {e}")));
                        }
                    }
                    None => {
                        // After TOO_MANY_ATTEMPTS: why the last name was refused.
                        let rejected = self.memory.refused.take().map(|reason| {
                            format!(
                                "{reason} (that was the last attempt the server allowed; \
                                 connected again, {} more)",
                                greeting.limits.login_attempts
                            )
                        });
                        self.emit(Event::NameRequired {
                            prompt: greeting.prompt.to_string(),
                            rejected,
                        })
                        .await;
                    }
                }
            }
            ClientAction::Welcomed(welcome) => {
                self.logged_in = true;
                // Registered once: every later connection logs in.
                let registered = self
                    .memory
                    .account
                    .as_mut()
                    .is_some_and(|account| std::mem::take(&mut account.register));
                if registered {
                    self.emit(Event::Registered {
                        name: welcome.username.to_string(),
                    })
                    .await;
                }
                self.memory.logged_in_once = true;
                self.memory.name = Some(welcome.username.to_string());
                self.emit(Event::LoggedIn {
                    name: welcome.username.to_string(),
                })
                .await;
                let rooms = self.memory.rooms.clone();
                // Messages in doubt from the last connection: a room's replay
                // settles them; any other goes again.
                let replayed: Vec<String> = rooms
                    .iter()
                    .filter(|(room, last_seq)| {
                        *last_seq > 0 || self.memory.outbox.uncertain_in(room)
                    })
                    .map(|(room, _)| room.clone())
                    .collect();
                self.memory.outbox.resend_unless_in(&replayed);
                for (room, last_seq) in rooms {
                    let history = if replayed.contains(&room) {
                        self.rejoining.push(room.clone());
                        u16::MAX
                    } else {
                        self.options.join_history
                    };
                    if let Err(e) = send_join(framed, &room, last_seq, history).await {
                        return Some(Outcome::Lost(format!("connection failed: {e}")));
                    }
                }
            }
            ClientAction::Rejected(rejected) => {
                self.memory.name = None;
                self.memory.account = None;
                let what = if rejected.code == ErrorCode::AUTH_FAILED {
                    "Try again"
                } else {
                    "Choose another name"
                };
                let left = rejected.attempts_left;
                if left == 0 && self.options.prompt_again {
                    // The server closes the connection now (TOO_MANY_ATTEMPTS):
                    // the prompt waits for the next connection.
                    self.memory.refused = Some(crate::format::sanitize(&rejected.message));
                    return None;
                }
                let attempts = if left == 1 { "attempt" } else { "attempts" };
                // The count goes with the prompt: a client that will not ask
                // again (plain mode with --name) shows only the reason. With
                // no attempt left there is no prompt (empty): the server
                // closes the connection (TOO_MANY_ATTEMPTS).
                let prompt = if left == 0 {
                    String::new()
                } else {
                    format!("{what} ({left} {attempts} left)")
                };
                self.emit(Event::NameRequired {
                    prompt,
                    rejected: Some(crate::format::sanitize(&rejected.message)),
                })
                .await;
            }
            ClientAction::Event(incoming) => self.on_incoming(incoming, framed).await,
            ClientAction::CloseWith(last) => {
                let _ = framed.send(last).await;
                return Some(Outcome::Fatal(
                    "the server speaks an unsupported protocol version".into(),
                ));
            }
            ClientAction::PeerClosed(closed) => {
                let reason = format!(
                    "{}: {}",
                    closed.reason,
                    crate::format::sanitize(&closed.message)
                );
                if closed.reason == ErrorCode::HANDSHAKE_TIMEOUT && self.options.prompt_again {
                    // A person at the prompt may take longer than the server
                    // waits: nothing is lost, the next name connects again.
                    self.memory.name = None;
                    self.memory.account = None;
                    return Some(Outcome::PromptIdle {
                        reason: "no name was entered within the server's time limit".into(),
                        asked: prompt_up,
                    });
                }
                if closed.reason == ErrorCode::TOO_MANY_ATTEMPTS
                    && self.options.prompt_again
                    && self.protocol.login_sent()
                {
                    self.memory.name = None;
                    self.memory.account = None;
                    self.memory.refused.get_or_insert(reason);
                    return Some(Outcome::PromptAgain);
                }
                return Some(match closed.reason {
                    ErrorCode::TOO_MANY_ATTEMPTS
                    | ErrorCode::UNSUPPORTED_VERSION
                    | ErrorCode::NOT_CONFAB
                    | ErrorCode::MALFORMED_FRAME
                    | ErrorCode::INVALID_UTF8
                    | ErrorCode::FRAME_TOO_LARGE
                    // spec: MOD-13 — put out by an operator: coming back is theirs to allow.
                    | ErrorCode::REMOVED
                    | ErrorCode::ADDRESS_BANNED => Outcome::Fatal(reason),
                    // spec: AUTH-4 — never reconnect into a takeover: two
                    // clients of one account would end each other forever.
                    ErrorCode::TAKEN_OVER => Outcome::Fatal(format!(
                        "{reason} (not reconnecting: log in again to take the session back)"
                    )),
                    // spec: CLUSTER-4 — another node carries on the session.
                    ErrorCode::NODE_LEAVING => Outcome::Leaving {
                        node: self.node.clone(),
                        reason,
                    },
                    _ => Outcome::Lost(reason),
                });
            }
        }
        None
    }
}

/// The node a GREETING's server field names (`[CLUSTER-2]`): confab-server
/// ends it with `node NAME`, e.g. `confab-server/0.1.0 node a` → `node a`;
/// another server's whole field. `None` for an empty field (the address
/// stands for the node then).
fn node_of(server: &str) -> Option<&str> {
    let server = server.trim();
    if server.is_empty() {
        return None;
    }
    Some(match server.rfind(" node ") {
        Some(at) if at + " node ".len() < server.len() => &server[at + 1..],
        _ => server,
    })
}

#[cfg(test)]
mod node_tests {
    use super::node_of;

    #[test]
    fn the_node_is_read_off_the_server_field() {
        assert_eq!(node_of("confab-server/0.1.0 node a"), Some("node a"));
        assert_eq!(node_of("other-server 2.0"), Some("other-server 2.0"));
        assert_eq!(
            node_of("confab-server/0.1.0 node "),
            Some("confab-server/0.1.0 node")
        );
        assert_eq!(node_of("  "), None);
    }
}
