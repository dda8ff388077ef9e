//! The state machine of moderation without sockets: the clock is manual.

use std::net::IpAddr;

use confab_protocol::frame::{modes, ModAction};
use confab_protocol::names::user_key;
use confab_protocol::ErrorCode;

use super::*;

fn who(name: &str, registered: bool) -> Who {
    Who {
        name: name.into(),
        key: user_key(name),
        registered,
        ip: "192.0.2.7".parse::<IpAddr>().unwrap(),
    }
}

fn ban(target: &str, expires: u64) -> Entry {
    Entry {
        target: target.into(),
        key: user_key(target),
        pattern: None,
        expires,
        reason: "spam".into(),
    }
}

fn draft(action: ModAction, target: &str) -> Draft {
    Draft {
        action,
        actor: "fay".into(),
        target: target.into(),
        duration_ms: 0,
        reason: String::new(),
    }
}

#[tokio::test]
async fn a_ban_refuses_the_join_until_it_expires() {
    // spec: MOD-7, MOD-14
    let clock = Clock::manual(1_000);
    let moderation = Moderation::new(&[], clock.clone());
    let scope = Scope::room("#den");
    let (_, event) = moderation
        .apply(
            None,
            &scope,
            Some(draft(ModAction::Ban, "bob")),
            |room, now| {
                state::put(&mut room.bans, ban("bob", now + 500), true);
                Ok(())
            },
        )
        .await
        .unwrap();
    assert_eq!(event.unwrap().id, 1);
    let refused = moderation.admit("#den", &who("bob", false), 0).unwrap_err();
    assert_eq!(refused.0, ErrorCode::BANNED);
    assert!(refused.1.contains("until"), "{}", refused.1);
    clock.advance(500);
    assert_eq!(moderation.admit("#den", &who("bob", false), 0), Ok(false));
}

#[tokio::test]
async fn join_refusals_come_in_order_and_operators_pass() {
    // spec: MOD-7, MOD-8
    let moderation = Moderation::new(&["root".into()], Clock::manual(1));
    let scope = Scope::room("#den");
    moderation
        .apply(None, &scope, None, |room, _| {
            room.modes = modes::INVITE_ONLY;
            room.member_limit = 1;
            room.ops.push(ban("al", 0));
            room.invites.push(ban("guest", 0));
            Ok(())
        })
        .await
        .unwrap();
    let code = |w: &Who, members| moderation.admit("#den", w, members).map_err(|e| e.0);
    assert_eq!(code(&who("zed", true), 0), Err(ErrorCode::INVITE_ONLY));
    assert_eq!(code(&who("guest", false), 0), Ok(true));
    assert_eq!(code(&who("guest", false), 1), Err(ErrorCode::ROOM_FULL));
    assert_eq!(code(&who("al", true), 5), Ok(false));
    assert_eq!(
        code(&who("al", false), 5),
        Err(ErrorCode::INVITE_ONLY),
        "guest al"
    );
    assert_eq!(code(&who("root", true), 5), Ok(false));
}

#[tokio::test]
async fn muted_and_unvoiced_cannot_speak() {
    // spec: MOD-9
    let moderation = Moderation::new(&[], Clock::manual(1));
    let scope = Scope::room("#den");
    moderation
        .apply(None, &scope, None, |room, _| {
            room.modes = modes::MODERATED;
            room.voiced.push(ban("val", 0));
            room.mutes.push(ban("val", 0));
            room.voiced.push(ban("vic", 0));
            Ok(())
        })
        .await
        .unwrap();
    let muted = moderation
        .may_speak("#den", || who("val", true))
        .unwrap_err();
    assert_eq!(muted, "you are muted in #den");
    assert!(moderation.may_speak("#den", || who("vic", true)).is_ok());
    let quiet = moderation
        .may_speak("#den", || who("zed", true))
        .unwrap_err();
    assert!(quiet.contains("moderated"), "{quiet}");
    assert!(moderation
        .may_speak("#elsewhere", || who("zed", true))
        .is_ok());
}

#[tokio::test]
async fn a_refused_change_changes_nothing_and_takes_no_id() {
    // spec: MOD-15
    let moderation = Moderation::new(&[], Clock::manual(1));
    let scope = Scope::room("#den");
    let refused = moderation
        .apply(None, &scope, Some(draft(ModAction::Unban, "x")), |_, _| {
            Err::<(), _>((ErrorCode::INVALID_TARGET, "no ban".to_string()))
        })
        .await;
    assert!(refused.is_err());
    assert!(!moderation.has_room(&scope_key("#den")));
    let (_, event) = moderation
        .apply(None, &scope, Some(draft(ModAction::Voice, "x")), |r, _| {
            r.voiced.push(ban("x", 0));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(event.unwrap().id, 1);
}

#[tokio::test]
async fn the_audit_pages_backwards_by_id() {
    // spec: MOD-16, MOD-21
    let moderation = Moderation::new(&[], Clock::manual(1));
    for room in ["#a", "#b", "#a"] {
        moderation
            .apply(
                None,
                &Scope::room(room),
                Some(draft(ModAction::Voice, "x")),
                |r, _| {
                    state::put(&mut r.voiced, ban("x", 0), true);
                    Ok(())
                },
            )
            .await
            .unwrap();
    }
    let ids = |(page, older): (Vec<confab_protocol::frame::ModerationEvent>, bool)| {
        (page.iter().map(|e| e.id).collect::<Vec<_>>(), older)
    };
    assert_eq!(ids(moderation.audit(None, 0, 2)), (vec![2, 3], true));
    assert_eq!(ids(moderation.audit(None, 2, 2)), (vec![1], false));
    assert_eq!(ids(moderation.audit(Some("#a"), 0, 5)), (vec![1, 3], false));
}

fn scope_key(room: &str) -> String {
    confab_protocol::names::name_key(room).to_string()
}

#[tokio::test]
async fn the_cleanup_drops_expired_entries_only() {
    // spec: MOD-14
    let clock = Clock::manual(1);
    let moderation = Moderation::new(&[], clock.clone());
    moderation
        .apply(None, &Scope::room("den"), None, |r, _| {
            r.bans.push(ban("old", 10));
            r.bans.push(ban("forever", 0));
            Ok(())
        })
        .await
        .unwrap();
    assert!(moderation.purge_expired().is_empty(), "nothing expired yet");
    clock.advance(10);
    assert_eq!(moderation.purge_expired().len(), 1);
    let room = moderation.room(&scope_key("den")).unwrap();
    assert_eq!(room.bans, [ban("forever", 0)]);
}
