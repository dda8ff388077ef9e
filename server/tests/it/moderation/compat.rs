//! Clients that did not set HELLO `MODERATION` (`[MOD-2]`): plain NOTICEs
//! of what concerns them, ROOM_LIST as before.

use super::*;
use confab_protocol::frame::NoticeLevel;

async fn notice(client: &mut Client) -> (NoticeLevel, String) {
    match client.recv_skipping_presence().await {
        Frame::Notice(n) => (n.level, n.text.to_string()),
        other => panic!("{}: expected NOTICE, got {other:?}", client.name),
    }
}

#[tokio::test]
async fn an_older_client_gets_plain_notices() {
    // spec: MOD-2
    let dir = TempDir::new("mod-compat");
    let (server, _) = server(&dir).await;
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    settings(&mut fay, "den", RoomSettings::TOPIC, 0, 0, "be kind").await;
    expect_info(&mut fay).await;
    let mut old = user(&server, LoginMode::Guest, "old", false).await;
    // After JOINED, the topic as a level-0 NOTICE, no ROOM_INFO.
    let (_, replay) = old.enter("den", 0, 0).await;
    match replay.first() {
        Some(Frame::Notice(n)) => {
            assert_eq!(n.level, NoticeLevel::Info);
            assert!(
                n.text.contains("be kind") && n.text.contains("den"),
                "{n:?}"
            );
        }
        other => panic!("expected the topic NOTICE, got {other:?}"),
    }
    // A settings change is not sent to it.
    settings(&mut fay, "den", RoomSettings::MEMBER_LIMIT, 0, 9, "").await;
    expect_info(&mut fay).await;
    // Muted: level 1, naming the room, the actor and the reason.
    act(&mut fay, ModAction::Mute, "den", "old", "shouting").await;
    let (level, text) = notice(&mut old).await;
    assert_eq!(level, NoticeLevel::Warning);
    assert!(
        text.contains("fay") && text.contains("den") && text.contains("shouting"),
        "{text}"
    );
    // Kicked: level 1, then LEFT.
    act(&mut fay, ModAction::Kick, "den", "old", "enough").await;
    let (level, text) = notice(&mut old).await;
    assert_eq!(level, NoticeLevel::Warning);
    assert!(text.contains("kicked") && text.contains("enough"), "{text}");
    assert!(matches!(old.recv_skipping_presence().await, Frame::Left(_)));
    // Invited: level 0.
    act(&mut fay, ModAction::Invite, "den", "old", "").await;
    assert_eq!(notice(&mut old).await.0, NoticeLevel::Info);
    // LIST_ROOMS is answered with ROOM_LIST.
    old.list_rooms().await;
    assert!(matches!(
        old.recv_skipping_presence().await,
        Frame::RoomList(_)
    ));
    server.finish().await;
}

#[tokio::test]
async fn an_older_client_kicked_by_an_older_founder_gets_a_notice_then_left() {
    // spec: MOD-2, MOD-11
    let dir = TempDir::new("mod-compat-kick");
    let (server, _) = server(&dir).await;
    let mut fay = user(&server, LoginMode::Register, "fay", false).await;
    fay.enter("den", 0, 0).await;
    let (mut old, _) = Client::connect(server.addr).await;
    old.hello_flags(Hello::NO_AUTO_JOIN).await;
    old.send_login("old").await;
    assert!(matches!(
        old.recv_skipping_presence().await,
        Frame::Welcome(_)
    ));
    old.enter("den", 0, 0).await;
    act(&mut fay, ModAction::Kick, "den", "old", "enough").await;
    let (level, text) = notice(&mut old).await;
    assert_eq!(level, NoticeLevel::Warning);
    assert!(text.contains("enough"), "{text}");
    assert!(matches!(old.recv_skipping_presence().await, Frame::Left(_)));
    server.finish().await;
}
