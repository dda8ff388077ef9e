//! Refusals in the order of `[MOD-20]`, with the role named (`[MOD-4]`).

use super::*;
use confab_protocol::frame::{code, Audit};
use confab_protocol::ErrorCode;

#[tokio::test]
async fn a_non_operator_is_refused_every_action_naming_the_role() {
    // spec: MOD-3, MOD-4, MOD-20
    let dir = TempDir::new("mod-refusals");
    let (server, _) = server(&dir).await;
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    let mut reg = registered(&server, "reg").await;
    enter_aware(&mut reg, "den").await;
    let mut bob = guest(&server, "bob").await;
    bob.enter("den", 0, 0).await;
    for (client, holds) in [
        (&mut reg, "you hold no role"),
        (&mut bob, "guests hold no roles"),
    ] {
        for (action, target, reason, needs) in [
            (ModAction::Kick, "fay", "", "room operator"),
            (ModAction::Ban, "@192.0.2.0/24", "", "room operator"),
            (ModAction::Unban, "fay", "", "room operator"),
            (ModAction::Mute, "fay", "", "room operator"),
            (ModAction::Unmute, "fay", "", "room operator"),
            (ModAction::Invite, "fay", "", "room operator"),
            (ModAction::Op, "fay", "", "founder"),
            (ModAction::Deop, "fay", "", "founder"),
            (ModAction::Voice, "fay", "", "room operator"),
            (ModAction::Devoice, "fay", "", "room operator"),
            (ModAction::Disconnect, "fay", "", "server operator"),
            (ModAction::ServerBan, "fay", "", "server operator"),
            (ModAction::ServerUnban, "fay", "", "server operator"),
            (ModAction::Announce, "", "hello", "server operator"),
        ] {
            moderate(client, action, "den", target, 0, reason).await;
            let error = client.expect_error(ErrorCode::NOT_PERMITTED).await;
            assert_eq!(error.frame_type, code::MODERATE);
            let message = error.message.as_str();
            assert!(
                message.contains(&format!("needs {needs}; {holds}")),
                "{action:?}: {message}"
            );
        }
        settings(client, "den", RoomSettings::TOPIC, 0, 0, "mine").await;
        let error = client.expect_error(ErrorCode::NOT_PERMITTED).await;
        assert!(error.message.contains("needs room operator"), "{error:?}");
        for room in ["den", ""] {
            client
                .send(Frame::Audit(Audit {
                    room: Str8::new(room).unwrap(),
                    before: 0,
                    limit: 0,
                }))
                .await;
            let error = client.expect_error(ErrorCode::NOT_PERMITTED).await;
            assert_eq!(error.frame_type, code::AUDIT);
        }
    }
    server.finish().await;
}

#[tokio::test]
async fn request_checks_come_in_the_specified_order() {
    // spec: MOD-18, MOD-20, MOD-10
    let dir = TempDir::new("mod-order");
    let (server, _) = server(&dir).await;
    let mut reg = registered(&server, "reg").await;
    let long = "x".repeat(391);
    // 1. TEXT_TOO_LONG before everything, even a bad target in no room.
    moderate(&mut reg, ModAction::Kick, "nowhere", "@bad", 0, &long).await;
    reg.expect_error(ErrorCode::TEXT_TOO_LONG).await;
    // 2. INVALID_TARGET before NO_SUCH_ROOM.
    for (action, target) in [
        (ModAction::Kick, "@192.0.2.1"),
        (ModAction::Ban, "@192.0.2.1/33"),
        (ModAction::Ban, "@01.2.3.4"),
        (ModAction::Announce, "someone"),
        (ModAction::Settings, ""),
    ] {
        moderate(&mut reg, action, "nowhere", target, 0, "why").await;
        reg.expect_error(ErrorCode::INVALID_TARGET).await;
    }
    moderate(&mut reg, ModAction::Announce, "", "", 0, "  ").await;
    reg.expect_error(ErrorCode::INVALID_TARGET).await;
    // 3. NO_SUCH_ROOM before NOT_PERMITTED.
    moderate(&mut reg, ModAction::Kick, "nowhere", "bob", 0, "").await;
    reg.expect_error(ErrorCode::NO_SUCH_ROOM).await;
    settings(&mut reg, "nowhere", RoomSettings::TOPIC, 0, 0, &long).await;
    reg.expect_error(ErrorCode::TEXT_TOO_LONG).await;
    settings(&mut reg, "nowhere", 0, 0, 0, "").await;
    reg.expect_error(ErrorCode::NO_SUCH_ROOM).await;
    // 5. target state, for one who holds the role.
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    moderate(&mut fay, ModAction::Kick, "den", "reg", 0, "").await;
    fay.expect_error(ErrorCode::NO_SUCH_USER).await;
    moderate(&mut fay, ModAction::Invite, "den", "nobody", 0, "").await;
    fay.expect_error(ErrorCode::NO_SUCH_USER).await;
    moderate(&mut fay, ModAction::Op, "den", "ghost", 0, "").await;
    fay.expect_error(ErrorCode::INVALID_TARGET).await;
    moderate(&mut fay, ModAction::Unban, "den", "reg", 0, "").await;
    let error = fay.expect_error(ErrorCode::INVALID_TARGET).await;
    assert!(error.message.contains("no ban"), "{error:?}");
    server.finish().await;
}
