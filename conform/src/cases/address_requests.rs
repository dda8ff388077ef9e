//! Section 16, per-address request limits: `[MEM-1]` password checks, `[LIMIT-5]` room creation, `[FLOW-5]`'s share.

use std::sync::Arc;

use confab_protocol::frame::{code, Hello, Join, Leave, LoginMode, LoginRejected, Ping};
use confab_protocol::{ErrorCode, Frame};

use super::address_limits::{close_all, not_met};
use super::raw;
use crate::client::{account_login, hello, ready, require_accounts, s8};
use crate::conn::{check_fatal_flag, describe, describe_error, Conn};
use crate::ctx::Ctx;
use crate::verdict::{ensure_eq, fail, require, Check, Stop};

pub(super) async fn password_checks(ctx: Arc<Ctx>) -> Check {
    require_accounts(&ctx)?;
    let attempts = ctx.limits().login_attempts;
    // Registrations at once: past the checks one address may have pending
    // (the reference server allows 2), or past its registration rate; few
    // enough connections to stay under a bound on pending logins.
    let mut conns = Vec::new();
    for _ in 0..6 {
        let (mut conn, _) = Conn::greeted(&ctx).await?;
        conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
        conns.push(conn);
    }
    for conn in &mut conns {
        conn.send(account_login(
            LoginMode::Register,
            &ctx.user(),
            "conform-pw",
        ))
        .await?;
    }
    let mut busy: Option<LoginRejected> = None;
    let mut busy_conn = None;
    let mut done = Vec::new();
    for mut conn in conns {
        conn.timeout = ctx.timeout + ctx.max_wait;
        match conn
            .next_frame("MEM-1", "WELCOME or LOGIN_REJECTED")
            .await?
        {
            Frame::Welcome(_) => done.push(conn),
            Frame::LoginRejected(r) if r.code == ErrorCode::TRY_AGAIN_LATER => {
                if busy.is_none() {
                    busy = Some(r);
                    busy_conn = Some(conn);
                } else {
                    done.push(conn);
                }
            }
            other => {
                return Err(fail(
                    "MEM-1",
                    "WELCOME or LOGIN_REJECTED TRY_AGAIN_LATER",
                    describe(&other),
                ))
            }
        }
    }
    close_all(done).await;
    let (Some(r), Some(mut conn)) = (busy, busy_conn) else {
        return Err(not_met(
            "TRY_AGAIN_LATER for 6 registrations at once from one address",
            "--hash-queue, --register-burst",
        ));
    };
    ensure_eq(
        "MEM-1",
        "LOGIN_REJECTED attempts_left (one attempt used)",
        attempts - 1,
        r.attempts_left,
    )?;
    if r.attempts_left > 0 {
        conn.timeout = ctx.timeout;
        conn.quiet("MEM-1", "the connection to stay open after TRY_AGAIN_LATER")
            .await?;
    }
    conn.goodbye_and_wait().await;
    Ok(())
}

pub(super) async fn room_creation(ctx: Arc<Ctx>) -> Check {
    let existing = ctx.room();
    let keeper = paced_member(&ctx, &existing).await?;
    let outcome = make_rooms(&ctx, &existing).await;
    keeper.goodbye_and_wait().await;
    outcome
}

async fn make_rooms(ctx: &Ctx, existing: &str) -> Check {
    // Each connection spends at most half its burst (a JOIN and a LEAVE per room).
    let per_conn = (ctx.limits().msg_burst as usize / 4).max(1);
    let mut conn = ready(ctx).await?;
    for made in 0..300 {
        if made > 0 && made % per_conn == 0 {
            let old = std::mem::replace(&mut conn, ready(ctx).await?);
            old.goodbye_and_wait().await;
        }
        let room = ctx.room();
        conn.send(Join {
            room: s8(&room),
            since_seq: 0,
            history: 0,
        })
        .await?;
        match conn
            .next_frame("LIMIT-5", "JOINED, RATE_LIMITED or ROOM_LIMIT")
            .await?
        {
            Frame::Joined(_) => {
                conn.expect::<confab_protocol::frame::HistoryEnd>("ROOM-2")
                    .await?;
                conn.send(Leave { room: s8(&room) }).await?;
                conn.expect::<confab_protocol::frame::Left>("ROOM-5")
                    .await?;
            }
            Frame::ErrorFrame(e)
                if [ErrorCode::RATE_LIMITED, ErrorCode::ROOM_LIMIT].contains(&e.code) =>
            {
                check_fatal_flag(&e)?;
                ensure_eq("LIMIT-5", "ERROR frame_type", code::JOIN, e.frame_type)?;
                conn.send(Join {
                    room: s8(existing),
                    since_seq: 0,
                    history: 0,
                })
                .await?;
                return match conn.next_frame("LIMIT-5", "JOINED").await? {
                    Frame::Joined(_) => Ok(()),
                    Frame::ErrorFrame(e) if e.code == ErrorCode::RATE_LIMITED => Err(Stop::Skip(
                        "inconclusive: the JOIN of an existing room was rate limited too (the message bucket, [FLOW-5])".into(),
                    )),
                    other => Err(fail(
                        "LIMIT-5",
                        "JOINED for a room that exists (never refused by the room bounds)",
                        describe(&other),
                    )),
                };
            }
            other => {
                return Err(fail(
                    "LIMIT-5",
                    "JOINED, RATE_LIMITED or ROOM_LIMIT",
                    describe(&other),
                ))
            }
        }
    }
    Err(not_met(
        "bound on rooms made: 300 new rooms were made",
        "--room-create-burst, --room-create-rate, --max-rooms-total",
    ))
}

pub(super) async fn per_address_share(ctx: Arc<Ctx>) -> Check {
    let burst = ctx.limits().msg_burst;
    require(burst <= 1000, "needs msg_burst <= 1,000")?;
    let each = (burst / 2).max(1);
    for _ in 0..48 {
        let mut conn = ready(&ctx).await?;
        let mut bytes = Vec::new();
        for _ in 0..each {
            // An unknown type: answered UNKNOWN_FRAME_TYPE, and it costs a token.
            bytes.extend_from_slice(&raw(0x1F, b""));
        }
        bytes.extend_from_slice(&Frame::from(Ping { nonce: 5 }).to_bytes());
        conn.send_raw(&bytes).await?;
        let mut limited = 0;
        for _ in 0..each {
            let e = conn
                .expect::<confab_protocol::frame::ErrorFrame>("FLOW-5")
                .await?;
            check_fatal_flag(&e)?;
            ensure_eq("FLOW-5", "ERROR frame_type", 0x1F, e.frame_type)?;
            match e.code {
                ErrorCode::UNKNOWN_FRAME_TYPE => {}
                ErrorCode::RATE_LIMITED => limited += 1,
                _ => {
                    return Err(fail(
                        "FLOW-5",
                        "UNKNOWN_FRAME_TYPE or RATE_LIMITED",
                        describe_error(&e),
                    ))
                }
            }
        }
        let pong = conn
            .expect::<confab_protocol::frame::Pong>("FLOW-5")
            .await?;
        ensure_eq("FLOW-5", "PONG nonce (PING is free)", 5, pong.nonce)?;
        conn.goodbye_and_wait().await;
        if limited > 0 {
            return Ok(());
        }
    }
    Err(not_met(
        "shared bucket: 48 connections each used half their burst",
        "--per-ip-share",
    ))
}

/// A fresh guest that joined `room`. Earlier cases may have spent the
/// address's shared request bucket (`[FLOW-5]`): a JOIN answered
/// RATE_LIMITED is sent again once the bucket has had a second to refill,
/// as a client pacing itself would.
async fn paced_member(ctx: &Ctx, room: &str) -> Check<Conn> {
    let mut conn = ready(ctx).await?;
    for _ in 0..5 {
        conn.send(Join {
            room: s8(room),
            since_seq: 0,
            history: 0,
        })
        .await?;
        match conn.next_frame("ROOM-2", "JOINED").await? {
            Frame::Joined(_) => {
                conn.expect::<confab_protocol::frame::HistoryEnd>("ROOM-2")
                    .await?;
                return Ok(conn);
            }
            Frame::ErrorFrame(e) if e.code == ErrorCode::RATE_LIMITED => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            other => return Err(fail("ROOM-2", "JOINED", describe(&other))),
        }
    }
    Err(Stop::Skip(
        "the address's request bucket stayed empty for 5 s".into(),
    ))
}
