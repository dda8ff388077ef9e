//! Moderation in plain mode (spec section 21) against a scripted server on
//! 127.0.0.1 that speaks its frames: a real `confab --plain` process sets
//! HELLO `MODERATION`, shows the topic on join, sends `/kick`, `/mode` and
//! `/audit` as their frames and reads the answers, refusals and its own
//! kick as lines.

mod support;

use confab_protocol::frame::{
    code, modes, AuditEntries, ErrorFrame, Frame, Greeting, Hello, HistoryEnd, HistoryKind, Joined,
    Left, Limits, ModAction, ModerationEvent, Role, RoomInfo, RoomInfoEntry, RoomListInfo, Welcome,
};
use confab_protocol::{ErrorCode, FrameCodec, List, Str16, Str8};
use futures_util::{SinkExt, StreamExt};
use support::{PlainClient, PATIENCE};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

type Server = Framed<TcpStream, FrameCodec>;

/// 2026-11-25T14:03:07.250Z
const T: u64 = 1_795_615_387_250;

async fn next(server: &mut Server) -> Frame {
    tokio::time::timeout(PATIENCE, server.next())
        .await
        .expect("a frame in time")
        .expect("the client stays connected")
        .unwrap()
}

fn room_info(modes: u8, changed_by: &str) -> Frame {
    Frame::RoomInfo(RoomInfo {
        room: Str8::truncated("lobby"),
        modes,
        member_limit: 0,
        role: Role::Operator,
        founder: Str8::truncated("alice"),
        changed_by: Str8::truncated(changed_by),
        topic_by: Str8::truncated("alice"),
        topic_at: T,
        topic: Str16::truncated("Rust talk: be kind"),
    })
}

fn event(id: u64, action: ModAction, actor: &str, target: &str, reason: &str) -> ModerationEvent {
    ModerationEvent {
        id,
        time: T,
        action,
        room: Str8::truncated("lobby"),
        actor: Str8::truncated(actor),
        target: Str8::truncated(target),
        expires: 0,
        reason: Str16::truncated(reason),
    }
}

/// Greets with `MODERATION`, logs the client in and answers its JOIN of
/// lobby as `[MOD-6]` says: JOINED, ROOM_INFO, the replay's end.
async fn log_in(listener: &TcpListener, flags: u8) -> Server {
    let (stream, _) = listener.accept().await.unwrap();
    let mut server = Framed::new(stream, FrameCodec::new(65_536));
    let greeting = Greeting {
        min_version: 1,
        max_version: 1,
        flags,
        server: Str8::truncated("scripted"),
        limits: Limits::default(),
        default_room: Str8::truncated("lobby"),
        prompt: Str16::truncated("name?"),
    };
    server.send(Frame::Greeting(greeting)).await.unwrap();
    let mut hello_seen = false;
    loop {
        match next(&mut server).await {
            Frame::Hello(hello) => {
                // spec: MOD-2
                assert_ne!(hello.flags & Hello::MODERATION, 0, "HELLO sets MODERATION");
                hello_seen = true;
            }
            Frame::Login(login) => {
                let welcome = Welcome {
                    username: login.username,
                    flags: 0,
                    server_time: T,
                };
                server.send(Frame::Welcome(welcome)).await.unwrap();
            }
            Frame::Join(join) => {
                assert!(hello_seen);
                let joined = Joined {
                    room: join.room.clone(),
                    next_seq: 1,
                    members: 3,
                };
                server.send(Frame::Joined(joined)).await.unwrap();
                if flags & Greeting::MODERATION != 0 {
                    server.send(room_info(0, "")).await.unwrap();
                }
                let end = HistoryEnd {
                    kind: HistoryKind::Room,
                    target: join.room,
                    count: 0,
                    flags: 0,
                };
                server.send(Frame::HistoryEnd(end)).await.unwrap();
                return server;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn moderation_reads_as_lines_and_commands_go_as_frames() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut bob = PlainClient::spawn(&addr, &["--name", "bob", "--utc"], "bob");
    let mut server = log_in(&listener, Greeting::MODERATION).await;

    // spec: MOD-6 — the topic, who set it and when, right after the join.
    bob.until(|l| l.starts_with("*** joined lobby")).await;
    bob.until(|l| l == "*** topic: Rust talk: be kind (set by alice, 2026-11-25T14:03:07.250Z)")
        .await;
    bob.until(|l| l == "*** you are a room operator here").await;

    // A kick goes as MODERATE; its answer is the event (`[MOD-12]`).
    bob.line("/kick carol spamming links").await;
    let Frame::Moderate(kick) = next(&mut server).await else {
        panic!("MODERATE expected");
    };
    assert_eq!(
        (kick.action, kick.room.as_str(), kick.target.as_str()),
        (ModAction::Kick, "lobby", "carol")
    );
    assert_eq!(kick.reason, "spamming links");
    let answer = event(1, ModAction::Kick, "bob", "carol", "spamming links");
    server.send(Frame::ModerationEvent(answer)).await.unwrap();
    bob.until(|l| l == "*** carol was kicked from #lobby by you: spamming links")
        .await;

    // spec: MOD-4 — a refusal names what was refused and the role it needs.
    bob.line("/op dave").await;
    let Frame::Moderate(op) = next(&mut server).await else {
        panic!("MODERATE expected");
    };
    assert_eq!(op.action, ModAction::Op);
    let refusal = ErrorFrame::new(
        ErrorCode::NOT_PERMITTED,
        code::MODERATE,
        0,
        "making room operators in #lobby needs founder; you are a room operator",
    );
    server.send(Frame::ErrorFrame(refusal)).await.unwrap();
    bob.until(|l| {
        l == "*** error: cannot op dave: making room operators in #lobby needs founder; \
              you are a room operator"
    })
    .await;

    // `/mode +m` keeps the other modes: ROOM_SETTINGS sets them all.
    bob.line("/mode +m").await;
    let Frame::RoomSettings(change) = next(&mut server).await else {
        panic!("ROOM_SETTINGS expected");
    };
    assert_eq!(change.room, "lobby");
    assert_eq!(change.modes, modes::MODERATED);
    // The answer, and the copy every member gets (`[MOD-6]`): said once.
    for _ in 0..2 {
        let info = room_info(modes::MODERATED, "bob");
        server.send(info).await.unwrap();
    }
    bob.until(|l| l == "*** +m on #lobby by you: only voiced members and operators may speak")
        .await;

    // A room whose modes are not known is asked first: ROOM_SETTINGS
    // sets every mode, and `+i` must keep the others.
    bob.line("/mode #den +i").await;
    let Frame::RoomSettings(query) = next(&mut server).await else {
        panic!("ROOM_SETTINGS expected");
    };
    assert_eq!((query.room.as_str(), query.change), ("den", 0));
    let den = |modes, changed_by: &str| {
        let Frame::RoomInfo(mut info) = room_info(modes, changed_by) else {
            unreachable!()
        };
        info.room = Str8::truncated("den");
        Frame::RoomInfo(info)
    };
    server.send(den(modes::MODERATED, "")).await.unwrap();
    let Frame::RoomSettings(change) = next(&mut server).await else {
        panic!("ROOM_SETTINGS expected");
    };
    assert_eq!(change.change, confab_protocol::frame::RoomSettings::MODES);
    assert_eq!(change.modes, modes::MODERATED | modes::INVITE_ONLY);
    server
        .send(den(modes::MODERATED | modes::INVITE_ONLY, "bob"))
        .await
        .unwrap();
    bob.until(|l| l == "*** +i on #den by you: only invited users may join")
        .await;

    // The room list with topics (`[MOD-17]`).
    bob.line("/rooms").await;
    assert!(matches!(next(&mut server).await, Frame::ListRooms(_)));
    let entry = |name: &str, modes, topic: &str| RoomInfoEntry {
        name: Str8::truncated(name),
        members: 3,
        modes,
        topic: Str16::truncated(topic),
    };
    let list = RoomListInfo {
        flags: 0,
        rooms: List::new(vec![
            entry("lobby", modes::MODERATED, "Rust talk: be kind"),
            entry("den", 0, ""),
        ])
        .unwrap(),
    };
    server.send(Frame::RoomListInfo(list)).await.unwrap();
    bob.until(|l| l == "***   #lobby (3) +m: Rust talk: be kind")
        .await;

    // The audit log over two frames (`[MOD-16]`).
    bob.line("/audit").await;
    let Frame::Audit(audit) = next(&mut server).await else {
        panic!("AUDIT expected");
    };
    assert_eq!((audit.room.as_str(), audit.before), ("lobby", 0));
    let page = |flags, entries: Vec<ModerationEvent>| {
        Frame::AuditEntries(AuditEntries {
            flags,
            room: Str8::truncated("lobby"),
            entries: List::new(entries).unwrap(),
        })
    };
    let first = event(1, ModAction::Kick, "bob", "carol", "spamming links");
    let second = event(2, ModAction::Mute, "alice", "dave", "");
    server
        .send(page(AuditEntries::MORE, vec![first]))
        .await
        .unwrap();
    server
        .send(page(AuditEntries::OLDER, vec![second]))
        .await
        .unwrap();
    bob.until(|l| l.starts_with("*** the moderation log of #lobby, 2 entries; /audit again"))
        .await;
    bob.until(|l| l.ends_with("] dave was muted in #lobby by alice"))
        .await;
    // Again: older ones, from before the first shown.
    bob.line("/audit").await;
    let Frame::Audit(again) = next(&mut server).await else {
        panic!("AUDIT expected");
    };
    assert_eq!(again.before, 1);
    server.send(page(0, Vec::new())).await.unwrap();
    bob.until(|l| l == "*** no entries in the moderation log of #lobby")
        .await;

    // spec: MOD-11 — a kicked member sees who and why, then LEFT.
    let kicked = event(3, ModAction::Kick, "alice", "bob", "enough");
    server.send(Frame::ModerationEvent(kicked)).await.unwrap();
    let left = Left {
        room: Str8::truncated("lobby"),
    };
    server.send(Frame::Left(left)).await.unwrap();
    bob.until(|l| l == "*** you were kicked from #lobby by alice: enough")
        .await;
    bob.until(|l| l == "*** left lobby").await;

    drop(server);
    let (_, seen, _) = bob.finish().await;
    assert!(
        !seen
            .iter()
            .any(|l| l.contains("error") && !l.contains("cannot op")),
        "{seen:?}"
    );
    let said = seen.iter().filter(|l| l.contains("+m on #lobby")).count();
    assert_eq!(said, 1, "{seen:?}");
}

#[tokio::test]
async fn nothing_of_moderation_goes_to_a_server_without_it() {
    // spec: MOD-1
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut bob = PlainClient::spawn(&addr, &["--name", "bob"], "bob");
    let mut server = log_in(&listener, 0).await;
    bob.until(|l| l.starts_with("*** joined lobby")).await;
    bob.line("/kick carol").await;
    bob.until(|l| l == "*** error: this server does not support moderation; not sent")
        .await;
    bob.line("/who").await;
    // The first frame after the join is the WHO: no MODERATE went.
    assert!(matches!(next(&mut server).await, Frame::Who(_)));
    drop(server);
    bob.finish().await;
}
