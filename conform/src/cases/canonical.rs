//! Names the server reports (`[NAMES-1]`) and look-alike usernames (`[SEC-8]`).

use std::sync::Arc;

use confab_protocol::frame::{
    DirectMessage, Direction, Greeting, History, HistoryEnd, HistoryKind, Join, Joined, Leave,
    Left, ListRooms, LoginMode, Message, Presence, RoomList, WhoList,
};
use confab_protocol::{ErrorCode, Frame};

use super::direct::tell;
use crate::case::Case;
use crate::client::{
    account_login, guest, guest_login, login_answer, quit, rejected, require_accounts,
    require_guests, s8, say, welcomed,
};
use crate::conn::{describe, Conn};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("canonical.room-names", ["NAMES-1"],
            "JOINED, PRESENCE, MESSAGE, WHO_LIST, HISTORY_END, ROOM_LIST and LEFT carry the spelling of the JOIN that made the room", room_names),
        crate::case!("canonical.user-names", ["NAMES-1"],
            "DIRECT_MESSAGE, WHO_LIST and HISTORY_END carry a guest's own spelling, whatever spelling the request used", user_names),
        crate::case!("canonical.account-name", ["NAMES-1"],
            "WELCOME after a LOGIN typed in another case carries the registered spelling", account_name),
        crate::case!("canonical.look-alikes", ["SEC-8"],
            "fullwidth and Cyrillic look-alikes of a name online are NAME_TAKEN, of a reserved name NAME_RESERVED, of a registered name ACCOUNT_REQUIRED / ACCOUNT_EXISTS", look_alikes),
    ]
}

fn history(kind: HistoryKind, target: &str) -> History {
    History {
        kind,
        target: s8(target),
        direction: Direction::Before,
        anchor: 0,
        limit: 10,
    }
}

/// The next frame that is not PRESENCE, which must be a `T`.
async fn next_skipping_presence<T: crate::conn::Expect>(
    conn: &mut Conn,
    clause: &'static str,
) -> Check<T> {
    loop {
        match conn.next_frame(clause, T::NAME).await? {
            Frame::Presence(_) => continue,
            frame => {
                return T::take(frame).map_err(|other| fail(clause, T::NAME, describe(&other)))
            }
        }
    }
}

async fn room_names(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let canon = format!("Ab{}", ctx.room());
    let (upper, lower) = (canon.to_uppercase(), canon.to_lowercase());
    let (a_name, b_name) = (ctx.user(), ctx.user());
    let mut a = guest(&ctx, &a_name).await?;
    let mut b = guest(&ctx, &b_name).await?;
    let join = |room: &str| Join {
        room: s8(room),
        since_seq: 0,
        history: 0,
    };
    a.send(join(&canon)).await?;
    let joined = a.expect::<Joined>("NAMES-1").await?;
    ensure_eq(
        "NAMES-1",
        "JOINED room",
        canon.as_str(),
        joined.room.as_str(),
    )?;
    a.expect::<HistoryEnd>("ROOM-2").await?;
    b.send(join(&lower)).await?;
    let joined = b.expect::<Joined>("NAMES-1").await?;
    ensure_eq(
        "NAMES-1",
        "JOINED room (JOIN in lower case)",
        canon.as_str(),
        joined.room.as_str(),
    )?;
    let end = b.expect::<HistoryEnd>("ROOM-2").await?;
    ensure_eq(
        "NAMES-1",
        "HISTORY_END target (JOIN replay)",
        canon.as_str(),
        end.target.as_str(),
    )?;
    let p = a.expect::<Presence>("PRESENCE-2").await?;
    ensure_eq("NAMES-1", "PRESENCE room", canon.as_str(), p.room.as_str())?;
    say(&mut b, 1, &upper, "hello").await?;
    let m = a.expect::<Message>("NAMES-1").await?;
    ensure_eq(
        "NAMES-1",
        "MESSAGE room (SEND in upper case)",
        canon.as_str(),
        m.room.as_str(),
    )?;
    b.send(confab_protocol::frame::Who { room: s8(&upper) })
        .await?;
    let list = b.expect::<WhoList>("NAMES-1").await?;
    ensure_eq(
        "NAMES-1",
        "WHO_LIST room (WHO in upper case)",
        canon.as_str(),
        list.room.as_str(),
    )?;
    b.send(history(HistoryKind::Room, &lower)).await?;
    let (_, end) = super::rooms_replay::history_answer(&mut b, "NAMES-1").await?;
    ensure_eq(
        "NAMES-1",
        "HISTORY_END target (HISTORY in lower case)",
        canon.as_str(),
        end.target.as_str(),
    )?;
    b.send(ListRooms {}).await?;
    let mut listed = Vec::new();
    loop {
        let page = b.expect::<RoomList>("NAMES-1").await?;
        listed.extend(
            page.rooms
                .iter()
                .filter(|r| r.name.to_lowercase() == lower)
                .map(|r| r.name.to_string()),
        );
        if page.flags & RoomList::MORE == 0 {
            break;
        }
    }
    ensure_eq(
        "NAMES-1",
        "ROOM_LIST names of the room",
        vec![canon.clone()],
        listed,
    )?;
    b.send(Leave { room: s8(&upper) }).await?;
    let left = b.expect::<Left>("NAMES-1").await?;
    ensure_eq(
        "NAMES-1",
        "LEFT room (LEAVE in upper case)",
        canon.as_str(),
        left.room.as_str(),
    )?;
    let p = a.expect::<Presence>("PRESENCE-2").await?;
    ensure_eq(
        "NAMES-1",
        "PRESENCE (room, username)",
        (canon.as_str(), b_name.as_str()),
        (p.room.as_str(), p.username.as_str()),
    )
}

async fn user_names(ctx: Arc<Ctx>) -> Check {
    require_guests(&ctx)?;
    let a_name = ctx.user();
    let b_canon = format!("Cd{}", ctx.user());
    let mut a = guest(&ctx, &a_name).await?;
    let mut b = guest(&ctx, &b_canon).await?;
    tell(&mut a, 1, &b_canon.to_lowercase(), "hi").await?;
    let dm = b.expect::<DirectMessage>("NAMES-1").await?;
    ensure_eq(
        "NAMES-1",
        "DIRECT_MESSAGE (from, to) for a DIRECT in lower case",
        (a_name.as_str(), b_canon.as_str()),
        (dm.from.as_str(), dm.to.as_str()),
    )?;
    a.send(history(HistoryKind::Direct, &b_canon.to_uppercase()))
        .await?;
    let (_, end) = super::rooms_replay::history_answer_direct(&mut a, "NAMES-1").await?;
    ensure_eq(
        "NAMES-1",
        "HISTORY_END target (kind 1 in upper case)",
        b_canon.as_str(),
        end.target.as_str(),
    )?;
    // A target that names nobody comes back as sent.
    let nobody = format!("Zz{}", ctx.user());
    a.send(history(HistoryKind::Direct, &nobody)).await?;
    let end = next_skipping_presence::<HistoryEnd>(&mut a, "NAMES-1").await?;
    ensure_eq(
        "NAMES-1",
        "HISTORY_END target for nobody",
        nobody.as_str(),
        end.target.as_str(),
    )?;
    a.send(confab_protocol::frame::Who { room: s8("") }).await?;
    let mut names = Vec::new();
    loop {
        let page = a.expect::<WhoList>("NAMES-1").await?;
        names.extend(
            page.users
                .iter()
                .filter(|u| u.to_lowercase() == b_canon.to_lowercase())
                .map(|u| u.to_string()),
        );
        if page.flags & WhoList::MORE == 0 {
            break;
        }
    }
    ensure_eq(
        "NAMES-1",
        "WHO \"\" entries for the user",
        vec![b_canon.clone()],
        names,
    )
}

async fn account_name(ctx: Arc<Ctx>) -> Check {
    require_accounts(&ctx)?;
    let canon = format!("Ef{}", ctx.user());
    let (first, _) = welcomed(
        &ctx,
        "HANDSHAKE-6",
        account_login(LoginMode::Register, &canon, "conform-pw"),
    )
    .await?;
    quit(first).await?;
    let (_, welcome) = welcomed(
        &ctx,
        "HANDSHAKE-6",
        account_login(LoginMode::Login, &canon.to_uppercase(), "conform-pw"),
    )
    .await?;
    ensure_eq(
        "NAMES-1",
        "WELCOME username (LOGIN in upper case)",
        canon.as_str(),
        welcome.username.as_str(),
    )
}

/// Fullwidth forms of ASCII letters and digits (NFKC folds them back).
fn fullwidth(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// The name with its first `a` (or `e`, `o`, `c`) replaced by the Cyrillic look-alike.
fn cyrillic(name: &str) -> String {
    let mut done = false;
    name.chars()
        .map(|c| {
            let swapped = match c {
                'a' => 'а',
                'e' => 'е',
                'o' => 'о',
                'c' => 'с',
                _ => return c,
            };
            if done {
                c
            } else {
                done = true;
                swapped
            }
        })
        .collect()
}

async fn guest_answer(ctx: &Ctx, name: &str) -> Check<Result<String, ErrorCode>> {
    Ok(match login_answer(ctx, guest_login(name)).await?.1 {
        Ok(w) => Ok(w.username.to_string()),
        Err(r) => Err(r.code),
    })
}

async fn look_alikes(ctx: Arc<Ctx>) -> Check {
    let name = format!("a{}", ctx.user());
    require(
        usize::from(ctx.limits().max_username) >= 3 * name.len(),
        format!("needs max_username of at least {}", 3 * name.len()),
    )?;
    let (wide, cyr) = (fullwidth(&name), cyrillic(&name));
    if !ctx.has_flag(Greeting::ACCOUNT_REQUIRED) {
        let online = guest(&ctx, &name).await?;
        for other in [&wide, &cyr] {
            let got = guest_answer(&ctx, other).await?;
            ensure(
                "SEC-8",
                got == Err(ErrorCode::NAME_TAKEN),
                format!("NAME_TAKEN for {other:?} while {name:?} is online"),
                format!("{got:?}"),
            )?;
        }
        quit(online).await?;
        // Not reserved or registered: once free, a look-alike is a name of its own.
        let got = guest_answer(&ctx, &cyr).await?;
        ensure(
            "SEC-8",
            got.as_deref() == Ok(cyr.as_str()),
            format!("WELCOME {cyr:?} (its own NFC spelling) once {name:?} is free"),
            format!("{got:?}"),
        )?;
        for reserved in ["admin", "server", "system", "confab"] {
            if guest_answer(&ctx, reserved).await? == Err(ErrorCode::NAME_RESERVED) {
                for other in [fullwidth(reserved), cyrillic(reserved)] {
                    let got = guest_answer(&ctx, &other).await?;
                    ensure(
                        "SEC-8",
                        got == Err(ErrorCode::NAME_RESERVED),
                        format!("NAME_RESERVED for {other:?} ({reserved:?} is reserved)"),
                        format!("{got:?}"),
                    )?;
                }
                break;
            }
        }
    }
    if ctx.has_flag(Greeting::ACCOUNTS) {
        let owner = format!("o{}", ctx.user());
        let (conn, _) = welcomed(
            &ctx,
            "HANDSHAKE-6",
            account_login(LoginMode::Register, &owner, "conform-pw"),
        )
        .await?;
        quit(conn).await?;
        let alike = cyrillic(&owner);
        if !ctx.has_flag(Greeting::ACCOUNT_REQUIRED) {
            rejected(
                &ctx,
                "SEC-8",
                guest_login(&alike),
                ErrorCode::ACCOUNT_REQUIRED,
            )
            .await?;
        }
        rejected(
            &ctx,
            "SEC-8",
            account_login(
                LoginMode::Register,
                &fullwidth(&owner),
                "conform-password-2",
            ),
            ErrorCode::ACCOUNT_EXISTS,
        )
        .await?;
    }
    Ok(())
}
