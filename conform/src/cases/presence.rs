//! Section 10, presence: WHO and PRESENCE events.

use std::sync::Arc;

use confab_protocol::frame::{Presence, PresenceEvent, Who, WhoList};
use confab_protocol::{ErrorCode, Frame};

use crate::case::Case;
use crate::client::{guest, join, member, ready, s8};
use crate::conn::{Conn, Got};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!(
            "presence.who-room",
            ["PRESENCE-1"],
            "WHO of a room lists its members",
            who_room
        ),
        crate::case!(
            "presence.who-everyone",
            ["PRESENCE-1"],
            "WHO with the empty string lists every logged-in user, in rooms or not",
            who_everyone
        ),
        crate::case!(
            "presence.who-no-such-room",
            ["PRESENCE-1"],
            "WHO of a room without members or history gets NO_SUCH_ROOM (not fatal)",
            who_no_such_room
        ),
        crate::case!(
            "presence.events",
            ["PRESENCE-2", "CLOSE-3"],
            "members see PRESENCE 1 on join, 2 on leave, 3 when a member's connection ends",
            events
        ),
        crate::case!(
            "presence.who-paging",
            ["PRESENCE-1"],
            "a member list larger than max_frame comes in WHO_LIST pages flagged MORE",
            who_paging,
            exclusive
        ),
        crate::case!(
            "presence.coalesced",
            ["PRESENCE-3"],
            "a member joining and leaving fast: the PRESENCE others see alternates joined/left and ends with the net change",
            coalesced
        ),
    ]
}

/// Every name of every page of a WHO answer.
pub async fn who(conn: &mut Conn, room: &str) -> Check<(usize, Vec<String>)> {
    conn.send(Who { room: s8(room) }).await?;
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let page = conn.expect::<WhoList>("PRESENCE-1").await?;
        pages += 1;
        names.extend(page.users.iter().map(|u| u.to_lowercase()));
        if page.flags & WhoList::MORE == 0 {
            return Ok((pages, names));
        }
    }
}

async fn who_room(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, a_name) = member(&ctx, &room).await?;
    let (_b, b_name) = member(&ctx, &room).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    let (_, mut names) = who(&mut a, &room).await?;
    names.sort();
    let mut wanted = vec![a_name, b_name];
    wanted.sort();
    ensure_eq("PRESENCE-1", "WHO_LIST names", wanted, names)
}

async fn who_everyone(ctx: Arc<Ctx>) -> Check {
    let (a_name, b_name) = (ctx.user(), ctx.user());
    let mut a = guest(&ctx, &a_name).await?;
    let _b = guest(&ctx, &b_name).await?;
    let (_, names) = who(&mut a, "").await?;
    for name in [&a_name, &b_name] {
        ensure(
            "PRESENCE-1",
            names.contains(name),
            format!("{name} in WHO \"\""),
            format!("{} names without it", names.len()),
        )?;
    }
    Ok(())
}

async fn who_no_such_room(ctx: Arc<Ctx>) -> Check {
    let mut a = ready(&ctx).await?;
    a.send(Who {
        room: s8(&ctx.room()),
    })
    .await?;
    a.expect_error("PRESENCE-1", ErrorCode::NO_SUCH_ROOM)
        .await?;
    a.quiet("PRESENCE-1", "the connection to stay open").await
}

async fn events(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let (mut b, b_name) = member(&ctx, &room).await?;
    let (c, c_name) = member(&ctx, &room).await?;
    for (who, event) in [
        (&b_name, PresenceEvent::Joined),
        (&c_name, PresenceEvent::Joined),
    ] {
        let p = a.expect::<Presence>("PRESENCE-2").await?;
        ensure_eq(
            "PRESENCE-2",
            "PRESENCE (event, room, user)",
            (event, room.as_str(), who.as_str()),
            (p.event, p.room.as_str(), p.username.as_str()),
        )?;
        ensure("PRESENCE-2", p.time > 0, "a time stamp", p.time)?;
    }
    b.expect::<Presence>("PRESENCE-2").await?;
    b.send(confab_protocol::frame::Leave { room: s8(&room) })
        .await?;
    b.expect::<confab_protocol::frame::Left>("ROOM-5").await?;
    let p = a.expect::<Presence>("PRESENCE-2").await?;
    ensure_eq(
        "PRESENCE-2",
        "PRESENCE (event, user)",
        (PresenceEvent::Left, b_name.as_str()),
        (p.event, p.username.as_str()),
    )?;
    // C's connection ends without a GOODBYE.
    drop(c);
    let p = a.expect::<Presence>("CLOSE-3").await?;
    ensure_eq(
        "CLOSE-3",
        "PRESENCE (event, user)",
        (PresenceEvent::Disconnected, c_name.as_str()),
        (p.event, p.username.as_str()),
    )
}

async fn who_paging(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    let name_len = usize::from(l.max_username).max(ctx.user().len());
    let needed = l.max_frame as usize / (1 + name_len) + 1;
    require(needed <= 200, format!("needs a member list of max_frame bytes within 200 users ({needed}; a smaller max_frame)"))?;
    let room = ctx.room();
    let mut members = Vec::new();
    for _ in 0..needed {
        let stem = ctx.user();
        let name = format!("{stem}{}", "w".repeat(name_len - stem.len()));
        let mut conn = guest(&ctx, &name).await?;
        join(&mut conn, &room, 0, 0).await?;
        members.push(conn);
    }
    let mut asker = ready(&ctx).await?;
    let (pages, names) = who(&mut asker, &room).await?;
    ensure(
        "PRESENCE-1",
        pages >= 2,
        "several WHO_LIST pages",
        format!("{pages} page(s)"),
    )?;
    ensure_eq("PRESENCE-1", "members listed", needed, names.len())
}

async fn coalesced(ctx: Arc<Ctx>) -> Check {
    crate::client::require_burst(&ctx, 14)?;
    let room = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let b_name = ctx.user();
    let mut b = guest(&ctx, &b_name).await?;
    for _ in 0..6 {
        join(&mut b, &room, 0, 0).await?;
        b.send(confab_protocol::frame::Leave { room: s8(&room) })
            .await?;
        b.expect::<confab_protocol::frame::Left>("ROOM-5").await?;
    }
    // b is out. What a sees of b alternates from "joined" and settles on
    // "left": a change held back is announced within the coalescing window
    // (a second on the reference server), so "left" followed by QUIET of
    // silence is the end; anything else is waited for up to the read timeout.
    const QUIET: std::time::Duration = std::time::Duration::from_secs(2);
    let mut events: Vec<PresenceEvent> = Vec::new();
    loop {
        let settled = events.last() == Some(&PresenceEvent::Left);
        let wait = if settled { QUIET } else { a.timeout };
        let p = match a.next_within(wait).await {
            Got::Frame(Frame::Presence(p)) => p,
            Got::TimedOut(_) if settled => break,
            other => {
                return Err(crate::conn::fail_got(
                    "PRESENCE-3",
                    format!("PRESENCE for {b_name:?} ending with \"left\" (seen {events:?})"),
                    other,
                ))
            }
        };
        ensure_eq(
            "PRESENCE-3",
            "PRESENCE username",
            b_name.as_str(),
            p.username.as_str(),
        )?;
        let expected = if events.len() % 2 == 0 {
            PresenceEvent::Joined
        } else {
            PresenceEvent::Left
        };
        ensure(
            "PRESENCE-3",
            p.event == expected,
            format!("events alternating from joined, then {expected:?}"),
            format!("{events:?} then {:?}", p.event),
        )?;
        events.push(p.event);
    }
    let (_, names) = who(&mut a, &room).await?;
    ensure(
        "PRESENCE-3",
        !names.contains(&b_name),
        "WHO without the member who left",
        format!("{names:?}"),
    )
}
