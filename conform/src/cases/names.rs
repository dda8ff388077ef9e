//! Usernames and room names: `[HANDSHAKE-5]`, `[SEC-3]`, `[SEC-4]`, `[ROOM-1]`.

use std::sync::Arc;

use confab_protocol::frame::{Hello, LoginRejected, Presence, PresenceEvent, Welcome};
use confab_protocol::ErrorCode;

use crate::case::Case;
use crate::client::{guest, guest_login, hello, join, ready, require_guests, s8};
use crate::conn::{describe, Conn};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, require, Check};

pub fn cases() -> Vec<Case> {
    vec![
        crate::case!("names.taken-any-case", ["HANDSHAKE-5", "SEC-3"],
            "a name logged in under another case is NAME_TAKEN", taken_any_case),
        crate::case!("names.taken-nfc", ["HANDSHAKE-5", "SEC-3"],
            "a name logged in under another Unicode normal form is NAME_TAKEN", taken_nfc),
        crate::case!("names.welcome-nfc", ["SEC-3"],
            "WELCOME carries the NFC form of a name sent decomposed", welcome_nfc),
        crate::case!("names.invalid", ["HANDSHAKE-5", "SEC-4"],
            "empty, too long, white space, control, bidi, zero-width and /@# at the start are NAME_INVALID", invalid),
        crate::case!("names.valid", ["SEC-4"],
            "names of exactly max_username bytes, with /@# inside and non-ASCII letters are accepted", valid),
        crate::case!("names.length-after-nfc", ["SEC-4", "SEC-3"],
            "the length limit applies after NFC: a decomposed name longer than the limit is accepted", length_after_nfc),
        crate::case!("names.reserved", ["HANDSHAKE-5"],
            "a reserved name is NAME_RESERVED in any case (skipped if the server reserves none of the usual names)", reserved),
        crate::case!("names.room-invalid", ["ROOM-1", "SEC-4"],
            "JOIN of an invalid room name gets ROOM_INVALID (not fatal)", room_invalid),
        crate::case!("names.room-any-case", ["ROOM-1", "SEC-3"],
            "room names compare case-insensitively after NFC: both spellings are one room", room_any_case),
        crate::case!("names.room-max-length", ["ROOM-1"],
            "a room name of exactly max_room_name bytes can be joined", room_max_length),
    ]
}

/// Names compare case-insensitively (`[SEC-3]`); the runner's own names are NFC already.
pub fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// The answer to one guest LOGIN on a fresh connection: `Ok(welcome)` or the rejection.
async fn try_login(ctx: &Ctx, name: &str) -> Check<Result<Welcome, LoginRejected>> {
    require_guests(ctx)?;
    let (mut conn, _) = Conn::greeted(ctx).await?;
    conn.send(hello(Hello::NO_AUTO_JOIN)).await?;
    conn.send(guest_login(name)).await?;
    match conn
        .next_frame("HANDSHAKE-3", "WELCOME or LOGIN_REJECTED")
        .await?
    {
        confab_protocol::Frame::Welcome(w) => Ok(Ok(w)),
        confab_protocol::Frame::LoginRejected(r) => Ok(Err(r)),
        other => Err(fail(
            "HANDSHAKE-3",
            "WELCOME or LOGIN_REJECTED",
            describe(&other),
        )),
    }
}

async fn expect_rejected(ctx: &Ctx, clause: &'static str, name: &str, code: ErrorCode) -> Check {
    match try_login(ctx, name).await? {
        Err(r) if r.code == code => Ok(()),
        Err(r) => Err(fail(
            clause,
            format!("LOGIN_REJECTED {code} for {name:?}"),
            format!("LOGIN_REJECTED {}", r.code),
        )),
        Ok(w) => Err(fail(
            clause,
            format!("LOGIN_REJECTED {code} for {name:?}"),
            format!("WELCOME {:?}", w.username.as_str()),
        )),
    }
}

async fn expect_welcome(ctx: &Ctx, clause: &'static str, name: &str) -> Check<Welcome> {
    match try_login(ctx, name).await? {
        Ok(w) => Ok(w),
        Err(r) => Err(fail(
            clause,
            format!("WELCOME for {name:?}"),
            format!("LOGIN_REJECTED {}", r.code),
        )),
    }
}

async fn taken_any_case(ctx: Arc<Ctx>) -> Check {
    let name = ctx.user();
    let _holder = guest(&ctx, &name).await?;
    expect_rejected(
        &ctx,
        "HANDSHAKE-5",
        &name.to_uppercase(),
        ErrorCode::NAME_TAKEN,
    )
    .await?;
    expect_rejected(&ctx, "HANDSHAKE-5", &name, ErrorCode::NAME_TAKEN).await
}

async fn taken_nfc(ctx: Arc<Ctx>) -> Check {
    let nfc = format!("{}\u{e9}", ctx.user());
    let nfd = nfc.replace('\u{e9}', "e\u{301}");
    let _holder = guest(&ctx, &nfc).await?;
    expect_rejected(&ctx, "SEC-3", &nfd, ErrorCode::NAME_TAKEN).await
}

async fn welcome_nfc(ctx: Arc<Ctx>) -> Check {
    let nfc = format!("{}\u{e9}", ctx.user());
    let nfd = nfc.replace('\u{e9}', "e\u{301}");
    let welcome = expect_welcome(&ctx, "SEC-3", &nfd).await?;
    ensure_eq(
        "SEC-3",
        "WELCOME username",
        nfc.as_str(),
        welcome.username.as_str(),
    )
}

/// Names every server must refuse (`[SEC-4]`), each with a unique stem so
/// that only the rule under test can apply.
fn invalid_names(stem: &str, max: usize) -> Vec<String> {
    let mut names = vec![String::new(), "x".repeat(max + 1)];
    for (prefix, suffix) in [
        ("", " x"),
        ("", "\tx"),
        ("", "\u{7}"),
        ("", "\u{0}"),
        ("", "\u{7f}"),
        ("/", ""),
        ("@", ""),
        ("#", ""),
        ("", "\u{200b}x"),
        ("", "\u{200d}x"),
        ("", "\u{2060}x"),
        ("", "\u{feff}x"),
        ("", "\u{200e}x"),
        ("", "\u{202e}x"),
        ("", "\u{2066}x"),
        ("", "\u{61c}x"),
    ] {
        names.push(format!("{prefix}{stem}{suffix}"));
    }
    names
}

async fn invalid(ctx: Arc<Ctx>) -> Check {
    let max = usize::from(ctx.limits().max_username);
    require(
        max < 255,
        "needs max_username below 255 so a longer name fits a str8",
    )?;
    for name in invalid_names(&ctx.user(), max) {
        expect_rejected(&ctx, "SEC-4", &name, ErrorCode::NAME_INVALID).await?;
    }
    Ok(())
}

async fn valid(ctx: Arc<Ctx>) -> Check {
    let max = usize::from(ctx.limits().max_username);
    let stem = ctx.user();
    require(
        max >= stem.len() + 6,
        format!("needs max_username >= {}", stem.len() + 6),
    )?;
    let exact = format!("{stem}{}", "x".repeat(max - stem.len()));
    for name in [
        exact,
        format!("{stem}a/b"),
        format!("{stem}@#"),
        format!("{stem}Zo\u{eb}"),
    ] {
        let welcome = expect_welcome(&ctx, "SEC-4", &name).await?;
        // Which spelling WELCOME reports is for spec 1.1 to settle; it is
        // the same name whatever the case.
        ensure(
            "SEC-4",
            same_name(&name, &welcome.username),
            format!("WELCOME for {name:?}"),
            format!("WELCOME {:?}", welcome.username.as_str()),
        )?;
    }
    Ok(())
}

async fn length_after_nfc(ctx: Arc<Ctx>) -> Check {
    let max = usize::from(ctx.limits().max_username);
    let stem = ctx.user();
    require(
        max >= stem.len() + 2 && max <= 120,
        "needs max_username between 11 and 120",
    )?;
    let room = max - stem.len();
    let nfc = format!(
        "{stem}{}{}",
        "x".repeat(room % 2),
        "\u{e9}".repeat(room / 2)
    );
    let nfd = nfc.replace('\u{e9}', "e\u{301}");
    ensure(
        "SEC-4",
        nfd.len() > max,
        "a decomposed form longer than max_username",
        nfd.len(),
    )?;
    expect_welcome(&ctx, "SEC-4", &nfd).await?;
    Ok(())
}

async fn reserved(ctx: Arc<Ctx>) -> Check {
    for candidate in ["admin", "server", "system", "root", "confab", "operator"] {
        match try_login(&ctx, candidate).await? {
            Err(r) if r.code == ErrorCode::NAME_RESERVED => {
                // Compared case-insensitively after normalisation.
                expect_rejected(
                    &ctx,
                    "HANDSHAKE-5",
                    &candidate.to_uppercase(),
                    ErrorCode::NAME_RESERVED,
                )
                .await?;
                return Ok(());
            }
            _ => continue,
        }
    }
    require(
        false,
        "needs a server that reserves one of admin, server, system, root, confab, operator",
    )
}

async fn room_invalid(ctx: Arc<Ctx>) -> Check {
    let max = usize::from(ctx.limits().max_room_name);
    require(
        max < 255,
        "needs max_room_name below 255 so a longer name fits a str8",
    )?;
    let mut conn = ready(&ctx).await?;
    for name in invalid_names(&ctx.room(), max) {
        conn.send(confab_protocol::frame::Join {
            room: s8(&name),
            since_seq: 0,
            history: 0,
        })
        .await?;
        let error = conn.expect_error("ROOM-1", ErrorCode::ROOM_INVALID).await?;
        ensure_eq("ROOM-1", "ERROR client_ref", 0, error.client_ref)?;
    }
    conn.quiet("ROOM-1", "the connection to stay open after ROOM_INVALID")
        .await
}

async fn room_any_case(ctx: Arc<Ctx>) -> Check {
    let room = format!("{}\u{e9}", ctx.room());
    let (mut a, _) = crate::client::member(&ctx, &room).await?;
    let mut b = ready(&ctx).await?;
    let other_spelling = room.to_uppercase().replace('\u{c9}', "E\u{301}");
    let joining = join(&mut b, &other_spelling, 0, 0).await?;
    ensure_eq("ROOM-1", "JOINED members", 2, joining.joined.members)?;
    let presence = a.expect::<Presence>("ROOM-1").await?;
    ensure_eq(
        "ROOM-1",
        "PRESENCE event",
        PresenceEvent::Joined,
        presence.event,
    )
}

async fn room_max_length(ctx: Arc<Ctx>) -> Check {
    let max = usize::from(ctx.limits().max_room_name);
    let stem = ctx.room();
    require(
        max >= stem.len(),
        format!("needs max_room_name >= {}", stem.len()),
    )?;
    let room = format!("{stem}{}", "x".repeat(max - stem.len()));
    let mut conn = ready(&ctx).await?;
    let joining = join(&mut conn, &room, 0, 0).await?;
    ensure_eq("ROOM-1", "JOINED members", 1, joining.joined.members)?;
    Ok(())
}
