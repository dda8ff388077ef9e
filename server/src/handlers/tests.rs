//! The handlers on their own: services over the in-memory log, peers with
//! outboxes and no socket, requests handed to `dispatch` as the session
//! would (`[ROOM-1]`, `[ROOM-5]`, `[MSG-1]`, `[MSG-6]`, `[CLOSE-3]`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use bytes::Bytes;
use confab_protocol::frame::{Frame, Join, Leave, PresenceEvent, SendMessage};
use confab_protocol::session::Request;
use confab_protocol::{ErrorCode, Str16, Str8};

use super::{disconnect, dispatch};
use crate::account_book::Accounts;
use crate::admission::Gate;
use crate::config::Config;
use crate::connection::outbox::Outbox;
use crate::connection::Peer;
use crate::hub::Member;
use crate::services::Services;

struct Server {
    services: Services,
    accounts: Accounts,
    gate: Arc<Gate>,
}

impl Server {
    fn new() -> Server {
        let config = Config::default();
        Server {
            gate: Arc::new(Gate::new(&config, Bytes::new(), Bytes::new())),
            services: Services::in_memory(config),
            accounts: Accounts::new(None, None, false, [], []),
        }
    }

    /// A logged-in client with no socket.
    fn client(&self, id: u64, name: &str) -> Client {
        let outbox = Arc::new(Outbox::new(Arc::clone(&self.services.queued)));
        let me = Arc::new(Member {
            conn_id: id,
            name: Str8::truncated(name),
            outbox: Arc::clone(&outbox),
            history_floor: AtomicU64::new(0),
            moderation: crate::hub::MemberModeration {
                key: crate::hub::key_of(name),
                registered: false,
                aware: false,
                ip: std::net::IpAddr::from([127, 0, 0, 1]),
                removed: Default::default(),
            },
        });
        assert!(self.services.hub.claim_name(&me));
        let addr = SocketAddr::from(([127, 0, 0, 1], 40_000 + id as u16));
        let peer = Peer {
            id,
            addr,
            outbox,
            rooms: Vec::new(),
            admission: self.gate.admit(addr.ip()).expect("admitted"),
            unacked: Default::default(),
            metrics: Arc::clone(&self.services.metrics),
        };
        Client { me, peer }
    }

    async fn handle(&self, client: &mut Client, request: Request) {
        dispatch(
            &self.services,
            &self.accounts,
            &client.me,
            &mut client.peer,
            request,
        )
        .await;
    }

    async fn join(&self, client: &mut Client, room: &str) {
        let join = Join {
            room: Str8::truncated(room),
            since_seq: 0,
            history: 0,
        };
        self.handle(client, Request::Join(join)).await;
    }

    async fn send(&self, client: &mut Client, room: &str, client_ref: u32, body: &str) {
        let send = SendMessage {
            client_ref,
            room: Str8::truncated(room),
            body: Str16::truncated(body),
        };
        self.handle(client, Request::SendMessage(send)).await;
    }
}

struct Client {
    me: Arc<Member>,
    peer: Peer,
}

impl Client {
    /// The frames queued for this client since the last look.
    fn frames(&self) -> Vec<Frame> {
        let mut queued = VecDeque::new();
        // Queued frames are taken at once; an empty queue would wait.
        if let Some((taken, _)) = futures_now(self.peer.outbox.drain()) {
            queued = taken;
        }
        crate::test_frames::decode_all(&queued)
    }

    fn errors(&self) -> Vec<ErrorCode> {
        self.frames()
            .into_iter()
            .filter_map(|frame| match frame {
                Frame::ErrorFrame(error) => Some(error.code),
                _ => None,
            })
            .collect()
    }
}

/// Polls `future` once.
fn futures_now<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let waker = std::task::Waker::noop();
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(waker))
    {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

#[tokio::test]
async fn a_message_reaches_the_rooms_members_and_its_sender_gets_the_ack() {
    // spec: MSG-1, MSG-2
    let server = Server::new();
    let (mut alice, mut bob) = (server.client(1, "alice"), server.client(2, "bob"));
    server.join(&mut alice, "lobby").await;
    server.join(&mut bob, "Lobby").await;
    assert_eq!(alice.peer.rooms.len(), 1);
    let (_, _) = (alice.frames(), bob.frames());

    server.send(&mut alice, "LOBBY", 7, "hello").await;

    let acks: Vec<u32> = alice
        .frames()
        .into_iter()
        .filter_map(|f| match f {
            Frame::Ack(ack) => Some(ack.client_ref),
            _ => None,
        })
        .collect();
    assert_eq!(acks, [7], "the sender's ACK carries its client_ref");
    let bodies: Vec<String> = bob
        .frames()
        .into_iter()
        .filter_map(|f| match f {
            Frame::Message(m) => Some(m.body.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, ["hello"]);
}

#[tokio::test]
async fn a_send_outside_the_room_or_with_a_blank_body_is_refused() {
    // spec: MSG-6, ROOM-1
    let server = Server::new();
    let mut alice = server.client(1, "alice");
    server.send(&mut alice, "lobby", 1, "hello").await;
    assert_eq!(alice.errors(), [ErrorCode::NOT_IN_ROOM]);
    server.join(&mut alice, "lobby").await;
    alice.frames();
    server.send(&mut alice, "lobby", 2, "   ").await;
    assert_eq!(alice.errors(), [ErrorCode::EMPTY_MESSAGE]);
}

#[tokio::test]
async fn leave_answers_left_tells_the_others_and_forgets_the_room() {
    // spec: ROOM-5
    let server = Server::new();
    let (mut alice, mut bob) = (server.client(1, "alice"), server.client(2, "bob"));
    server.join(&mut alice, "lobby").await;
    server.join(&mut bob, "lobby").await;
    let (_, _) = (alice.frames(), bob.frames());

    let leave = Leave {
        room: Str8::truncated("lobby"),
    };
    server
        .handle(&mut alice, Request::Leave(leave.clone()))
        .await;
    assert!(alice.peer.rooms.is_empty());
    assert!(matches!(&alice.frames()[..], [Frame::Left(left)] if left.room.as_str() == "lobby"));
    let events: Vec<PresenceEvent> = bob
        .frames()
        .into_iter()
        .filter_map(|f| match f {
            Frame::Presence(p) => Some(p.event),
            _ => None,
        })
        .collect();
    assert_eq!(events, [PresenceEvent::Left]);

    server.handle(&mut alice, Request::Leave(leave)).await;
    assert_eq!(alice.errors(), [ErrorCode::NOT_IN_ROOM], "left already");
}

#[tokio::test]
async fn disconnect_frees_the_name_and_lets_an_empty_room_go() {
    // spec: CLOSE-3, LIMIT-5
    let server = Server::new();
    let mut alice = server.client(1, "alice");
    server.join(&mut alice, "attic").await;
    assert!(server.services.hub.room("attic").is_some());

    disconnect(&server.services, &alice.me, &mut alice.peer);

    assert!(
        server.services.hub.user("alice").is_none(),
        "the name is free"
    );
    assert!(alice.peer.rooms.is_empty());
    // The in-memory log keeps a room with history; this one had none.
    assert!(server.services.hub.room("attic").is_none());
}

#[test]
fn pages_respect_the_budget_and_keep_order() {
    let items: Vec<u32> = (0..10).collect();
    let split = super::pages(items, |_| 4, 12);
    assert_eq!(
        split,
        vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]
    );
    let empty: Vec<Vec<u32>> = super::pages(Vec::new(), |_| 4, 12);
    assert_eq!(empty, vec![Vec::<u32>::new()]);
}
