//! Bans and mutes: held across reconnects and restarts, ended on time by
//! the server's (manual) clock (`[MOD-7]`, `[MOD-9]`–`[MOD-11]`, `[MOD-14]`).

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use confab_protocol::frame::code;
use confab_protocol::ErrorCode;

#[tokio::test]
async fn a_ban_holds_across_reconnects_and_expires_on_time() {
    // spec: MOD-7, MOD-11, MOD-14
    let dir = TempDir::new("mod-ban-expiry");
    let (server, clock) = server(&dir).await;
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    let mut bob = guest(&server, "bob").await;
    bob.enter("den", 0, 0).await;
    moderate(&mut fay, ModAction::Ban, "den", "Bob", 60_000, "flooding").await;
    let ban = expect_event(&mut fay).await;
    assert_eq!(ban.target.as_str(), "bob");
    assert_eq!(ban.expires, ban.time + 60_000);
    // Removed as by KICK: the event (who and why), then LEFT.
    let seen = expect_event_of(&mut bob, ModAction::Ban).await;
    assert_eq!(
        (seen.actor.as_str(), seen.reason.as_str()),
        ("fay", "flooding")
    );
    assert!(matches!(bob.recv_skipping_presence().await, Frame::Left(_)));
    bob.join("den", 0, 0).await;
    let error = bob.expect_error(ErrorCode::BANNED).await;
    assert_eq!(error.frame_type, code::JOIN);
    assert!(
        error.message.contains("den") && error.message.contains("until"),
        "{error:?}"
    );
    // A new connection is the same user.
    bob.quit().await;
    let mut bob = guest(&server, "bob").await;
    bob.join("den", 0, 0).await;
    bob.expect_error(ErrorCode::BANNED).await;
    // spec: MOD-14 — at `expires` it stops applying.
    clock.advance(59_999);
    bob.join("den", 0, 0).await;
    bob.expect_error(ErrorCode::BANNED).await;
    clock.advance(1);
    enter_aware(&mut bob, "den").await;
    server.finish().await;
}

#[tokio::test]
async fn a_ban_holds_across_a_restart_until_unbanned() {
    // spec: MOD-19, MOD-15
    let dir = TempDir::new("mod-ban-restart");
    let (server1, _) = server(&dir).await;
    let mut fay = registered(&server1, "fay").await;
    enter_aware(&mut fay, "den").await;
    let first = act(&mut fay, ModAction::Ban, "den", "bob", "troll").await;
    fay.quit().await;
    server1.stop().await;

    let (server2, _) = server(&dir).await;
    let mut bob = guest(&server2, "bob").await;
    bob.join("den", 0, 0).await;
    bob.expect_error(ErrorCode::BANNED).await;
    let mut fay = user(&server2, LoginMode::Login, "fay", true).await;
    let unban = act(&mut fay, ModAction::Unban, "den", "bob", "").await;
    assert!(unban.id > first.id, "ids increase across restarts");
    enter_aware(&mut bob, "den").await;
    server2.finish().await;
}

#[tokio::test]
async fn an_address_pattern_bans_every_matching_member() {
    // spec: MOD-10, MOD-11
    let dir = TempDir::new("mod-ban-pattern");
    let (server, _) = server(&dir).await;
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    let mut from = Client::connect_from(server.addr, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9))).await;
    from.expect_greeting().await;
    from.login_as("eve", Hello::MODERATION).await;
    from.enter("den", 0, 0).await;
    let event = act(&mut fay, ModAction::Ban, "den", "@::ffff:127.0.0.9/120", "").await;
    assert_eq!(event.target.as_str(), "@127.0.0.0/24", "canonical form");
    expect_event_of(&mut from, ModAction::Ban).await;
    assert!(matches!(
        from.recv_skipping_presence().await,
        Frame::Left(_)
    ));
    from.join("den", 0, 0).await;
    from.expect_error(ErrorCode::BANNED).await;
    server.finish().await;
}

#[tokio::test]
async fn a_muted_or_unvoiced_member_cannot_speak() {
    // spec: MOD-9
    let dir = TempDir::new("mod-mute");
    let (server, clock) = server(&dir).await;
    let mut fay = registered(&server, "fay").await;
    enter_aware(&mut fay, "den").await;
    let mut vic = registered(&server, "vic").await;
    enter_aware(&mut vic, "den").await;
    act(&mut fay, ModAction::Mute, "den", "vic", "calm down").await;
    let muted = expect_event_of(&mut vic, ModAction::Mute).await;
    assert_eq!(muted.reason.as_str(), "calm down");
    let client_ref = vic.say("den", "hello?").await;
    let error = vic.expect_error(ErrorCode::CANNOT_SPEAK).await;
    assert_eq!(
        (error.client_ref, error.frame_type),
        (client_ref, code::SEND)
    );
    assert!(error.message.contains("muted in den"), "{error:?}");
    act(&mut fay, ModAction::Unmute, "den", "vic", "").await;
    expect_event_of(&mut vic, ModAction::Unmute).await;
    let client_ref = vic.say("den", "thanks").await;
    vic.expect_ack(client_ref).await;
    fay.expect_message().await;

    // A MODERATED room: only voiced members and above speak.
    settings(
        &mut fay,
        "den",
        RoomSettings::MODES,
        confab_protocol::frame::modes::MODERATED,
        0,
        "",
    )
    .await;
    expect_info(&mut fay).await;
    let client_ref = vic.say("den", "hm").await;
    let error = loop {
        match vic.recv_skipping_presence().await {
            Frame::ErrorFrame(e) => break e,
            Frame::Message(_) | Frame::RoomInfo(_) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        (error.code, error.client_ref),
        (ErrorCode::CANNOT_SPEAK, client_ref)
    );
    assert!(error.message.contains("moderated"), "{error:?}");
    act(&mut fay, ModAction::Voice, "den", "vic", "").await;
    expect_event_of(&mut vic, ModAction::Voice).await;
    let client_ref = vic.say("den", "now I may").await;
    vic.expect_ack(client_ref).await;
    fay.expect_message().await;
    // A timed mute ends by the clock.
    moderate(&mut fay, ModAction::Mute, "den", "vic", 1_000, "").await;
    expect_event(&mut fay).await;
    expect_event_of(&mut vic, ModAction::Mute).await;
    vic.say("den", "x").await;
    vic.expect_error(ErrorCode::CANNOT_SPEAK).await;
    clock.advance(1_000);
    let client_ref = vic.say("den", "back").await;
    vic.expect_ack(client_ref).await;
    fay.expect_message().await;
    server.finish().await;
}
