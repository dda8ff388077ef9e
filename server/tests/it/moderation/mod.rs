//! Moderation over real loopback TCP (spec section 21, `[MOD-1]`–`[MOD-21]`):
//! roles, room settings, bans with expiry (a manual clock, no sleeps),
//! server-wide actions, the audit log and the NOTICEs of older clients.

mod bans;
mod compat;
mod refusals;
mod roles;
mod server_wide;
mod settings;

use crate::common;

use common::{login_frame, Client, TempDir, TestServer};
use confab_protocol::frame::{
    Frame, Hello, LoginMode, ModAction, Moderate, ModerationEvent, RoomInfo, RoomSettings,
};
use confab_protocol::{Str16, Str8};
use confab_server::clock::Clock;

/// A server with accounts (a store in `dir`), `root` its server operator,
/// and a manual clock.
pub async fn server(dir: &TempDir) -> (TestServer, Clock) {
    let clock = Clock::manual(1_800_000_000_000);
    let mut config = TestServer::persistent_config(dir.path());
    config.operators = vec!["root".into()];
    config.clock = clock.clone();
    (TestServer::start(config).await, clock)
}

/// Registers (or logs in, when `mode` says) `name`; `aware`: HELLO sets
/// `MODERATION`. The auto-join of the lobby is consumed.
pub async fn user(server: &TestServer, mode: LoginMode, name: &str, aware: bool) -> Client {
    let (mut client, _) = Client::connect(server.addr).await;
    client
        .hello_flags(if aware { Hello::MODERATION } else { 0 })
        .await;
    let password = if mode == LoginMode::Guest {
        ""
    } else {
        "password"
    };
    client.send(login_frame(mode, name, password)).await;
    match client.recv_skipping_presence().await {
        Frame::Welcome(w) => client.name = w.username.to_string(),
        other => panic!("{name}: expected WELCOME, got {other:?}"),
    }
    client.expect_joined("lobby").await;
    client
}

pub async fn registered(server: &TestServer, name: &str) -> Client {
    user(server, LoginMode::Register, name, true).await
}

pub async fn guest(server: &TestServer, name: &str) -> Client {
    user(server, LoginMode::Guest, name, true).await
}

/// Sends MODERATE.
pub async fn moderate(
    client: &mut Client,
    action: ModAction,
    room: &str,
    target: &str,
    duration_ms: u64,
    reason: &str,
) {
    client
        .send(Frame::Moderate(Moderate {
            action,
            room: Str8::new(room).unwrap(),
            target: Str8::new(target).unwrap(),
            duration_ms,
            reason: Str16::new(reason).unwrap(),
        }))
        .await;
}

/// MODERATE, then its answer: the event.
pub async fn act(
    client: &mut Client,
    action: ModAction,
    room: &str,
    target: &str,
    reason: &str,
) -> ModerationEvent {
    moderate(client, action, room, target, 0, reason).await;
    expect_event(client).await
}

/// The next frame other than PRESENCE must be a MODERATION_EVENT.
pub async fn expect_event(client: &mut Client) -> ModerationEvent {
    match client.recv_skipping_presence().await {
        Frame::ModerationEvent(e) => e,
        other => panic!("{}: expected MODERATION_EVENT, got {other:?}", client.name),
    }
}

/// The next frame other than PRESENCE must be a ROOM_INFO.
pub async fn expect_info(client: &mut Client) -> RoomInfo {
    match client.recv_skipping_presence().await {
        Frame::RoomInfo(i) => i,
        other => panic!("{}: expected ROOM_INFO, got {other:?}", client.name),
    }
}

/// Sends ROOM_SETTINGS.
pub async fn settings(
    client: &mut Client,
    room: &str,
    change: u8,
    modes: u8,
    limit: u32,
    topic: &str,
) {
    client
        .send(Frame::RoomSettings(RoomSettings {
            room: Str8::new(room).unwrap(),
            change,
            modes,
            member_limit: limit,
            topic: Str16::new(topic).unwrap(),
        }))
        .await;
}

/// JOIN of `room` answered JOINED, ROOM_INFO (an aware client), replay, HISTORY_END.
pub async fn enter_aware(client: &mut Client, room: &str) -> RoomInfo {
    let (_, replay) = client.enter(room, 0, 0).await;
    match replay.first() {
        Some(Frame::RoomInfo(info)) => info.clone(),
        other => panic!(
            "{}: expected ROOM_INFO after JOINED, got {other:?}",
            client.name
        ),
    }
}

/// The next MODERATION_EVENT of `action`, skipping other events and PRESENCE.
pub async fn expect_event_of(client: &mut Client, action: ModAction) -> ModerationEvent {
    for _ in 0..100 {
        let event = expect_event(client).await;
        if event.action == action {
            return event;
        }
    }
    panic!("{}: no {action:?} event", client.name);
}
