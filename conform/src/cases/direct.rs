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
        crate::case!("direct.recipient-busy", ["DM-4"],
            "direct messages piling up for a recipient that does not read get RECIPIENT_BUSY (not fatal, with client_ref); the recipient is not cut off", recipient_busy, exclusive),
    ]
}

/// Bytes a server's kernel send buffer may hold on loopback before its queue fills.
const KERNEL_BUFFERS: usize = 4 << 20;

async fn recipient_busy(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    crate::client::require_guests(&ctx)?;
    let victim_name = ctx.user();
    let body_len = crate::client::largest_body(&ctx, &victim_name);
    let per_conn = (l.msg_burst as usize / 2)
        .min(l.byte_burst as usize / 2 / body_len)
        .clamp(1, 200);
    let senders = (KERNEL_BUFFERS / body_len + 1024).div_ceil(per_conn);
    require(senders <= 300, format!("needs 4 MiB of direct messages from at most 300 senders ({senders} needed: a larger msg_burst/byte_burst)"))?;
    let mut victim = Conn::open_with(&ctx, Some(4096)).await?;
    victim.greeting().await?;
    victim
        .send(crate::client::hello(
            confab_protocol::frame::Hello::NO_AUTO_JOIN,
        ))
        .await?;
    victim
        .send(crate::client::guest_login(&victim_name))
        .await?;
    victim
        .expect::<confab_protocol::frame::Welcome>("HANDSHAKE-3")
        .await?;
    // The victim reads nothing from now on.
    let body = "d".repeat(body_len);
    for _ in 0..senders {
        let mut s = ready(&ctx).await?;
        let mut bytes = Vec::new();
        for r in 0..per_conn {
            bytes.extend_from_slice(
                &confab_protocol::Frame::from(direct(r as u32, &victim_name, &body)).to_bytes(),
            );
        }
        s.send_raw(&bytes).await?;
        let mut busy = false;
        for r in 0..per_conn {
            match s.next_frame("DM-4", "ACK or RECIPIENT_BUSY").await? {
                confab_protocol::Frame::Ack(ack) => {
                    ensure_eq("DM-4", "ACK client_ref", r as u32, ack.client_ref)?
                }
                confab_protocol::Frame::ErrorFrame(e) if e.code == ErrorCode::RECIPIENT_BUSY => {
                    crate::conn::check_fatal_flag(&e)?;
                    ensure_eq(
                        "DM-4",
                        "RECIPIENT_BUSY (frame_type, client_ref)",
                        (confab_protocol::frame::code::DIRECT, r as u32),
                        (e.frame_type, e.client_ref),
                    )?;
                    busy = true;
                }
                other => {
                    return Err(crate::verdict::fail(
                        "DM-4",
                        "ACK or RECIPIENT_BUSY",
                        crate::conn::describe(&other),
                    ))
                }
            }
        }
        if busy {
            // The recipient was not cut off: it reads what waits, then a PONG.
            victim.timeout = ctx.timeout * 2;
            let frames = victim.barrier("DM-4").await?;
            return match frames.iter().find(|f| !matches!(f, confab_protocol::Frame::DirectMessage(_))) {
                None => Ok(()),
                Some(other) => Err(crate::verdict::fail(
                    "DM-4",
                    "only DIRECT_MESSAGE frames, then the PONG (the recipient is never cut off for direct messages)",
                    crate::conn::describe(other),
                )),
            };
        }
    }
    Err(crate::verdict::Stop::Skip(format!(
        "inconclusive: {} direct messages waited for the recipient without RECIPIENT_BUSY",
        senders * per_conn
    )))
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
