//! Room settings (`[MOD-5]`–`[MOD-8]`, `[MOD-17]`) and the audit log (`[MOD-16]`).

use super::*;
use confab_protocol::frame::{modes, Audit, AuditEntries, Role};
use confab_protocol::ErrorCode;

#[tokio::test]
async fn the_topic_is_shown_on_join_and_in_the_room_list() {
    // spec: MOD-5, MOD-6, MOD-17
    let dir = TempDir::new("mod-topic");
    let (server, clock) = server(&dir).await;
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    let mut bob = guest(&server, "bob").await;
    enter_aware(&mut bob, "den").await;
    settings(&mut fay, "den", RoomSettings::TOPIC, 0, 0, "quiet please").await;
    let info = expect_info(&mut fay).await;
    assert_eq!(
        (info.topic.as_str(), info.topic_by.as_str(), info.topic_at),
        ("quiet please", "fay", clock.now())
    );
    assert_eq!(
        (info.changed_by.as_str(), info.role),
        ("fay", Role::Founder)
    );
    // Every member that reads ROOM_INFO hears of it, with its own role.
    let heard = expect_info(&mut bob).await;
    assert_eq!(
        (heard.topic.as_str(), heard.role),
        ("quiet please", Role::User)
    );

    let mut ann = guest(&server, "ann").await;
    let joined = enter_aware(&mut ann, "den").await;
    assert_eq!(
        (joined.topic.as_str(), joined.changed_by.as_str()),
        ("quiet please", "")
    );
    ann.list_rooms().await;
    match ann.recv_skipping_presence().await {
        Frame::RoomListInfo(list) => {
            let den = list
                .rooms
                .iter()
                .find(|r| r.name.as_str() == "den")
                .unwrap();
            assert_eq!((den.members, den.topic.as_str()), (3, "quiet please"));
        }
        other => panic!("expected ROOM_LIST_INFO, got {other:?}"),
    }
    // change 0 asks, needing no role and no membership.
    let mut out = guest(&server, "out").await;
    settings(&mut out, "den", 0, 0, 0, "").await;
    assert_eq!(expect_info(&mut out).await.topic.as_str(), "quiet please");
    server.finish().await;
}

#[tokio::test]
async fn invite_only_lets_the_invited_in_once() {
    // spec: MOD-7, MOD-8
    let dir = TempDir::new("mod-invite");
    let (server, _) = server(&dir).await;
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    settings(
        &mut fay,
        "den",
        RoomSettings::MODES,
        modes::INVITE_ONLY,
        0,
        "",
    )
    .await;
    assert_eq!(expect_info(&mut fay).await.modes, modes::INVITE_ONLY);
    let mut bob = guest(&server, "bob").await;
    bob.join("den", 0, 0).await;
    let error = bob.expect_error(ErrorCode::INVITE_ONLY).await;
    assert!(error.message.contains("den"), "{error:?}");
    act(&mut fay, ModAction::Invite, "den", "bob", "welcome").await;
    let invited = expect_event(&mut bob).await;
    assert_eq!(
        (invited.action, invited.actor.as_str()),
        (ModAction::Invite, "fay")
    );
    enter_aware(&mut bob, "den").await;
    bob.leave("den").await;
    assert!(matches!(bob.recv_skipping_presence().await, Frame::Left(_)));
    bob.join("den", 0, 0).await;
    bob.expect_error(ErrorCode::INVITE_ONLY).await;
    server.finish().await;
}

#[tokio::test]
async fn the_member_limit_refuses_newcomers_but_not_operators() {
    // spec: MOD-5, MOD-7
    let dir = TempDir::new("mod-limit");
    let (server, _) = server(&dir).await;
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    settings(&mut fay, "den", RoomSettings::MEMBER_LIMIT, 0, 1, "").await;
    assert_eq!(expect_info(&mut fay).await.member_limit, 1);
    let mut bob = guest(&server, "bob").await;
    bob.join("den", 0, 0).await;
    bob.expect_error(ErrorCode::ROOM_FULL).await;
    let mut root = registered(&server, "root").await;
    assert_eq!(
        enter_aware(&mut root, "den").await.role,
        Role::ServerOperator
    );
    server.finish().await;
}

#[tokio::test]
async fn the_audit_log_pages_backwards_and_names_who_did_what() {
    // spec: MOD-15, MOD-16
    let dir = TempDir::new("mod-audit");
    let (server, _) = server(&dir).await;
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    let mut ids = Vec::new();
    for reason in ["one", "two", "three"] {
        ids.push(act(&mut fay, ModAction::Ban, "den", "bob", reason).await.id);
    }
    settings(&mut fay, "den", RoomSettings::MEMBER_LIMIT, 0, 50, "").await;
    expect_info(&mut fay).await;
    let audit = |room: &str, before, limit| {
        Frame::Audit(Audit {
            room: Str8::new(room).unwrap(),
            before,
            limit,
        })
    };
    fay.send(audit("DEN", 0, 2)).await;
    let page = match fay.recv_skipping_presence().await {
        Frame::AuditEntries(page) => page,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (page.room.as_str(), page.flags),
        ("den", AuditEntries::OLDER)
    );
    let got: Vec<(ModAction, &str)> = page
        .entries
        .iter()
        .map(|e| (e.action, e.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (ModAction::Ban, "three"),
            (ModAction::Settings, "member limit 50")
        ]
    );
    fay.send(audit("den", page.entries[0].id, 0)).await;
    match fay.recv_skipping_presence().await {
        Frame::AuditEntries(older) => {
            let got: Vec<u64> = older.entries.iter().map(|e| e.id).collect();
            assert_eq!((got, older.flags), (ids[..2].to_vec(), 0));
        }
        other => panic!("{other:?}"),
    }
    // The whole log is for server operators.
    let mut root = registered(&server, "root").await;
    root.send(audit("", 0, 0)).await;
    match root.recv_skipping_presence().await {
        Frame::AuditEntries(all) => assert_eq!(all.entries.len(), 4),
        other => panic!("{other:?}"),
    }
    server.finish().await;
}
