//! How moderation reads, without a connection or a terminal.

use confab_protocol::frame::{modes, ModAction, Role};
use confab_protocol::ErrorCode;

use super::*;
use crate::command::{Moderation, SettingsChange};
use crate::format::TimeStyle;
use crate::moderation::{Asked, Change, ListedRoom, Record, RoomSettings, SettingsCause};

/// 2026-11-25T14:03:07.250Z
const T: u64 = 1_795_615_387_250;

fn event(action: ModAction, actor: &str, target: &str, reason: &str) -> Record {
    Record {
        id: 7,
        time: T,
        action,
        room: "rust".into(),
        actor: actor.into(),
        target: target.into(),
        expires: 0,
        reason: reason.into(),
    }
}

fn settings() -> RoomSettings {
    RoomSettings {
        room: "rust".into(),
        topic: "Rust talk".into(),
        topic_by: "alice".into(),
        topic_at: T,
        modes: 0,
        member_limit: 0,
        role: Role::User,
        founder: "alice".into(),
    }
}

#[test]
fn a_kick_says_who_and_why_and_you_when_it_is_you() {
    let kick = event(ModAction::Kick, "alice", "bob", "spamming");
    assert_eq!(
        record(&kick, "carol"),
        "bob was kicked from #rust by alice: spamming"
    );
    assert_eq!(
        record(&kick, "Bob"),
        "you were kicked from #rust by alice: spamming"
    );
    assert_eq!(
        record(&kick, "alice"),
        "bob was kicked from #rust by you: spamming"
    );
}

#[test]
fn expiries_read_as_durations() {
    let mut ban = event(ModAction::Ban, "alice", "@203.0.113.0/24", "");
    ban.expires = T + 2 * 3_600_000;
    assert_eq!(
        record(&ban, "x"),
        "@203.0.113.0/24 was banned from #rust by alice for 2h"
    );
    let mut mute = event(ModAction::Mute, "alice", "bob", "calm down");
    mute.expires = T + 600_000;
    assert_eq!(
        record(&mute, "bob"),
        "you were muted in #rust by alice for 10m: calm down"
    );
}

#[test]
fn every_action_reads() {
    let me = "dora";
    for (action, target, reads) in [
        (
            ModAction::Unban,
            "bob",
            "the ban on bob in #rust was lifted by alice",
        ),
        (
            ModAction::Unmute,
            "bob",
            "bob was unmuted in #rust by alice",
        ),
        (
            ModAction::Invite,
            "bob",
            "bob was invited to #rust by alice",
        ),
        (
            ModAction::Invite,
            "dora",
            "you were invited to #rust by alice (/join #rust)",
        ),
        (
            ModAction::Op,
            "bob",
            "bob was made a room operator of #rust by alice",
        ),
        (
            ModAction::Deop,
            "bob",
            "bob was removed as room operator of #rust by alice",
        ),
        (
            ModAction::Voice,
            "bob",
            "bob was given a voice in #rust by alice",
        ),
        (
            ModAction::Devoice,
            "bob",
            "bob was devoiced in #rust by alice",
        ),
        (
            ModAction::Disconnect,
            "bob",
            "bob was disconnected from the server by alice",
        ),
        (
            ModAction::ServerBan,
            "bob",
            "bob was banned from the server by alice",
        ),
        (
            ModAction::ServerUnban,
            "@198.51.100.7",
            "the server ban on @198.51.100.7 was lifted by alice",
        ),
    ] {
        assert_eq!(record(&event(action, "alice", target, ""), me), reads);
    }
    let announce = event(ModAction::Announce, "alice", "", "restart at 14:00");
    assert_eq!(
        record(&announce, "alice"),
        "you announced to everyone: restart at 14:00"
    );
    let settings = event(ModAction::Settings, "alice", "", "invite-only on");
    assert_eq!(
        record(&settings, me),
        "alice changed the settings of #rust: invite-only on"
    );
}

#[test]
fn the_topic_is_shown_on_join_with_who_set_it_and_when() {
    let lines = super::settings(&settings(), &SettingsCause::Joined, "bob", TimeStyle::Utc);
    assert_eq!(
        lines,
        vec!["topic: Rust talk (set by alice, 2026-11-25T14:03:07.250Z)"]
    );
    // Nothing to say about a plain room with no topic.
    let mut bare = settings();
    bare.topic.clear();
    assert!(super::settings(&bare, &SettingsCause::Joined, "bob", TimeStyle::Utc).is_empty());
    // Modes and one's own role are worth a line.
    bare.modes = modes::MODERATED;
    bare.member_limit = 50;
    bare.role = Role::Operator;
    assert_eq!(
        super::settings(&bare, &SettingsCause::Joined, "bob", TimeStyle::Utc),
        vec!["modes: +m, limit 50; you are a room operator here"]
    );
}

#[test]
fn a_query_answer_says_everything() {
    let lines = super::settings(&settings(), &SettingsCause::Asked, "alice", TimeStyle::Utc);
    assert_eq!(
        lines,
        vec![
            "topic of #rust: Rust talk (set by you, 2026-11-25T14:03:07.250Z)",
            "#rust: no modes; founded by you; you are a member",
        ]
    );
}

#[test]
fn changes_read_one_line_each() {
    let mut now = settings();
    now.modes = modes::MODERATED | modes::INVITE_ONLY;
    now.member_limit = 50;
    let cause = SettingsCause::Changed {
        by: "alice".into(),
        what: vec![
            Change::Topic,
            Change::Mode {
                bit: modes::MODERATED,
                on: true,
            },
            Change::Mode {
                bit: modes::INVITE_ONLY,
                on: false,
            },
            Change::MemberLimit(50),
            Change::MemberLimit(0),
        ],
    };
    assert_eq!(
        super::settings(&now, &cause, "bob", TimeStyle::Utc),
        vec![
            "alice set the topic of #rust: Rust talk",
            "+m on #rust by alice: only voiced members and operators may speak",
            "-i on #rust by alice: anyone may join",
            "+l on #rust by alice: at most 50 members",
            "-l on #rust by alice: no member limit",
        ]
    );
    now.topic.clear();
    let cleared = SettingsCause::Changed {
        by: "bob".into(),
        what: vec![Change::Topic],
    };
    assert_eq!(
        super::settings(&now, &cleared, "bob", TimeStyle::Utc),
        vec!["you cleared the topic of #rust"]
    );
}

#[test]
fn refusals_name_the_request_and_the_missing_role() {
    let kick = Asked::Moderate(Moderation {
        action: ModAction::Kick,
        room: "den".into(),
        target: "bob".into(),
        duration_ms: 0,
        reason: String::new(),
    });
    // spec: MOD-4 — the server's message names the role.
    assert_eq!(
        refused(
            &kick,
            ErrorCode::NOT_PERMITTED,
            "kicking in #den needs room operator; you are voiced"
        ),
        "cannot kick bob: kicking in #den needs room operator; you are voiced"
    );
    // Without one, the client knows what the action needs.
    assert_eq!(
        refused(&kick, ErrorCode::NOT_PERMITTED, ""),
        "cannot kick bob: you need to be a room operator"
    );
    let topic = Asked::Settings {
        room: "den".into(),
        change: SettingsChange {
            topic: Some("x".into()),
            ..SettingsChange::default()
        },
    };
    assert_eq!(
        refused(&topic, ErrorCode::NOT_PERMITTED, ""),
        "cannot set the topic of #den: you need to be a room operator"
    );
    assert_eq!(
        refused(
            &Asked::Audit {
                room: String::new()
            },
            ErrorCode::NOT_PERMITTED,
            ""
        ),
        "cannot read the server's moderation log: you need to be a server operator"
    );
    assert_eq!(
        refused(&Asked::Join, ErrorCode::BANNED, "you are banned from #den"),
        "cannot join: you are banned from #den"
    );
}

#[test]
fn the_room_list_shows_topics_when_there_are_any() {
    let room = |name: &str, members, modes, topic: &str| ListedRoom {
        name: name.into(),
        members,
        modes,
        topic: topic.into(),
    };
    assert_eq!(
        room_list(&[room("lobby", 3, 0, ""), room("rust", 2, 0, "")]),
        vec!["rooms: lobby (3), rust (2)"]
    );
    assert_eq!(
        room_list(&[
            room("lobby", 3, 0, ""),
            room("rust", 2, modes::MODERATED, "Rust talk")
        ]),
        vec!["rooms (2):", "  #lobby (3)", "  #rust (2) +m: Rust talk"]
    );
}

#[test]
fn the_audit_log_lists_entries_with_their_time() {
    let entries = [event(ModAction::Kick, "alice", "bob", "spam")];
    assert_eq!(
        audit("rust", &entries, true, "x", TimeStyle::Utc),
        vec![
            "the moderation log of #rust, 1 entry; /audit again for older:",
            "[2026-11-25T14:03:07.250Z] bob was kicked from #rust by alice: spam",
        ]
    );
    assert_eq!(
        audit("", &[], false, "x", TimeStyle::Utc),
        vec!["no entries in the server's moderation log"]
    );
}
