//! Server-wide actions (`[MOD-13]`): disconnect, server bans by name and by
//! address pattern, and announcements.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use confab_protocol::frame::{Greeting, NoticeLevel};
use confab_protocol::ErrorCode;

#[tokio::test]
async fn a_server_operator_disconnects_bans_and_announces() {
    // spec: MOD-1, MOD-13
    let dir = TempDir::new("mod-server");
    let (server, clock) = server(&dir).await;
    let (probe, greeting) = Client::connect(server.addr).await;
    let Frame::Greeting(greeting) = greeting else {
        panic!()
    };
    assert_ne!(greeting.flags & Greeting::MODERATION, 0);
    drop(probe);
    let mut root = registered(&server, "root").await;
    let mut bob = guest(&server, "bob").await;

    // DISCONNECT: the event, then GOODBYE REMOVED naming actor and reason.
    act(&mut root, ModAction::Disconnect, "", "bob", "go away").await;
    assert_eq!(expect_event(&mut bob).await.action, ModAction::Disconnect);
    match bob.recv_skipping_presence().await {
        Frame::Goodbye(bye) => {
            assert_eq!(bye.reason, ErrorCode::REMOVED);
            assert!(
                bye.message.contains("root") && bye.message.contains("go away"),
                "{bye:?}"
            );
        }
        other => panic!("expected GOODBYE, got {other:?}"),
    }
    bob.expect_closed().await;

    // SERVER_BAN of a name: its LOGIN is refused until it expires.
    moderate(&mut root, ModAction::ServerBan, "", "bob", 5_000, "spam").await;
    let ban = expect_event(&mut root).await;
    assert_eq!((ban.room.as_str(), ban.expires), ("", ban.time + 5_000));
    let (mut again, _) = Client::connect(server.addr).await;
    again.hello().await;
    let rejected = again
        .try_login(LoginMode::Guest, "bob", "")
        .await
        .expect_err("banned");
    assert_eq!(rejected.code, ErrorCode::ACCOUNT_BANNED);
    assert!(rejected.message.contains("until"), "{rejected:?}");
    clock.advance(5_000);
    again.try_login(LoginMode::Guest, "bob", "").await.unwrap();

    // SERVER_BAN of a pattern: matching connections go, new ones are refused.
    let local = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7));
    let mut eve = Client::connect_from(server.addr, local).await;
    eve.greet_and_login("eve", Hello::MODERATION).await;
    act(&mut root, ModAction::ServerBan, "", "@127.0.0.7", "").await;
    assert_eq!(expect_event(&mut eve).await.action, ModAction::ServerBan);
    assert!(matches!(
        eve.recv_skipping_presence().await,
        Frame::Goodbye(_)
    ));
    let mut refused = Client::connect_from(server.addr, local).await;
    refused
        .expect_fatal_then_close(ErrorCode::ADDRESS_BANNED)
        .await;
    act(&mut root, ModAction::ServerUnban, "", "@127.0.0.7/32", "").await;
    let mut back = Client::connect_from(server.addr, local).await;
    back.greet_and_login("eve2", 0).await;

    // ANNOUNCE: a NOTICE to everyone, the event to the requester.
    let event = act(&mut root, ModAction::Announce, "", "", "restart at noon").await;
    assert_eq!(event.reason.as_str(), "restart at noon");
    for client in [&mut back, &mut root] {
        match client.recv_skipping_presence().await {
            Frame::Notice(n) => {
                assert_eq!(
                    (n.level, n.text.as_str()),
                    (NoticeLevel::Warning, "restart at noon")
                )
            }
            other => panic!("expected NOTICE, got {other:?}"),
        }
    }
    server.finish().await;
}
