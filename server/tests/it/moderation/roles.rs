//! Founders, room operators and voice (`[MOD-3]`, `[MOD-4]`, `[MOD-6]`, `[MOD-11]`).

use super::*;
use confab_protocol::frame::{Role, RoomSettings};
use confab_protocol::ErrorCode;

#[tokio::test]
async fn the_founder_makes_operators_whose_rights_end_with_deop() {
    // spec: MOD-3, MOD-4, MOD-11, MOD-12
    let dir = TempDir::new("mod-roles");
    let (server, _) = server(&dir).await;
    let mut fay = registered(&server, "fay").await;
    let info = enter_aware(&mut fay, "den").await;
    assert_eq!((info.role, info.founder.as_str()), (Role::Founder, "fay"));
    let mut al = registered(&server, "al").await;
    assert_eq!(enter_aware(&mut al, "den").await.role, Role::User);
    let mut bob = guest(&server, "bob").await;
    bob.enter("den", 0, 0).await;

    let event = act(&mut fay, ModAction::Op, "den", "AL", "helps").await;
    assert_eq!((event.action, event.target.as_str()), (ModAction::Op, "al"));
    assert_eq!(expect_event(&mut al).await.id, event.id, "the target hears");
    // A room operator kicks; the kicked guest sees who and why, then LEFT.
    let kick = act(&mut al, ModAction::Kick, "den", "bob", "spam").await;
    let seen = expect_event_of(&mut bob, ModAction::Kick).await;
    assert_eq!((seen.actor.as_str(), seen.reason.as_str()), ("al", "spam"));
    assert_eq!(seen.id, kick.id);
    match bob.recv_skipping_presence().await {
        Frame::Left(left) => assert_eq!(left.room.as_str(), "den"),
        other => panic!("expected LEFT, got {other:?}"),
    }
    assert_eq!(
        expect_event_of(&mut fay, ModAction::Kick).await.id,
        kick.id,
        "members hear"
    );
    // An operator cannot deop, kick the founder, or another operator.
    moderate(&mut al, ModAction::Deop, "den", "fay", 0, "").await;
    al.expect_error(ErrorCode::NOT_PERMITTED).await;
    moderate(&mut al, ModAction::Kick, "den", "fay", 0, "").await;
    let error = al.expect_error(ErrorCode::NOT_PERMITTED).await;
    assert!(error.message.contains("fay is the founder"), "{error:?}");
    // The founder cannot be deopped, not even by herself.
    moderate(&mut fay, ModAction::Deop, "den", "fay", 0, "").await;
    fay.expect_error(ErrorCode::NOT_PERMITTED).await;

    act(&mut fay, ModAction::Deop, "den", "al", "").await;
    expect_event(&mut al).await;
    bob.enter("den", 0, 0).await;
    moderate(&mut al, ModAction::Kick, "den", "bob", 0, "").await;
    let error = al.expect_error(ErrorCode::NOT_PERMITTED).await;
    assert!(error.message.contains("you hold no role"), "{error:?}");
    moderate(&mut fay, ModAction::Deop, "den", "al", 0, "").await;
    fay.expect_error(ErrorCode::INVALID_TARGET).await;
    server.finish().await;
}

#[tokio::test]
async fn guests_found_nothing_and_hold_no_roles() {
    // spec: MOD-3
    let dir = TempDir::new("mod-guests");
    let (server, _) = server(&dir).await;
    let mut bob = guest(&server, "bob").await;
    let info = enter_aware(&mut bob, "shed").await;
    assert_eq!((info.role, info.founder.as_str()), (Role::User, ""));
    settings(&mut bob, "shed", RoomSettings::TOPIC, 0, 0, "mine").await;
    bob.expect_error(ErrorCode::NOT_PERMITTED).await;
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    moderate(&mut fay, ModAction::Voice, "den", "bob", 0, "").await;
    let error = fay.expect_error(ErrorCode::INVALID_TARGET).await;
    assert!(error.message.contains("guests hold no roles"), "{error:?}");
    server.finish().await;
}

#[tokio::test]
async fn roles_survive_a_restart() {
    // spec: MOD-19
    let dir = TempDir::new("mod-roles-restart");
    let (server1, _) = server(&dir).await;
    let mut fay = registered(&server1, "fay").await;
    enter_aware(&mut fay, "den").await;
    registered(&server1, "al").await.quit().await;
    act(&mut fay, ModAction::Op, "den", "al", "").await;
    fay.quit().await;
    server1.stop().await;

    let (server2, _) = server(&dir).await;
    let mut al = user(&server2, LoginMode::Login, "al", true).await;
    let info = enter_aware(&mut al, "den").await;
    assert_eq!((info.role, info.founder.as_str()), (Role::Operator, "fay"));
    server2.finish().await;
}
