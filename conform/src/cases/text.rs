//! Message text in 1.1: blank bodies (`[TYPES-5]`), line breaks
//! (`[BODY-1]`) and actions (`[ACTION-1]`).

use std::sync::Arc;

use confab_protocol::frame::{
    code, Ack, DirectAction, DirectMessage, Greeting, Join, Message, Presence, SendAction,
};
use confab_protocol::ErrorCode;

use crate::case::Case;
use crate::client::{guest, join, member, ready, s16, s8, say, send_frame};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("text.blank-bodies", ["TYPES-5", "MSG-6"],
            "bodies of only Unicode White_Space, zero-width, invisible or bidi characters are EMPTY_MESSAGE; one visible character is enough", blank_bodies),
        crate::case!("text.blank-in-names", ["TYPES-5", "SEC-4"],
            "White_Space beyond ASCII (U+00A0, U+0085, U+2028, U+3000) makes a room name ROOM_INVALID", blank_in_names),
        crate::case!("text.line-breaks", ["BODY-1"],
            "a body with LF, CR LF and other controls is relayed and replayed unchanged; max_body counts the line breaks", line_breaks),
        crate::case!("text.actions", ["ACTION-1"],
            "with ACTIONS, SEND_ACTION and DIRECT_ACTION act as SEND and DIRECT with the ACTION flag; without it they are UNKNOWN_FRAME_TYPE without client_ref", actions),
    ]
}

async fn blank_bodies(ctx: Arc<Ctx>) -> Check {
    crate::client::require_burst(&ctx, 10)?;
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let blanks = [
        "\u{200B}",
        "\u{FEFF}",
        "\u{2060}\u{200D}\u{200C}",
        "\u{200E}\u{202A}\u{2066}",
        "\u{00A0}\u{3000}\u{2028}\u{2029}",
        "\u{0085}\u{1680}\u{205F}\u{202F}",
        " \u{200B} \u{FEFF}\t",
    ];
    for (r, body) in (30..).zip(blanks) {
        a.send(send_frame(r, &room, body)).await?;
        a.expect_error_ref("TYPES-5", ErrorCode::EMPTY_MESSAGE, r)
            .await?;
    }
    let ack = say(&mut a, 40, &room, "\u{200B}x").await?;
    ensure_eq("MSG-6", "seq after rejected blank SENDs", 1, ack.seq)
}

async fn blank_in_names(ctx: Arc<Ctx>) -> Check {
    let mut a = ready(&ctx).await?;
    for space in ['\u{00A0}', '\u{0085}', '\u{2028}', '\u{3000}'] {
        let name = format!("r{space}x");
        a.send(Join {
            room: s8(&name),
            since_seq: 0,
            history: 0,
        })
        .await?;
        a.expect_error("TYPES-5", ErrorCode::ROOM_INVALID).await?;
    }
    Ok(())
}

async fn line_breaks(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    let max = usize::from(l.max_body);
    let room = ctx.room();
    require(
        max >= 32 && max < usize::from(u16::MAX),
        "needs max_body between 32 and 65,534",
    )?;
    require(
        max + 1 + 8 + room.len() <= l.max_frame as usize,
        "needs max_frame above max_body + 8 + a room name",
    )?;
    require(
        l.byte_burst as usize >= 3 * max,
        "needs byte_burst of at least 3 × max_body",
    )?;
    let (mut a, _) = member(&ctx, &room).await?;
    let (mut b, _) = member(&ctx, &room).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    let body = "line one\nline two\r\nthree\rfour\u{7}\u{1b}[2J";
    say(&mut a, 1, &room, body).await?;
    let m = b.expect::<Message>("BODY-1").await?;
    ensure_eq("BODY-1", "relayed body", body, m.body.as_str())?;
    // max_body bytes, half of them line breaks: accepted; one more: too long.
    let mut full = "a\n".repeat(max / 2);
    if full.len() < max {
        full.push('a');
    }
    say(&mut a, 2, &room, &full).await?;
    let m = b.expect::<Message>("BODY-1").await?;
    ensure_eq("BODY-1", "relayed body length", max, m.body.len())?;
    a.send(send_frame(3, &room, &format!("{full}\n"))).await?;
    a.expect_error_ref("BODY-1", ErrorCode::BODY_TOO_LONG, 3)
        .await?;
    // Stored unchanged: the replay carries the same bytes.
    let mut c = ready(&ctx).await?;
    let joining = join(&mut c, &room, 0, 2).await?;
    let replayed: Vec<&str> = joining.replay.iter().map(|m| m.body.as_str()).collect();
    ensure_eq(
        "BODY-1",
        "replayed bodies",
        vec![body, full.as_str()],
        replayed,
    )
}

async fn actions(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, a_name) = member(&ctx, &room).await?;
    if !ctx.has_flag(Greeting::ACTIONS) {
        a.send(SendAction {
            client_ref: 9,
            room: s8(&room),
            body: s16("waves"),
        })
        .await?;
        let e = a
            .expect_error("ACTION-1", ErrorCode::UNKNOWN_FRAME_TYPE)
            .await?;
        ensure_eq(
            "ACTION-1",
            "ERROR (frame_type, client_ref)",
            (code::SEND_ACTION, 0),
            (e.frame_type, e.client_ref),
        )?;
        return a.quiet("ACTION-1", "the connection to stay open").await;
    }
    let b_name = ctx.user();
    let mut b = guest(&ctx, &b_name).await?;
    join(&mut b, &room, 0, 0).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    a.send(SendAction {
        client_ref: 5,
        room: s8(&room),
        body: s16("waves"),
    })
    .await?;
    let ack = a.expect::<Ack>("ACTION-1").await?;
    ensure_eq("ACTION-1", "ACK client_ref", 5, ack.client_ref)?;
    let m = b.expect::<Message>("ACTION-1").await?;
    ensure_eq(
        "ACTION-1",
        "MESSAGE (flags, sender, body, id, seq)",
        (Message::ACTION, a_name.as_str(), "waves", ack.id, ack.seq),
        (m.flags, m.sender.as_str(), m.body.as_str(), m.id, m.seq),
    )?;
    // The same checks as SEND, and ERRORs carry the action's type code.
    let elsewhere = ctx.room();
    a.send(SendAction {
        client_ref: 6,
        room: s8(&elsewhere),
        body: s16("waves"),
    })
    .await?;
    let e = a
        .expect_error_ref("ACTION-1", ErrorCode::NOT_IN_ROOM, 6)
        .await?;
    ensure_eq(
        "ACTION-1",
        "ERROR frame_type",
        code::SEND_ACTION,
        e.frame_type,
    )?;
    a.send(SendAction {
        client_ref: 7,
        room: s8(&room),
        body: s16(" "),
    })
    .await?;
    a.expect_error_ref("ACTION-1", ErrorCode::EMPTY_MESSAGE, 7)
        .await?;
    a.send(DirectAction {
        client_ref: 8,
        to: s8(&b_name),
        body: s16("nods"),
    })
    .await?;
    let ack = a.expect::<Ack>("ACTION-1").await?;
    ensure_eq(
        "ACTION-1",
        "ACK (client_ref, seq)",
        (8, 0),
        (ack.client_ref, ack.seq),
    )?;
    let dm = b.expect::<DirectMessage>("ACTION-1").await?;
    ensure_eq(
        "ACTION-1",
        "DIRECT_MESSAGE (flags, from, body, id)",
        (DirectMessage::ACTION, a_name.as_str(), "nods", ack.id),
        (dm.flags, dm.from.as_str(), dm.body.as_str(), dm.id),
    )?;
    a.send(DirectAction {
        client_ref: 10,
        to: s8(&ctx.user()),
        body: s16("nods"),
    })
    .await?;
    let e = a
        .expect_error_ref("ACTION-1", ErrorCode::NO_SUCH_USER, 10)
        .await?;
    ensure_eq(
        "ACTION-1",
        "ERROR frame_type",
        code::DIRECT_ACTION,
        e.frame_type,
    )?;
    // Replayed with the flag.
    let mut c = ready(&ctx).await?;
    let joining = join(&mut c, &room, 0, 1).await?;
    let flags: Vec<u8> = joining.replay.iter().map(|m| m.flags).collect();
    ensure(
        "ACTION-1",
        flags == [Message::ACTION | Message::HISTORY],
        "one replayed MESSAGE with flags ACTION | HISTORY",
        format!("replayed flags {flags:?}"),
    )
}
