//! Section 8, `[ROOM-6]`: LIST_ROOMS and its pages.

use std::sync::Arc;

use confab_protocol::frame::{Leave, Left, ListRooms, Presence, RoomList};

use crate::case::Case;
use crate::client::{join, member, ready, s8};
use crate::conn::Conn;
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!(
            "rooms.list",
            ["ROOM-6"],
            "LIST_ROOMS names rooms with members (with their count) and not rooms left empty",
            list
        ),
        crate::case!(
            "rooms.list-paging",
            ["ROOM-6"],
            "a room list larger than max_frame comes in pages flagged MORE, each fitting max_frame",
            list_paging,
            exclusive
        ),
    ]
}

/// Every page of a LIST_ROOMS answer.
async fn list_rooms(conn: &mut Conn) -> Check<Vec<RoomList>> {
    conn.send(ListRooms {}).await?;
    let mut pages = Vec::new();
    loop {
        let page = conn.expect::<RoomList>("ROOM-6").await?;
        let more = page.flags & RoomList::MORE != 0;
        pages.push(page);
        if !more {
            return Ok(pages);
        }
    }
}

fn listed(pages: &[RoomList], room: &str) -> Option<u32> {
    pages
        .iter()
        .flat_map(|p| p.rooms.iter())
        .find(|r| r.name.to_lowercase() == room.to_lowercase())
        .map(|r| r.members)
}

async fn list(ctx: Arc<Ctx>) -> Check {
    let room = ctx.room();
    let emptied = ctx.room();
    let (mut a, _) = member(&ctx, &room).await?;
    let (_b, _) = member(&ctx, &room).await?;
    a.expect::<Presence>("PRESENCE-2").await?;
    join(&mut a, &emptied, 0, 0).await?;
    a.send(Leave { room: s8(&emptied) }).await?;
    a.expect::<Left>("ROOM-5").await?;
    let pages = list_rooms(&mut a).await?;
    ensure_eq(
        "ROOM-6",
        format!("members of {room} in ROOM_LIST").as_str(),
        Some(2),
        listed(&pages, &room),
    )?;
    ensure_eq(
        "ROOM-6",
        format!("{emptied} (no members) in ROOM_LIST").as_str(),
        None,
        listed(&pages, &emptied),
    )
}

async fn list_paging(ctx: Arc<Ctx>) -> Check {
    let l = ctx.limits();
    let name_len = usize::from(l.max_room_name).max(ctx.room().len());
    let needed = l.max_frame as usize / (1 + name_len + 4) + 1;
    let conns = needed.div_ceil(usize::from(l.max_rooms));
    require(conns <= 40, format!("needs a room list of max_frame bytes within 40 connections ({needed} rooms; a smaller max_frame or larger max_rooms)"))?;
    let mut members = Vec::new();
    let mut rooms = Vec::new();
    for _ in 0..conns {
        let mut conn = ready(&ctx).await?;
        for _ in 0..l.max_rooms {
            if rooms.len() == needed {
                break;
            }
            let stem = ctx.room();
            let room = format!("{stem}{}", "p".repeat(name_len - stem.len()));
            join(&mut conn, &room, 0, 0).await?;
            rooms.push(room);
        }
        members.push(conn);
    }
    let pages = list_rooms(&mut members[0]).await?;
    ensure(
        "ROOM-6",
        pages.len() >= 2,
        "several ROOM_LIST pages",
        format!("{} page(s)", pages.len()),
    )?;
    for room in &rooms {
        ensure(
            "ROOM-6",
            listed(&pages, room).is_some(),
            format!("{room} listed"),
            "missing from every page",
        )?;
    }
    Ok(())
}
