//! Section 16, limits: `[LIMIT-9]`, `[MEM-2]`, and the limits a server
//! enforces without advertising them (`[LIMIT-1]`, `[LIMIT-3]`, `[LIMIT-4]`,
//! `[LIMIT-5]`, `[FLOW-5]`'s per-address share, `[MEM-1]`).
//!
//! The runner connects from one address, so a server's per-address limits
//! see every case as one client. The cases that look for those limits run
//! alone, after the others (exclusive), and each is skipped when it does
//! not meet the limit within its bounds: run them against a server with
//! per-address limits on (and everything else against one with them off).

use std::sync::Arc;

use confab_protocol::frame::{
    code, Direction, Goodbye, Hello, History, HistoryKind, Join, Leave, LoginMode, LoginRejected,
    Ping, Welcome,
};
use confab_protocol::{ErrorCode, Frame, Str16};

use super::raw;
use crate::case::Case;
use crate::client::{
    account_login, guest_login, hello, join, member, ready, require_accounts, require_guests, s8,
    send_frame,
};
use crate::conn::{check_fatal_flag, describe, describe_error, Conn, Got};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check, Stop};

/// Connections the case opens at most while looking for the server's limit.
const MOST: usize = 300;

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("limits.frame-fits-limits", ["LIMIT-9"],
            "the advertised max_frame holds the largest MESSAGE and DIRECT_MESSAGE the other limits allow", frame_fits_limits),
        crate::case!("limits.long-answers", ["MEM-2", "ROOM-2", "HISTORY-1"],
            "a replay and a HISTORY answer of history_max messages of the largest body reach a reading client whole", long_answers),
        crate::case!("limits.refusal-is-an-error", ["LIMIT-1"],
            "a connection over the server's limits gets a fatal SERVER_FULL or TOO_MANY_CONNECTIONS, never a silent close",
            refusal_is_an_error, exclusive),
        crate::case!("limits.pending-logins", ["LIMIT-4"],
            "connections still logging in from one address are bounded with TOO_MANY_CONNECTIONS; once they log in, a newcomer is greeted",
            pending_logins, exclusive),
        crate::case!("limits.password-checks", ["MEM-1"],
            "password checks past the server's bounds get LOGIN_REJECTED TRY_AGAIN_LATER, which uses one attempt and keeps the connection",
            password_checks, exclusive),
        crate::case!("limits.room-creation", ["LIMIT-5"],
            "rooms made too fast get RATE_LIMITED or ROOM_LIMIT (not fatal); joining a room that exists is still answered JOINED",
            room_creation, exclusive),
        crate::case!("limits.per-address-share", ["FLOW-5"],
            "connections of one address, each within its own burst, together meet the address's shared bucket: RATE_LIMITED with the frame's type",
            per_address_share, exclusive),
        crate::case!("limits.connect-rate", ["LIMIT-3"],
            "connections opened (and closed) too fast from one address get TOO_MANY_CONNECTIONS (fatal) instead of GREETING",
            connect_rate, exclusive),
    ]
}

async fn refusal_is_an_error(ctx: Arc<Ctx>) -> Check {
    let mut open = Vec::new();
    for _ in 0..MOST {
        let mut conn = Conn::open(&ctx).await?;
        match conn.next().await {
            Got::Frame(Frame::Greeting(_)) => open.push(conn),
            Got::Frame(Frame::ErrorFrame(e)) => {
                ensure(
                    "LIMIT-1",
                    [ErrorCode::SERVER_FULL, ErrorCode::TOO_MANY_CONNECTIONS].contains(&e.code),
                    "ERROR SERVER_FULL or TOO_MANY_CONNECTIONS",
                    crate::conn::describe_error(&e),
                )?;
                crate::conn::check_fatal_flag(&e)?;
                ensure_eq("LIMIT-1", "ERROR frame_type", 0, e.frame_type)?;
                conn.expect_closed("STATE-4").await?;
                close_all(open).await;
                return Ok(());
            }
            Got::Frame(other) => {
                return Err(fail(
                    "HANDSHAKE-1",
                    "GREETING or a refusal",
                    describe(&other),
                ))
            }
            other => {
                return Err(crate::conn::fail_got(
                    "LIMIT-1",
                    "GREETING or ERROR SERVER_FULL / TOO_MANY_CONNECTIONS",
                    other,
                ))
            }
        }
    }
    close_all(open).await;
    Err(Stop::Skip(format!(
        "needs a connection limit below {MOST} (confab-server: --max-per-ip)"
    )))
}

/// Closes `conns` and waits until the server has, so that the next case
/// (per-address cases run one after another) starts with none of them.
async fn close_all(conns: Vec<Conn>) {
    for conn in conns {
        conn.goodbye_and_wait().await;
    }
}

/// The first frame on a fresh connection: `Ok(conn)` after a GREETING, or
/// `Err(code)` after a refusal, which must be fatal, carry `frame_type` 0
/// and be the connection's last frame (`[LIMIT-1]`).
async fn admitted(ctx: &Ctx, clause: &'static str) -> Check<Result<Conn, (ErrorCode, String)>> {
    let mut conn = Conn::open(ctx).await?;
    match conn.next().await {
        Got::Frame(Frame::Greeting(g)) => {
            conn.set_max_frame(g.limits.max_frame);
            Ok(Ok(conn))
        }
        Got::Frame(Frame::ErrorFrame(e)) => {
            ensure(
                clause,
                [ErrorCode::SERVER_FULL, ErrorCode::TOO_MANY_CONNECTIONS].contains(&e.code),
                "GREETING, or ERROR SERVER_FULL / TOO_MANY_CONNECTIONS",
                describe_error(&e),
            )?;
            check_fatal_flag(&e)?;
            ensure_eq(clause, "ERROR frame_type", 0, e.frame_type)?;
            conn.expect_closed("STATE-4").await?;
            Ok(Err((e.code, e.message.to_string())))
        }
        Got::Frame(other) => Err(fail(
            "HANDSHAKE-1",
            "GREETING or a refusal",
            describe(&other),
        )),
        other => Err(crate::conn::fail_got(
            clause,
            "GREETING or ERROR TOO_MANY_CONNECTIONS",
            other,
        )),
    }
}

async fn frame_fits_limits(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    let (frame, body) = (u64::from(l.max_frame), u64::from(l.max_body));
    let (user, room) = (u64::from(l.max_username), u64::from(l.max_room_name));
    ensure(
        "LIMIT-9",
        frame >= body + room + user + 29,
        format!(
            "max_frame >= max_body + max_room_name + max_username + 29 = {}",
            body + room + user + 29
        ),
        format!("max_frame {frame}"),
    )?;
    ensure(
        "LIMIT-9",
        frame >= body + 2 * user + 21,
        format!(
            "max_frame >= max_body + 2 × max_username + 21 = {}",
            body + 2 * user + 21
        ),
        format!("max_frame {frame}"),
    )
}

async fn long_answers(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    let room = ctx.room();
    let n = usize::from(l.history_max).min(500);
    let body_len = usize::from(l.max_body)
        .min(4096)
        .min((l.max_frame as usize).saturating_sub(7 + room.len()))
        .max(1);
    let per_conn = (l.msg_burst as usize / 2)
        .min(l.byte_burst as usize / 2 / body_len)
        .clamp(1, 100);
    require(
        n.div_ceil(per_conn) <= 64,
        format!("needs msg_burst and byte_burst to send {n} bodies of {body_len} bytes from 64 connections"),
    )?;
    let body = "m".repeat(body_len);
    let mut sent = 0;
    while sent < n {
        let (mut conn, _) = member(&ctx, &room).await?;
        let batch = per_conn.min(n - sent);
        let mut bytes = Vec::new();
        for r in 0..batch {
            bytes.extend_from_slice(&Frame::from(send_frame(r as u32, &room, &body)).to_bytes());
        }
        conn.send_raw(&bytes).await?;
        let mut acks = 0;
        while acks < batch {
            match conn.next_frame("MSG-2", "ACK").await? {
                Frame::Ack(_) => acks += 1,
                Frame::Presence(_) => {}
                other => return Err(fail("MSG-2", "ACK", describe(&other))),
            }
        }
        sent += batch;
    }
    // A reader with a small receive buffer: the answers back up in the
    // server while it reads, and must still arrive whole.
    let mut reader = Conn::open_with(&ctx, Some(4096)).await?;
    reader.greeting().await?;
    reader.send(hello(Hello::NO_AUTO_JOIN)).await?;
    reader.send(guest_login(&ctx.user())).await?;
    reader.expect::<Welcome>("HANDSHAKE-3").await?;
    let joining = join(&mut reader, &room, 0, l.history_max).await?;
    ensure_eq(
        "MEM-2",
        "messages replayed (history_max)",
        n,
        joining.replay.len(),
    )?;
    reader
        .send(History {
            kind: HistoryKind::Room,
            target: s8(&room),
            direction: Direction::Before,
            anchor: 0,
            limit: 0,
        })
        .await?;
    let (messages, end) = super::rooms::history_answer(&mut reader, "MEM-2").await?;
    ensure_eq(
        "MEM-2",
        "HISTORY answer (messages, count)",
        (n, n),
        (messages.len(), usize::from(end.count)),
    )?;
    ensure(
        "MEM-2",
        messages.iter().all(|m| m.body.len() == body_len),
        format!("bodies of {body_len} bytes"),
        "other bodies",
    )
}

/// Connections opened at most while looking for a per-address limit.
const LOOK: usize = 600;

fn not_met(what: &str, flags: &str) -> Stop {
    Stop::Skip(format!(
        "met no {what} (not advertised in the GREETING): needs a server with per-address limits on (confab-server: {flags}, without --max-per-ip 0)"
    ))
}

async fn pending_logins(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let mut held = Vec::new();
    let mut refused = false;
    for _ in 0..MOST {
        match admitted(&ctx, "LIMIT-4").await? {
            Ok(conn) => held.push(conn),
            Err(_) => {
                refused = true;
                break;
            }
        }
    }
    if !refused {
        close_all(held).await;
        return Err(not_met(
            &format!("bound on {MOST} connections logging in from one address"),
            "--max-unauthenticated-per-ip",
        ));
    }
    // Logged in, they no longer count as logging in.
    for conn in &mut held {
        conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
        conn.send(guest_login(&ctx.user())).await?;
    }
    for conn in &mut held {
        conn.expect::<Welcome>("LIMIT-4").await?;
        // Answered after the LOGIN's handling has ended.
        conn.barrier("LIMIT-4").await?;
    }
    let outcome = match admitted(&ctx, "LIMIT-4").await? {
        Ok(conn) => {
            held.push(conn);
            Ok(())
        }
        Err((_, message)) => Err(Stop::Skip(format!(
            "the refusal was not about connections logging in: it stayed once they had logged in ({message:?})"
        ))),
    };
    close_all(held).await;
    outcome
}

async fn password_checks(ctx: Arc<Ctx>) -> Check {
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
        conn.send(account_login(LoginMode::Register, &ctx.user(), "pw"))
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

async fn room_creation(ctx: Arc<Ctx>) -> Check {
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

async fn per_address_share(ctx: Arc<Ctx>) -> Check {
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

async fn connect_rate(ctx: Arc<Ctx>) -> Check {
    for _ in 0..LOOK {
        match admitted(&ctx, "LIMIT-3").await? {
            Ok(mut conn) => {
                // Closed before the next one opens: only the rate can refuse it.
                conn.send(Goodbye {
                    reason: ErrorCode::NORMAL,
                    message: Str16::empty(),
                })
                .await?;
                conn.expect_closed("STATE-1").await?;
            }
            Err((code, _)) => {
                return ensure_eq("LIMIT-3", "refusal", ErrorCode::TOO_MANY_CONNECTIONS, code)
            }
        }
    }
    Err(not_met(
        &format!("connect rate: {LOOK} connections opened one after another"),
        "--connect-rate, --connect-burst",
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
