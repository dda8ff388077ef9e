//! Plain mode's history and room commands against a real server: `/history`
//! pages further back each time, a join says nothing about an empty replay,
//! counts read as English, and `#room` works as the UI shows rooms.

mod support;

use confab_server::Config;
use support::PlainClient;
use tokio_util::sync::CancellationToken;

async fn start_server() -> (String, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let shutdown = CancellationToken::new();
    tokio::spawn(confab_server::run(
        listener,
        Config::default(),
        shutdown.clone(),
    ));
    (addr, shutdown)
}

#[tokio::test]
async fn history_pages_further_back_each_time() {
    let (addr, shutdown) = start_server().await;
    let mut bob = PlainClient::spawn(&addr, &["--name", "bob"], "bob");
    bob.until(|l| l.starts_with("*** joined lobby")).await;
    for body in ["first", "second", "third"] {
        bob.line(body).await;
    }
    // bob exits after the last ACK: all three are stored.
    let (code, _, _) = bob.finish().await;
    assert_eq!(code, 0);

    let mut alice = PlainClient::spawn(&addr, &["--name", "alice"], "alice");
    alice.until(|l| l.starts_with("*** joined lobby")).await;
    alice.line("/history 1").await;
    alice.until(|l| l.ends_with("bob: third")).await;
    alice
        .until(|l| l == "*** 1 earlier message of lobby (more available)")
        .await;
    alice.line("/history 1").await;
    alice.until(|l| l.ends_with("bob: second")).await;
    alice.line("/history #lobby 5").await;
    alice.until(|l| l.ends_with("bob: first")).await;
    alice.until(|l| l == "*** 1 earlier message of lobby").await;
    alice.line("/history").await;
    alice
        .until(|l| l == "*** no earlier messages of lobby")
        .await;
    alice.line("/join #rust").await;
    alice.until(|l| l.starts_with("*** joined rust")).await;
    let (code, seen, _) = alice.finish().await;
    assert_eq!(code, 0, "{seen:?}");
    for body in ["first", "second", "third"] {
        let shown = seen.iter().filter(|l| l.ends_with(&format!("bob: {body}")));
        assert_eq!(shown.count(), 1, "{body} shown once: {seen:?}");
    }
    assert!(
        !seen.iter().any(|l| l.contains(" 0 earlier")),
        "a join that replays nothing says nothing: {seen:?}"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn name_refusals_count_attempts_in_english_and_only_when_asking_again() {
    let (addr, shutdown) = start_server().await;
    let mut dora = PlainClient::spawn(&addr, &["--name", "dora"], "dora");
    dora.until(|l| l.starts_with("*** joined lobby")).await;

    let mut guest = PlainClient::spawn(&addr, &[], "guest");
    guest.line("dora").await;
    guest
        .until(|l| l == "*** Choose another name (2 attempts left)")
        .await;
    guest.line("DORA").await;
    guest
        .until(|l| l == "*** Choose another name (1 attempt left)")
        .await;
    guest.line("carol").await;
    guest.until(|l| l == "*** logged in as carol").await;
    let (code, _, _) = guest.finish().await;
    assert_eq!(code, 0);

    // With --name there is no second try: no count of attempts.
    let launch = support::Launch {
        stderr: support::Stderr::Capture,
        ..support::Launch::default()
    };
    let refused = PlainClient::spawn_with(&addr, &["--name", "Dora"], "Dora", launch);
    let (code, seen, stderr) = refused.finish().await;
    assert_eq!(code, 3, "{seen:?} {stderr}");
    assert!(stderr.contains("name refused"), "{stderr}");
    assert!(
        !stderr.contains("attempt") && !seen.iter().any(|l| l.contains("attempt")),
        "{seen:?} {stderr}"
    );
    let (code, _, _) = dora.finish().await;
    assert_eq!(code, 0);
    shutdown.cancel();
}

#[tokio::test]
async fn the_last_name_refusal_asks_for_nothing_more_and_exits_3() {
    let (addr, shutdown) = start_server().await;
    let launch = support::Launch {
        stderr: support::Stderr::Capture,
        ..support::Launch::default()
    };
    let mut guest = PlainClient::spawn_with(&addr, &[], "guest", launch);
    // `admin` is reserved; the server allows three tries.
    for _ in 0..3 {
        guest.line("admin").await;
    }
    let (code, seen, stderr) = guest.finish().await;
    assert_eq!(
        seen.iter()
            .filter(|l| l.starts_with("*** name refused"))
            .count(),
        3,
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("0 attempts")),
        "no prompt for an attempt that does not exist: {seen:?}"
    );
    assert_eq!(code, 3, "the name was refused: {seen:?} {stderr}");
    assert!(stderr.contains("TOO_MANY_ATTEMPTS"), "{stderr}");
    shutdown.cancel();
}
