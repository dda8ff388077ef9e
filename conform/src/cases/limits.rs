//! Section 16, advertised frame and memory limits: `[LIMIT-9]`, `[MEM-2]`.

use std::sync::Arc;

use confab_protocol::frame::{Hello, Welcome};

use crate::case::Case;
use crate::client::{guest_login, hello, join, member, newest_room_history, send_batch};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("limits.frame-fits-limits", ["LIMIT-9"],
            "the advertised max_frame holds the largest MESSAGE and DIRECT_MESSAGE the other limits allow", frame_fits_limits),
        crate::case!("limits.long-answers", ["MEM-2", "ROOM-2", "HISTORY-1"],
            "a replay and a HISTORY answer of history_max messages of the largest body reach a reading client whole", long_answers),
    ]
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
    let body_len = crate::client::largest_body(&ctx, &room);
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
        send_batch(&mut conn, "MSG-2", &room, &body, batch).await?;
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
    reader.send(newest_room_history(&room)).await?;
    let (messages, end) = super::rooms_replay::history_answer(&mut reader, "MEM-2").await?;
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
