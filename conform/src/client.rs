//! The steps most cases share: log in as a fresh guest, join a room, send a
//! message. Each step checks the clause that governs it.

use confab_protocol::frame::{
    Ack, Direction, Greeting, Hello, History, HistoryEnd, HistoryKind, Join, Joined, Login,
    LoginMode, LoginRejected, Message, SendMessage, Welcome,
};
use confab_protocol::{ErrorCode, Frame, Str16, Str8, PROTOCOL_VERSION};

use crate::conn::{describe, Conn};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check, Stop};

/// Text that fits a `str8` (the runner only builds such text itself).
pub fn s8(text: &str) -> Str8 {
    Str8::new(text).expect("the runner's own names fit a str8")
}

pub fn s16(text: &str) -> Str16 {
    Str16::new(text).expect("the runner's own bodies fit a str16")
}

pub fn hello(flags: u8) -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
        flags,
        client: s8("confab-conform"),
    }
}

pub fn guest_login(name: &str) -> Login {
    Login {
        mode: LoginMode::Guest,
        username: s8(name),
        password: Str8::empty(),
    }
}

/// Skips unless the server admits guests.
pub fn require_guests(ctx: &Ctx) -> Check {
    require(
        !ctx.has_flag(Greeting::ACCOUNT_REQUIRED),
        "needs a server that admits guests (GREETING without ACCOUNT_REQUIRED, no --require-account)",
    )
}

/// A guest logged in as `name` that joined no room (HELLO sets NO_AUTO_JOIN).
pub async fn guest(ctx: &Ctx, name: &str) -> Check<Conn> {
    login_guest(ctx, name, Hello::NO_AUTO_JOIN).await
}

/// A guest logged in with HELLO `flags`; returns after WELCOME.
pub async fn login_guest(ctx: &Ctx, name: &str, flags: u8) -> Check<Conn> {
    require_guests(ctx)?;
    let (mut conn, _) = Conn::greeted(ctx).await?;
    conn.send(hello(flags)).await?;
    conn.send(guest_login(name)).await?;
    let welcome = conn.expect::<Welcome>("HANDSHAKE-3").await?;
    ensure_eq(
        "HANDSHAKE-3",
        "WELCOME username",
        name,
        welcome.username.as_str(),
    )?;
    Ok(conn)
}

/// What a JOIN brought: JOINED, the replayed messages, HISTORY_END (`[ROOM-2]`).
pub struct Joining {
    pub joined: Joined,
    pub replay: Vec<Message>,
    pub end: HistoryEnd,
}

pub async fn join(conn: &mut Conn, room: &str, since_seq: u64, history: u16) -> Check<Joining> {
    conn.send(Join {
        room: s8(room),
        since_seq,
        history,
    })
    .await?;
    joining(conn).await
}

/// Reads the answer to a JOIN.
pub async fn joining(conn: &mut Conn) -> Check<Joining> {
    let joined = conn.expect::<Joined>("ROOM-2").await?;
    let mut replay = Vec::new();
    loop {
        match conn
            .next_frame("ROOM-2", "MESSAGE (replay) or HISTORY_END")
            .await?
        {
            Frame::Message(m) => replay.push(m),
            Frame::HistoryEnd(end) => {
                ensure(
                    "ROOM-2",
                    end.kind == HistoryKind::Room,
                    "HISTORY_END kind 0 (room)",
                    format!("{end:?}"),
                )?;
                return Ok(Joining {
                    joined,
                    replay,
                    end,
                });
            }
            other => {
                return Err(fail(
                    "ROOM-2",
                    "MESSAGE (replay) or HISTORY_END",
                    describe(&other),
                ))
            }
        }
    }
}

/// A fresh guest that joined `room`; returns the connection and its name.
pub async fn member(ctx: &Ctx, room: &str) -> Check<(Conn, String)> {
    let name = ctx.user();
    let mut conn = guest(ctx, &name).await?;
    join(&mut conn, room, 0, 0).await?;
    Ok((conn, name))
}

pub fn send_frame(client_ref: u32, room: &str, body: &str) -> SendMessage {
    SendMessage {
        client_ref,
        room: s8(room),
        body: s16(body),
    }
}

/// Sends a message and reads its ACK (`[MSG-2]`).
pub async fn say(conn: &mut Conn, client_ref: u32, room: &str, body: &str) -> Check<Ack> {
    conn.send(send_frame(client_ref, room, body)).await?;
    let ack = conn.expect::<Ack>("MSG-2").await?;
    ensure_eq("MSG-2", "ACK client_ref", client_ref, ack.client_ref)?;
    Ok(ack)
}

/// A fresh guest in no room: the READY state, nothing pending.
pub async fn ready(ctx: &Ctx) -> Check<Conn> {
    let name = ctx.user();
    guest(ctx, &name).await
}

pub fn account_login(mode: LoginMode, name: &str, password: &str) -> Login {
    Login {
        mode,
        username: s8(name),
        password: s8(password),
    }
}

/// How often a LOGIN refused with `TRY_AGAIN_LATER` is tried again, on a
/// fresh connection, before the case is skipped.
const BUSY_RETRIES: u32 = 6;

/// One LOGIN (HELLO sets NO_AUTO_JOIN) on a fresh connection; the
/// connection and the answer.
///
/// All the runner's connections come from one address, which a server may
/// limit (`[MEM-1]`: pending password checks per address, registrations per
/// address). A LOGIN_REJECTED `TRY_AGAIN_LATER` is therefore not the answer
/// a case checks: as MEM-1 says a client should, the runner waits (1 s, then
/// 2 s, ...) and tries again on a fresh connection; when the server still
/// refuses, the case is skipped with the setting it needs.
pub async fn login_answer(
    ctx: &Ctx,
    login: Login,
) -> Check<(Conn, Result<Welcome, LoginRejected>)> {
    for retry in 0..=BUSY_RETRIES {
        let (mut conn, _) = Conn::greeted(ctx).await?;
        conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
        conn.send(login.clone()).await?;
        // Servers SHOULD slow down repeated AUTH_FAILED answers (by address,
        // and every case comes from one): allow for it.
        conn.timeout = ctx.timeout + ctx.max_wait;
        let answer = match conn
            .next_frame("HANDSHAKE-3", "WELCOME or LOGIN_REJECTED")
            .await?
        {
            Frame::Welcome(w) => Ok(w),
            Frame::LoginRejected(r) if r.code == ErrorCode::TRY_AGAIN_LATER => {
                if retry < BUSY_RETRIES {
                    drop(conn);
                    tokio::time::sleep(std::time::Duration::from_secs(u64::from(retry) + 1)).await;
                    continue;
                }
                return Err(Stop::Skip(format!(
                    "the server kept answering TRY_AGAIN_LATER ({:?}) to one address: needs more pending password checks or registrations per address (confab-server: --register-burst)",
                    r.message.as_str()
                )));
            }
            Frame::LoginRejected(r) => Err(r),
            other => {
                return Err(fail(
                    "HANDSHAKE-3",
                    "WELCOME or LOGIN_REJECTED",
                    describe(&other),
                ))
            }
        };
        conn.timeout = ctx.timeout;
        return Ok((conn, answer));
    }
    unreachable!("the loop returns")
}

/// A LOGIN that must be answered WELCOME (after `TRY_AGAIN_LATER` retries).
pub async fn welcomed(ctx: &Ctx, clause: &'static str, login: Login) -> Check<(Conn, Welcome)> {
    let what = format!(
        "WELCOME for LOGIN mode {:?} {:?}",
        login.mode,
        login.username.as_str()
    );
    match login_answer(ctx, login).await? {
        (conn, Ok(welcome)) => Ok((conn, welcome)),
        (_, Err(r)) => Err(fail(
            clause,
            what,
            format!("LOGIN_REJECTED {} ({:?})", r.code, r.message.as_str()),
        )),
    }
}

/// A LOGIN that must be answered LOGIN_REJECTED `code`.
pub async fn rejected(
    ctx: &Ctx,
    clause: &'static str,
    login: Login,
    code: ErrorCode,
) -> Check<LoginRejected> {
    let what = format!(
        "LOGIN_REJECTED {code} for mode {:?} {:?}",
        login.mode,
        login.username.as_str()
    );
    match login_answer(ctx, login).await?.1 {
        Err(r) if r.code == code => Ok(r),
        Err(r) => Err(fail(clause, what, format!("LOGIN_REJECTED {}", r.code))),
        Ok(w) => Err(fail(
            clause,
            what,
            format!("WELCOME {:?}", w.username.as_str()),
        )),
    }
}

/// Skips unless the server has accounts.
pub fn require_accounts(ctx: &Ctx) -> Check {
    require(
        ctx.has_flag(Greeting::ACCOUNTS),
        "needs a server with accounts (GREETING flag ACCOUNTS; confab-server without --in-memory)",
    )
}

/// Ends a session with GOODBYE and waits for the server to close it, so its name is free.
pub async fn quit(mut conn: Conn) -> Check {
    conn.send(confab_protocol::frame::Goodbye {
        reason: ErrorCode::NORMAL,
        message: Str16::empty(),
    })
    .await?;
    conn.expect_closed("CLOSE-1").await
}

/// Pipelines `count` SENDs of `body` to `room` (client_refs from 0) in one
/// write, then reads their ACKs; PRESENCE in between is allowed.
pub async fn send_batch(
    conn: &mut Conn,
    clause: &'static str,
    room: &str,
    body: &str,
    count: usize,
) -> Check {
    let mut bytes = Vec::new();
    for r in 0..count {
        bytes.extend_from_slice(&Frame::from(send_frame(r as u32, room, body)).to_bytes());
    }
    conn.send_raw(&bytes).await?;
    let mut acks = 0;
    while acks < count {
        match conn.next_frame(clause, "ACK").await? {
            Frame::Ack(_) => acks += 1,
            Frame::Presence(_) => {}
            other => return Err(fail(clause, "ACK", describe(&other))),
        }
    }
    Ok(())
}

/// The next frame must be a fatal ERROR `code` about `frame_type`.
pub async fn fatal_about(
    conn: &mut Conn,
    clause: &'static str,
    code: ErrorCode,
    frame_type: u8,
) -> Check {
    let error = conn.expect_fatal(clause, code).await?;
    ensure_eq(clause, "ERROR frame_type", frame_type, error.frame_type)
}

/// A HISTORY request for `room`'s newest messages, as many as the server
/// answers by default (anchor 0, limit 0).
pub fn newest_room_history(room: &str) -> History {
    History {
        kind: HistoryKind::Room,
        target: s8(room),
        direction: Direction::Before,
        anchor: 0,
        limit: 0,
    }
}

/// The largest body, at most 4,096 bytes, whose SEND or DIRECT_MESSAGE to
/// `target` fits the advertised max_frame.
pub fn largest_body(ctx: &Ctx, target: &str) -> usize {
    let l = ctx.limits();
    usize::from(l.max_body)
        .min(4096)
        .min((l.max_frame as usize).saturating_sub(7 + target.len()))
        .max(1)
}

/// Skips unless one connection may send `n` requests at once: every request
/// costs a token (`[FLOW-5]`), and a case that does not check the rate limit
/// stays within `msg_burst`.
pub fn require_burst(ctx: &Ctx, n: u32) -> Check {
    require(
        ctx.limits().msg_burst >= n,
        format!("needs msg_burst of at least {n} (requests of one connection at once)"),
    )
}
