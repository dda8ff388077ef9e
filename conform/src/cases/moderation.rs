//! Section 21, moderation: negotiation, roles, settings, actions and the
//! audit log as a client sees them. Cases that need a role register the
//! founder of a fresh room; server-wide actions need a server operator the
//! runner cannot be made, and are listed in spec/uncovered-by-conform.md.

use std::sync::Arc;

use confab_protocol::frame::{
    Audit, Frame, Greeting, Hello, Join, LoginMode, ModAction, Moderate, ModerationEvent,
    NoticeLevel, Role, RoomInfo, RoomSettings,
};
use confab_protocol::{ErrorCode, Str16};

use crate::case::Case;
use crate::client::{account_login, join, login_guest, require_accounts, s8, welcomed};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::got::{describe, fail_got, Got};
use crate::verdict::{ensure, ensure_eq, fail, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("moderation.negotiated", ["MOD-1"],
            "GREETING sets MODERATION; a client's ROOM_INFO (0x8F) is UNEXPECTED_FRAME", negotiated),
        crate::case!("moderation.guest-refused", ["MOD-4", "MOD-18", "MOD-20"],
            "a guest's KICK is NOT_PERMITTED naming the role; a long reason is TEXT_TOO_LONG first", guest_refused),
        crate::case!("moderation.room-info", ["MOD-5", "MOD-6"],
            "JOIN answers JOINED, ROOM_INFO, HISTORY_END to a client that set HELLO MODERATION; change 0 asks", room_info),
        crate::case!("moderation.founder", ["MOD-3", "MOD-16", "MOD-15", "MOD-17"],
            "a registered account founds the room it makes, sets its topic, reads its audit log; the room list shows the topic", founds),
        crate::case!("moderation.kick-ban", ["MOD-7", "MOD-10", "MOD-11", "MOD-12", "MOD-2"],
            "a kicked older client gets a NOTICE then LEFT; a pattern is canonical; a banned user's JOIN is BANNED", kick_ban),
        crate::case!("moderation.speak-invite", ["MOD-8", "MOD-9"],
            "an unvoiced member of a MODERATED room gets CANNOT_SPEAK; an invitation lets one in once past INVITE_ONLY", speak_invite),
    ]
}

fn require_moderation(ctx: &Ctx) -> Check {
    require(
        ctx.has_flag(Greeting::MODERATION),
        "needs a server that implements moderation (GREETING flag MODERATION)",
    )
}

fn moderate(action: ModAction, room: &str, target: &str, reason: &str) -> Moderate {
    Moderate {
        action,
        room: s8(room),
        target: s8(target),
        duration_ms: 0,
        reason: Str16::new(reason).expect("short"),
    }
}

fn settings(room: &str, change: u8, modes: u8, topic: &str) -> RoomSettings {
    RoomSettings {
        room: s8(room),
        change,
        modes,
        member_limit: 0,
        topic: Str16::new(topic).expect("short"),
    }
}

/// A JOIN with no replay: these checks look only at what comes after it.
fn join_frame(room: &str) -> Join {
    Join {
        room: s8(room),
        since_seq: 0,
        history: 0,
    }
}

/// The next frame other than PRESENCE; a NOTICE too (`[MOD-2]`).
async fn next(conn: &mut Conn, clause: &'static str, expected: &str) -> Check<Frame> {
    loop {
        match conn.next().await {
            Got::Frame(Frame::Presence(_)) => continue,
            Got::Frame(frame) => return Ok(frame),
            other => return Err(fail_got(clause, expected, other)),
        }
    }
}

/// `next`, skipping NOTICEs (sent at any time in READY).
async fn next_not_notice(conn: &mut Conn, clause: &'static str, expected: &str) -> Check<Frame> {
    loop {
        match next(conn, clause, expected).await? {
            Frame::Notice(_) => continue,
            frame => return Ok(frame),
        }
    }
}

async fn event(conn: &mut Conn, clause: &'static str) -> Check<ModerationEvent> {
    match next_not_notice(conn, clause, "MODERATION_EVENT").await? {
        Frame::ModerationEvent(e) => Ok(e),
        other => Err(fail(clause, "MODERATION_EVENT", describe(&other))),
    }
}

async fn info(conn: &mut Conn, clause: &'static str) -> Check<RoomInfo> {
    match next_not_notice(conn, clause, "ROOM_INFO").await? {
        Frame::RoomInfo(i) => Ok(i),
        other => Err(fail(clause, "ROOM_INFO", describe(&other))),
    }
}

/// A registered account (no HELLO MODERATION) that joined a fresh room it founds.
async fn new_founder(ctx: &Ctx, room: &str) -> Check<Conn> {
    require_accounts(ctx)?;
    let login = account_login(LoginMode::Register, &ctx.user(), "conform-pw");
    let (mut conn, _) = welcomed(ctx, "MOD-3", login).await?;
    join(&mut conn, room, 0, 0).await?;
    Ok(conn)
}

/// A guest that set HELLO MODERATION and joined `room`: its ROOM_INFO.
async fn aware_member(ctx: &Ctx, room: &str) -> Check<(Conn, RoomInfo)> {
    let flags = Hello::NO_AUTO_JOIN | Hello::MODERATION;
    let mut conn = login_guest(ctx, &ctx.user(), flags).await?;
    conn.send(join_frame(room)).await?;
    match next(&mut conn, "MOD-6", "JOINED").await? {
        Frame::Joined(_) => {}
        other => return Err(fail("MOD-6", "JOINED", describe(&other))),
    }
    let room_info = match conn
        .next_frame("MOD-6", "ROOM_INFO right after JOINED")
        .await?
    {
        Frame::RoomInfo(i) => i,
        other => {
            return Err(fail(
                "MOD-6",
                "ROOM_INFO right after JOINED",
                describe(&other),
            ))
        }
    };
    loop {
        if let Frame::HistoryEnd(_) = next(&mut conn, "MOD-6", "HISTORY_END").await? {
            return Ok((conn, room_info));
        }
    }
}

async fn negotiated(ctx: Arc<Ctx>) -> Check {
    require_moderation(&ctx)?;
    let mut conn = login_guest(&ctx, &ctx.user(), Hello::NO_AUTO_JOIN).await?;
    conn.send_raw(&super::raw(0x8F, &[0xDE, 0xAD])).await?;
    conn.expect_error("MOD-1", ErrorCode::UNEXPECTED_FRAME)
        .await?;
    Ok(())
}

async fn guest_refused(ctx: Arc<Ctx>) -> Check {
    require_moderation(&ctx)?;
    let room = ctx.room();
    let mut conn = login_guest(&ctx, &ctx.user(), Hello::NO_AUTO_JOIN).await?;
    join(&mut conn, &room, 0, 0).await?;
    conn.send(moderate(ModAction::Kick, &room, "nobody", &"x".repeat(391)))
        .await?;
    conn.expect_error("MOD-20", ErrorCode::TEXT_TOO_LONG)
        .await?;
    conn.send(moderate(ModAction::Kick, &room, "nobody", ""))
        .await?;
    let error = conn.expect_error("MOD-4", ErrorCode::NOT_PERMITTED).await?;
    ensure(
        "MOD-4",
        error.message.contains("room operator"),
        "a message naming the role needed (room operator)",
        format!("{:?}", error.message.as_str()),
    )
}

async fn room_info(ctx: Arc<Ctx>) -> Check {
    require_moderation(&ctx)?;
    let room = ctx.room();
    let (mut conn, joined) = aware_member(&ctx, &room).await?;
    ensure_eq(
        "MOD-6",
        "ROOM_INFO room",
        room.as_str(),
        joined.room.as_str(),
    )?;
    ensure_eq(
        "MOD-6",
        "ROOM_INFO changed_by",
        "",
        joined.changed_by.as_str(),
    )?;
    conn.send(settings(&room, 0, 0, "")).await?;
    let asked = info(&mut conn, "MOD-5").await?;
    ensure_eq("MOD-5", "ROOM_INFO of a query", joined, asked)?;
    conn.send(settings(&ctx.room(), 0, 0, "")).await?;
    conn.expect_error("MOD-20", ErrorCode::NO_SUCH_ROOM).await?;
    Ok(())
}

async fn founds(ctx: Arc<Ctx>) -> Check {
    require_moderation(&ctx)?;
    let room = ctx.room();
    let mut owner = new_founder(&ctx, &room).await?;
    owner
        .send(settings(&room, RoomSettings::TOPIC, 0, "conformance"))
        .await?;
    let set = info(&mut owner, "MOD-6").await?;
    ensure_eq("MOD-3", "the founder's role", Role::Founder, set.role)?;
    ensure_eq(
        "MOD-6",
        "ROOM_INFO topic",
        "conformance",
        set.topic.as_str(),
    )?;
    let (mut member, joined) = aware_member(&ctx, &room).await?;
    ensure_eq(
        "MOD-6",
        "topic on JOIN",
        "conformance",
        joined.topic.as_str(),
    )?;
    ensure_eq("MOD-3", "a guest's role", Role::User, joined.role)?;
    owner
        .send(Audit {
            room: s8(&room),
            before: 0,
            limit: 0,
        })
        .await?;
    match next(&mut owner, "MOD-16", "AUDIT_ENTRIES").await? {
        Frame::AuditEntries(page) => ensure(
            "MOD-15",
            page.entries.iter().any(|e| e.action == ModAction::Settings),
            "an audit entry with action SETTINGS",
            format!("{page:?}"),
        )?,
        other => return Err(fail("MOD-16", "AUDIT_ENTRIES", describe(&other))),
    }
    member.send(confab_protocol::frame::ListRooms {}).await?;
    loop {
        match next(&mut member, "MOD-17", "ROOM_LIST_INFO").await? {
            Frame::RoomListInfo(page) => {
                if let Some(entry) = page.rooms.iter().find(|r| r.name.as_str() == room) {
                    return ensure_eq(
                        "MOD-17",
                        "topic in ROOM_LIST_INFO",
                        "conformance",
                        entry.topic.as_str(),
                    );
                }
                if page.flags & confab_protocol::frame::RoomListInfo::MORE == 0 {
                    return Err(fail(
                        "MOD-17",
                        format!("{room} in ROOM_LIST_INFO"),
                        "absent",
                    ));
                }
            }
            other => return Err(fail("MOD-17", "ROOM_LIST_INFO", describe(&other))),
        }
    }
}

async fn kick_ban(ctx: Arc<Ctx>) -> Check {
    require_moderation(&ctx)?;
    let room = ctx.room();
    let mut owner = new_founder(&ctx, &room).await?;
    let name = ctx.user();
    let mut old = login_guest(&ctx, &name, Hello::NO_AUTO_JOIN).await?;
    join(&mut old, &room, 0, 0).await?;
    owner
        .send(moderate(ModAction::Kick, &room, &name, "conformance"))
        .await?;
    let kick = event(&mut owner, "MOD-12").await?;
    ensure_eq(
        "MOD-12",
        "event target",
        name.as_str(),
        kick.target.as_str(),
    )?;
    match next(&mut old, "MOD-2", "NOTICE").await? {
        Frame::Notice(n) => ensure(
            "MOD-2",
            n.level == NoticeLevel::Warning && n.text.contains("conformance"),
            "NOTICE level 1 giving the reason",
            format!("{n:?}"),
        )?,
        other => return Err(fail("MOD-2", "NOTICE", describe(&other))),
    }
    match next(&mut old, "MOD-11", "LEFT").await? {
        Frame::Left(_) => {}
        other => return Err(fail("MOD-11", "LEFT", describe(&other))),
    }
    owner
        .send(moderate(ModAction::Ban, &room, "@::ffff:192.0.2.9/120", ""))
        .await?;
    let pattern = event(&mut owner, "MOD-10").await?;
    ensure_eq(
        "MOD-10",
        "canonical pattern",
        "@192.0.2.0/24",
        pattern.target.as_str(),
    )?;
    owner
        .send(moderate(ModAction::Ban, &room, &name, ""))
        .await?;
    event(&mut owner, "MOD-12").await?;
    old.send(join_frame(&room)).await?;
    old.expect_error("MOD-7", ErrorCode::BANNED).await?;
    Ok(())
}

async fn speak_invite(ctx: Arc<Ctx>) -> Check {
    require_moderation(&ctx)?;
    let room = ctx.room();
    let mut owner = new_founder(&ctx, &room).await?;
    let (mut member, _) = aware_member(&ctx, &room).await?;
    owner
        .send(settings(
            &room,
            RoomSettings::MODES,
            confab_protocol::frame::modes::MODERATED,
            "",
        ))
        .await?;
    info(&mut owner, "MOD-6").await?;
    info(&mut member, "MOD-6").await?;
    member
        .send(crate::client::send_frame(7, &room, "hello"))
        .await?;
    member
        .expect_error_ref("MOD-9", ErrorCode::CANNOT_SPEAK, 7)
        .await?;
    owner
        .send(settings(
            &room,
            RoomSettings::MODES,
            confab_protocol::frame::modes::INVITE_ONLY,
            "",
        ))
        .await?;
    info(&mut owner, "MOD-6").await?;
    let invited = ctx.user();
    let mut guest = login_guest(&ctx, &invited, Hello::NO_AUTO_JOIN | Hello::MODERATION).await?;
    guest.send(join_frame(&room)).await?;
    guest.expect_error("MOD-8", ErrorCode::INVITE_ONLY).await?;
    owner
        .send(moderate(ModAction::Invite, &room, &invited, ""))
        .await?;
    event(&mut owner, "MOD-8").await?;
    let heard = event(&mut guest, "MOD-8").await?;
    ensure_eq(
        "MOD-8",
        "the invited hears",
        ModAction::Invite,
        heard.action,
    )?;
    guest.send(join_frame(&room)).await?;
    match next(&mut guest, "MOD-8", "JOINED").await? {
        Frame::Joined(_) => Ok(()),
        other => Err(fail("MOD-8", "JOINED", describe(&other))),
    }
}
