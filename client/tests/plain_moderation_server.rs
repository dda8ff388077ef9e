//! Moderation end to end (spec section 21): real `confab --plain`
//! processes and a real server on 127.0.0.1. A founder sets the topic,
//! kicks and bans a guest; the guest sees the topic on joining, who kicked
//! and banned it and why, and why it cannot come back; a guest's kick is
//! refused with the role it lacks.

mod support;

use support::{Launch, PlainClient, StoredServer};

#[tokio::test]
async fn a_founder_sets_the_topic_and_kicks_and_the_kicked_see_who_and_why() {
    let server = StoredServer::start("moderation").await;
    let addr = server.addr.clone();

    // spec: MOD-3 — a registered account's JOIN creates the room: its founder.
    let password = Launch {
        env: &[("CONFAB_PASSWORD", "correct horse battery")],
        ..Launch::default()
    };
    let args = ["--name", "alice", "--register", "--room", "den", "--utc"];
    let mut alice = PlainClient::spawn_with(&addr, &args, "alice", password);
    alice.until(|l| l.starts_with("*** joined den")).await;
    alice.line("/topic Rust talk: be kind").await;
    alice
        .until(|l| l == "*** you set the topic of #den: Rust talk: be kind")
        .await;

    // spec: MOD-6 — the topic comes with the join, who set it and when.
    let mut bob = PlainClient::spawn(&addr, &["--name", "bob", "--room", "den", "--utc"], "bob");
    bob.until(|l| l.starts_with("*** joined den")).await;
    let topic = bob
        .until(|l| l.starts_with("*** topic: Rust talk: be kind (set by alice, "))
        .await;
    assert!(topic.ends_with("Z)"), "{topic}");

    // spec: MOD-4 — a guest holds no role: the refusal says which is needed.
    bob.line("/kick alice").await;
    let refused = bob
        .until(|l| l.starts_with("*** error: cannot kick alice: "))
        .await;
    assert!(refused.contains("room operator"), "{refused}");

    // spec: MOD-11 — the kicked member sees who and why, then leaves.
    alice.line("/kick bob spamming links").await;
    alice
        .until(|l| l == "*** bob was kicked from #den by you: spamming links")
        .await;
    bob.until(|l| l == "*** you were kicked from #den by alice: spamming links")
        .await;
    bob.until(|l| l == "*** left den").await;

    // spec: MOD-7 — a ban holds the door, and says so.
    alice.line("/ban bob 10m flooding").await;
    alice
        .until(|l| l == "*** bob was banned from #den by you for 10m: flooding")
        .await;
    bob.until(|l| l == "*** you were banned from #den by alice for 10m: flooding")
        .await;
    bob.line("/join den").await;
    let banned = bob
        .until(|l| l.starts_with("*** error: cannot join: "))
        .await;
    assert!(banned.contains("den"), "{banned}");

    let (code, _, _) = bob.finish().await;
    assert_eq!(code, 0);
    let (code, _, _) = alice.finish().await;
    assert_eq!(code, 0);
    server.stop();
}
