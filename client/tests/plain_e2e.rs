//! Plain mode end to end: real `confab --plain` processes chatting through a
//! real server on 127.0.0.1.

mod support;

use std::process::Stdio;

use confab_server::Config;
use support::{Launch, PlainClient, StoredServer, PATIENCE};
use tokio::process::Command;
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

/// `[2026-11-25 14:03:07] alice: hello`
fn is_message_from(line: &str, sender: &str, body: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    let Some((stamp, text)) = rest.split_once("] ") else {
        return false;
    };
    stamp.len() == 19
        && chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").is_ok()
        && text == format!("{sender}: {body}")
}

#[tokio::test]
async fn three_plain_clients_chat_with_time_and_name_and_no_echo() {
    let (addr, shutdown) = start_server().await;
    let names = ["alice", "bob", "carol"];
    let mut clients = Vec::new();
    for name in names {
        let mut client = PlainClient::spawn(&addr, &["--name", name], name);
        client.until(|l| l.starts_with("*** joined lobby")).await;
        clients.push(client);
    }
    for client in clients.iter_mut() {
        let body = format!("hello from {}", client.name);
        client.line(&body).await;
    }
    for client in clients.iter_mut() {
        let me = client.name.clone();
        for sender in names.iter().filter(|n| **n != me) {
            let body = format!("hello from {sender}");
            client.until(|l| is_message_from(l, sender, &body)).await;
        }
    }
    for client in clients {
        let name = client.name.clone();
        let (code, seen, _) = client.finish().await;
        assert_eq!(
            code, 0,
            "{name} exits 0 after a clean goodbye; saw {seen:?}"
        );
        let own = format!("{name}: hello from {name}");
        assert!(
            !seen.iter().any(|l| l.ends_with(&own)),
            "{name} saw its own message echoed: {seen:?}"
        );
    }
    shutdown.cancel();
}

#[tokio::test]
async fn utc_option_prints_iso_8601_and_commands_work() {
    let (addr, shutdown) = start_server().await;
    let mut alice = PlainClient::spawn(
        &addr,
        &["--name", "alice", "--utc", "--room", "rust"],
        "alice",
    );
    alice.until(|l| l.starts_with("*** joined rust")).await;
    let mut bob = PlainClient::spawn(&addr, &["--name", "bob", "--room", "rust"], "bob");
    bob.until(|l| l.starts_with("*** joined rust")).await;
    bob.line("in rust").await;
    let line = alice.until(|l| l.ends_with("bob: in rust")).await;
    let stamp = line.trim_start_matches('[').split(']').next().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "ISO-8601 UTC stamp: {line}"
    );
    assert!(stamp.ends_with('Z'));
    bob.line("/msg alice psst").await;
    alice.until(|l| l.ends_with("bob -> alice: psst")).await;
    alice.line("/who rust").await;
    alice.until(|l| l == "*** in rust: alice, bob").await;
    alice.line("/bogus").await;
    alice
        .until(|l| l.starts_with("*** error: unknown command /bogus"))
        .await;
    let (code, _, _) = bob.finish().await;
    assert_eq!(code, 0);
    let (code, _, _) = alice.finish().await;
    assert_eq!(code, 0);
    shutdown.cancel();
}

#[tokio::test]
async fn unreachable_server_is_a_clear_error_and_exit_code() {
    // Bind then drop a listener: nothing listens on that port now.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let output = tokio::time::timeout(
        PATIENCE,
        Command::new(env!("CARGO_BIN_EXE_confab"))
            .args([addr.as_str(), "--plain", "--name", "x"])
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot connect to") && stderr.contains(&addr),
        "{stderr}"
    );
}

#[tokio::test]
async fn taken_name_with_name_flag_exits_3() {
    let (addr, shutdown) = start_server().await;
    let mut first = PlainClient::spawn(&addr, &["--name", "dora"], "dora");
    first.until(|l| l.starts_with("*** joined lobby")).await;
    let second = PlainClient::spawn(&addr, &["--name", "DORA"], "dora2");
    let (code, _, _) = second.finish().await;
    assert_eq!(code, 3);
    let (code, _, _) = first.finish().await;
    assert_eq!(code, 0);
    shutdown.cancel();
}

#[tokio::test]
async fn client_reconnects_and_catches_up_after_server_restart() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(confab_server::run(
        listener,
        Config::default(),
        shutdown.clone(),
    ));
    let mut alice = PlainClient::spawn(
        &addr.to_string(),
        &["--name", "alice", "--reconnect-initial-ms", "100"],
        "alice",
    );
    alice.until(|l| l.starts_with("*** joined lobby")).await;
    shutdown.cancel();
    server.await.unwrap().unwrap();
    alice
        .until(|l| l.contains("SERVER_SHUTDOWN") && l.contains("reconnecting"))
        .await;
    // The same address again: the client finds it and logs in under the same name.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(confab_server::run(
        listener,
        Config::default(),
        shutdown.clone(),
    ));
    alice.until(|l| l == "*** logged in as alice").await;
    alice.until(|l| l.starts_with("*** joined lobby")).await;
    let (code, _, _) = alice.finish().await;
    assert_eq!(code, 0);
    shutdown.cancel();
}

#[tokio::test]
async fn register_then_log_in_with_the_password_from_the_environment() {
    let server = StoredServer::start("accounts").await;
    let addr = server.addr.clone();

    let good = Launch {
        env: &[("CONFAB_PASSWORD", "correct horse")],
        ..Launch::default()
    };
    let mut first = PlainClient::spawn_with(&addr, &["--name", "erin", "--register"], "erin", good);
    first
        .until(|l| l == "*** registered the account erin")
        .await;
    first.until(|l| l == "*** logged in as erin").await;
    let (code, _, _) = first.finish().await;
    assert_eq!(code, 0);

    let bad = Launch {
        env: &[("CONFAB_PASSWORD", "wrong")],
        ..Launch::default()
    };
    let wrong = PlainClient::spawn_with(&addr, &["--name", "erin", "--login"], "erin?", bad);
    let (code, _, _) = wrong.finish().await;
    assert_eq!(
        code, 3,
        "a refused password ends plain mode with exit code 3"
    );

    let mut again = PlainClient::spawn_with(&addr, &["--name", "erin", "--login"], "erin", good);
    again.until(|l| l == "*** logged in as erin").await;
    let (code, _, _) = again.finish().await;
    assert_eq!(code, 0);
    server.stop();
}
