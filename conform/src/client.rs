//! The steps most cases share: log in as a fresh guest, join a room, send a
//! message. Each step checks the clause that governs it.

use confab_protocol::frame::{
    Ack, Greeting, Hello, HistoryEnd, HistoryKind, Join, Joined, Login, LoginMode, Message, Send,
    Welcome,
};
use confab_protocol::{Frame, Str16, Str8, PROTOCOL_VERSION};

use crate::conn::{describe, Conn};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check};

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

pub fn send_frame(client_ref: u32, room: &str, body: &str) -> Send {
    Send {
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
