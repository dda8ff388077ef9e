//! Section 9, direct messages: `[DM-1]` to `[DM-3]`.

use std::sync::Arc;

use confab_protocol::frame::{Ack, Direct, DirectMessage};
use confab_protocol::ErrorCode;

use crate::case::Case;
use crate::client::{guest, ready, s16, s8};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::verdict::{ensure_eq, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("direct.delivery", ["DM-1"],
            "DIRECT reaches the recipient only, as DIRECT_MESSAGE with the ACK's id and time; ACK seq 0", delivery),
        crate::case!("direct.no-such-user", ["DM-2"],
            "DIRECT to a user not logged in, or to oneself, gets NO_SUCH_USER (not fatal)", no_such_user),
        crate::case!("direct.body-rules", ["DM-3"],
            "empty and too long DIRECT bodies get EMPTY_MESSAGE and BODY_TOO_LONG with the client_ref", body_rules),
    ]
}

pub fn direct(client_ref: u32, to: &str, body: &str) -> Direct {
    Direct {
        client_ref,
        to: s8(to),
        body: s16(body),
    }
}

/// Sends a direct message and reads its ACK.
pub async fn tell(conn: &mut Conn, client_ref: u32, to: &str, body: &str) -> Check<Ack> {
    conn.send(direct(client_ref, to, body)).await?;
    let ack = conn.expect::<Ack>("DM-1").await?;
    ensure_eq("DM-1", "ACK client_ref", client_ref, ack.client_ref)?;
    Ok(ack)
}

async fn delivery(ctx: Arc<Ctx>) -> Check {
    let (a_name, b_name) = (ctx.user(), ctx.user());
    let mut a = guest(&ctx, &a_name).await?;
    let mut b = guest(&ctx, &b_name).await?;
    let mut c = ready(&ctx).await?;
    let ack = tell(&mut a, 3, &b_name, "psst").await?;
    ensure_eq("DM-1", "ACK seq", 0, ack.seq)?;
    let dm = b.expect::<DirectMessage>("DM-1").await?;
    ensure_eq(
        "DM-1",
        "DIRECT_MESSAGE (from, to, body)",
        (a_name.as_str(), b_name.as_str(), "psst"),
        (dm.from.as_str(), dm.to.as_str(), dm.body.as_str()),
    )?;
    ensure_eq(
        "DM-1",
        "DIRECT_MESSAGE (id, time) = ACK's",
        (ack.id, ack.time),
        (dm.id, dm.time),
    )?;
    ensure_eq(
        "DM-1",
        "DIRECT_MESSAGE HISTORY flag (live)",
        0,
        dm.flags & DirectMessage::HISTORY,
    )?;
    a.quiet("DM-1", "no DIRECT_MESSAGE back to the sender")
        .await?;
    c.quiet("DM-1", "nothing for a third user").await
}

async fn no_such_user(ctx: Arc<Ctx>) -> Check {
    let name = ctx.user();
    let mut a = guest(&ctx, &name).await?;
    a.send(direct(8, &ctx.user(), "anyone?")).await?;
    a.expect_error_ref("DM-2", ErrorCode::NO_SUCH_USER, 8)
        .await?;
    a.send(direct(9, &name, "me?")).await?;
    a.expect_error_ref("DM-2", ErrorCode::NO_SUCH_USER, 9)
        .await?;
    a.quiet("DM-2", "the connection to stay open").await
}

async fn body_rules(ctx: Arc<Ctx>) -> Check {
    let max = usize::from(ctx.limits().max_body);
    require(
        max + 1 + 16 <= ctx.limits().max_frame as usize && max < 65_535,
        "needs max_frame above max_body + 16",
    )?;
    let b_name = ctx.user();
    let mut a = ready(&ctx).await?;
    let _b = guest(&ctx, &b_name).await?;
    a.send(direct(1, &b_name, "")).await?;
    a.expect_error_ref("DM-3", ErrorCode::EMPTY_MESSAGE, 1)
        .await?;
    a.send(direct(2, &b_name, " \t ")).await?;
    a.expect_error_ref("DM-3", ErrorCode::EMPTY_MESSAGE, 2)
        .await?;
    a.send(direct(3, &b_name, &"d".repeat(max + 1))).await?;
    a.expect_error_ref("DM-3", ErrorCode::BODY_TOO_LONG, 3)
        .await?;
    Ok(())
}
