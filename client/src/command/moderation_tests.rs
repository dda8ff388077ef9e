//! The moderation commands as typed, and how wrong use explains itself.

use confab_protocol::frame::{modes, ModAction};

use super::{Moderation, SettingsChange};
use crate::command::{parse, Command, Input, DEFAULT_HISTORY};

fn parsed(line: &str, room: &str) -> Command {
    match parse(line, room) {
        Ok(Input::Command(command)) => command,
        other => panic!("{line}: {other:?}"),
    }
}

fn refused(line: &str, room: &str) -> String {
    match parse(line, room) {
        Err(text) => text,
        other => panic!("{line} should be refused: {other:?}"),
    }
}

fn moderate(action: ModAction, room: &str, target: &str, ms: u64, reason: &str) -> Command {
    Command::Moderate(Moderation {
        action,
        room: room.into(),
        target: target.into(),
        duration_ms: ms,
        reason: reason.into(),
    })
}

#[test]
fn kick_takes_a_nick_and_the_rest_as_reason() {
    assert_eq!(
        parsed("/kick bob spamming links", "rust"),
        moderate(ModAction::Kick, "rust", "bob", 0, "spamming links")
    );
    assert_eq!(
        parsed("/kick @bob", "rust"),
        moderate(ModAction::Kick, "rust", "bob", 0, "")
    );
    // A leading #ROOM names the room; names never start with `#`.
    assert_eq!(
        parsed("/KICK #go bob  too loud ", "rust"),
        moderate(ModAction::Kick, "go", "bob", 0, "too loud")
    );
    assert!(refused("/kick", "rust").starts_with("usage: /kick"));
    assert!(refused("/kick #go", "rust").starts_with("usage: /kick"));
}

#[test]
fn ban_takes_a_nick_or_an_address_pattern_a_duration_and_a_reason() {
    assert_eq!(
        parsed("/ban bob 2h flooding", "rust"),
        moderate(ModAction::Ban, "rust", "bob", 7_200_000, "flooding")
    );
    assert_eq!(
        parsed("/ban @203.0.113.0/24 1d", "rust"),
        moderate(ModAction::Ban, "rust", "@203.0.113.0/24", 86_400_000, "")
    );
    assert_eq!(
        parsed("/ban bob flooding again", "rust"),
        moderate(ModAction::Ban, "rust", "bob", 0, "flooding again")
    );
    assert_eq!(
        parsed("/unban @2001:db8::/32", "rust"),
        moderate(ModAction::Unban, "rust", "@2001:db8::/32", 0, "")
    );
    // spec: MOD-10 — a bad pattern is said before anything is sent.
    let bad = refused("/ban @example.com", "rust");
    assert!(bad.contains("not an address pattern"), "{bad}");
    assert!(refused("/ban @10.0.0.0/33", "rust").contains("prefix"));
    let unitless = refused("/ban bob 10 spam", "rust");
    assert!(unitless.contains("needs a unit"), "{unitless}");
}

#[test]
fn mute_and_the_role_commands() {
    assert_eq!(
        parsed("/mute bob 10m", "rust"),
        moderate(ModAction::Mute, "rust", "bob", 600_000, "")
    );
    for (line, action) in [
        ("/unmute bob", ModAction::Unmute),
        ("/op bob", ModAction::Op),
        ("/deop bob", ModAction::Deop),
        ("/voice bob", ModAction::Voice),
        ("/devoice bob", ModAction::Devoice),
    ] {
        assert_eq!(
            parsed(line, "rust"),
            moderate(action, "rust", "bob", 0, ""),
            "{line}"
        );
    }
    // Only bans take durations: the word is the reason here.
    assert_eq!(
        parsed("/op bob 10m", "rust"),
        moderate(ModAction::Op, "rust", "bob", 0, "10m")
    );
    // Addresses are for bans only.
    assert!(refused("/mute @@x", "rust").contains("nick"));
}

#[test]
fn invite_names_the_room_after_the_nick() {
    assert_eq!(
        parsed("/invite bob", "rust"),
        moderate(ModAction::Invite, "rust", "bob", 0, "")
    );
    assert_eq!(
        parsed("/invite bob #den 1h", "rust"),
        moderate(ModAction::Invite, "den", "bob", 3_600_000, "")
    );
    assert_eq!(
        parsed("/invite #den bob", ""),
        moderate(ModAction::Invite, "den", "bob", 0, "")
    );
}

#[test]
fn a_room_action_outside_a_room_asks_for_one() {
    let text = refused("/kick bob", "");
    assert!(text.contains("no room"), "{text}");
    assert!(text.contains("/kick #ROOM NICK"), "{text}");
    assert!(refused("/topic", "").contains("/topic #ROOM"));
}

#[test]
fn server_wide_actions_have_no_room() {
    assert_eq!(
        parsed("/disconnect bob go away", "rust"),
        moderate(ModAction::Disconnect, "", "bob", 0, "go away")
    );
    assert_eq!(
        parsed("/sban @198.51.100.7 1w abuse", ""),
        moderate(
            ModAction::ServerBan,
            "",
            "@198.51.100.7",
            604_800_000,
            "abuse"
        )
    );
    assert_eq!(
        parsed("/sunban bob", ""),
        moderate(ModAction::ServerUnban, "", "bob", 0, "")
    );
    assert_eq!(
        parsed("/announce restart at 14:00", ""),
        moderate(ModAction::Announce, "", "", 0, "restart at 14:00")
    );
    assert_eq!(refused("/announce", ""), "usage: /announce TEXT");
}

#[test]
fn topic_shows_sets_and_clears() {
    let settings = |room: &str, topic: Option<&str>| Command::Settings {
        room: room.into(),
        change: SettingsChange {
            topic: topic.map(str::to_string),
            ..SettingsChange::default()
        },
    };
    assert_eq!(parsed("/topic", "rust"), settings("rust", None));
    assert!(matches!(
        parsed("/topic", "rust"),
        Command::Settings { change, .. } if change.is_query()
    ));
    assert_eq!(
        parsed("/topic Rust talk: be kind", "rust"),
        settings("rust", Some("Rust talk: be kind"))
    );
    assert_eq!(
        parsed("/topic #go Go talk", "rust"),
        settings("go", Some("Go talk"))
    );
    assert_eq!(parsed("/topic -delete", "rust"), settings("rust", Some("")));
    // spec: MOD-18
    let long = format!("/topic {}", "x".repeat(391));
    assert!(refused(&long, "rust").contains("390"));
}

#[test]
fn mode_combines_letters_and_takes_a_limit() {
    let change = |line: &str| match parsed(line, "rust") {
        Command::Settings { change, .. } => change,
        other => panic!("{other:?}"),
    };
    assert!(change("/mode").is_query());
    let both = change("/mode +im");
    assert_eq!(both.set, modes::INVITE_ONLY | modes::MODERATED);
    assert_eq!(both.clear, 0);
    let mixed = change("/mode -i +m +l 50");
    assert_eq!(
        (mixed.set, mixed.clear, mixed.member_limit),
        (modes::MODERATED, modes::INVITE_ONLY, Some(50))
    );
    assert_eq!(mixed.modes_from(modes::INVITE_ONLY), modes::MODERATED);
    assert_eq!(change("/mode -l").member_limit, Some(0));
    // The last word about a mode wins.
    let last = change("/mode +m -m");
    assert_eq!((last.set, last.clear), (0, modes::MODERATED));
    assert!(refused("/mode +l", "rust").contains("+l takes"));
    assert!(refused("/mode +x", "rust").contains("unknown mode"));
    assert!(refused("/mode i", "rust").contains("unknown mode"));
    assert!(matches!(
        parsed("/mode #den +i", "rust"),
        Command::Settings { room, .. } if room == "den"
    ));
}

#[test]
fn audit_reads_a_room_or_the_whole_server() {
    let audit = |room: &str, count| Command::Audit {
        room: room.into(),
        count,
    };
    assert_eq!(parsed("/audit", "rust"), audit("rust", DEFAULT_HISTORY));
    assert_eq!(parsed("/audit 50", "rust"), audit("rust", 50));
    assert_eq!(parsed("/audit #den", "rust"), audit("den", DEFAULT_HISTORY));
    assert_eq!(parsed("/audit * 5", ""), audit("", 5));
    assert!(refused("/audit", "").contains("no room"));
    assert!(refused("/audit #den 0", "rust").starts_with("usage"));
}

#[test]
fn help_lists_the_moderation_commands() {
    let Ok(Input::Help(text)) = parse("/help", "rust") else {
        panic!("help");
    };
    for command in super::NAMES {
        assert!(text.contains(command), "{command} in /help");
    }
}
