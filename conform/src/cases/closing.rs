//! Section 14, closing: GOODBYE, end of stream, fatal errors, and the
//! PRESENCE the other members see.

use std::sync::Arc;

use confab_protocol::frame::{code, Presence, PresenceEvent};
use confab_protocol::ErrorCode;

use super::raw;
use crate::case::Case;
use crate::client::{member, quit};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::verdict::{ensure_eq, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("closing.goodbye", ["CLOSE-1", "CLOSE-3", "STATE-4"],
            "after the client's GOODBYE the server closes, sending nothing more; members see PRESENCE 3", goodbye),
        crate::case!("closing.end-mid-frame", ["FRAMING-6", "CLOSE-3"],
            "a connection ending inside a frame counts as closed: members see PRESENCE 3", end_mid_frame),
        crate::case!("closing.fatal-error", ["CLOSE-3", "ERROR-3"],
            "after a fatal ERROR the server closes the connection and members see PRESENCE 3", fatal_error),
    ]
}

async fn departed(observer: &mut Conn, name: &str) -> Check {
    let p = observer.expect::<Presence>("CLOSE-3").await?;
    ensure_eq(
        "CLOSE-3",
        "PRESENCE (event, user)",
        (PresenceEvent::Disconnected, name),
        (p.event, p.username.as_str()),
    )
}

async fn pair(ctx: &Ctx) -> Check<(Conn, Conn, String)> {
    let room = ctx.room();
    let (mut a, _) = member(ctx, &room).await?;
    let (b, b_name) = member(ctx, &room).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    Ok((a, b, b_name))
}

async fn goodbye(ctx: Arc<Ctx>) -> Check {
    let (mut a, mut b, b_name) = pair(&ctx).await?;
    b.quiet("CLOSE-1", "nothing pending before GOODBYE").await?;
    quit(b).await?;
    departed(&mut a, &b_name).await
}

async fn end_mid_frame(ctx: Arc<Ctx>) -> Check {
    let (mut a, mut b, b_name) = pair(&ctx).await?;
    b.send_raw(&[code::PING, 0, 0]).await?;
    b.shutdown_write().await;
    departed(&mut a, &b_name).await
}

async fn fatal_error(ctx: Arc<Ctx>) -> Check {
    let (mut a, mut b, b_name) = pair(&ctx).await?;
    b.send_raw(&raw(code::PING, &[1, 2, 3])).await?;
    b.expect_fatal("CLOSE-3", ErrorCode::MALFORMED_FRAME)
        .await?;
    departed(&mut a, &b_name).await
}
