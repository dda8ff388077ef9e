//! The real `confab` binary over TLS: `--ca <cert.pem>` against an in-process
//! server whose certificate comes from `confab_server::generate_self_signed`
//! (what `confab-server gen-cert` writes).

mod support;

use std::path::{Path, PathBuf};

use confab_server::Config;
use support::{Launch, PlainClient, Stderr};
use tokio_util::sync::CancellationToken;

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "confab-client-{label}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A TLS server on 127.0.0.1; returns its address, the CA file to trust,
/// the shutdown token and the directory guard.
async fn start_tls_server(label: &str) -> (String, PathBuf, CancellationToken, TempDir) {
    let dir = TempDir::new(label);
    let (cert, key) = confab_server::generate_self_signed(
        &dir.0,
        &["localhost".to_string(), "127.0.0.1".to_string()],
    )
    .expect("a self-signed certificate");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let shutdown = CancellationToken::new();
    let config = Config {
        tls_cert: Some(cert.clone()),
        tls_key: Some(key),
        ..Config::default()
    };
    tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
    (addr, cert, shutdown, dir)
}

/// A plain-mode client that does not reconnect and keeps its stderr for the
/// assertions on error messages.
fn client(addr: &str, args: &[&str], name: &str) -> PlainClient {
    let args = [&["--no-reconnect"], args].concat();
    let launch = Launch {
        stderr: Stderr::Capture,
        ..Launch::default()
    };
    PlainClient::spawn_with(addr, &args, name, launch)
}

fn with_ca(addr: &str, ca: &Path, name: &str) -> PlainClient {
    client(addr, &["--ca", ca.to_str().unwrap(), "--name", name], name)
}

/// `[2026-11-25 14:03:07] alice: hello`
fn is_message_from(line: &str, sender: &str, body: &str) -> bool {
    line.starts_with('[')
        && line
            .split_once("] ")
            .is_some_and(|(_, text)| text == format!("{sender}: {body}"))
}

#[tokio::test]
async fn two_plain_clients_chat_over_tls_with_the_ca_file() {
    // spec: TRANSPORT-2
    let (addr, ca, shutdown, _dir) = start_tls_server("chat").await;
    let mut alice = with_ca(&addr, &ca, "alice");
    alice.until(|l| l.starts_with("*** joined lobby")).await;
    let mut bob = with_ca(&addr, &ca, "bob");
    bob.until(|l| l.starts_with("*** joined lobby")).await;

    alice.line("hello over tls").await;
    bob.until(|l| is_message_from(l, "alice", "hello over tls"))
        .await;
    bob.line("and back again").await;
    alice
        .until(|l| is_message_from(l, "bob", "and back again"))
        .await;

    for client in [alice, bob] {
        let name = client.name.clone();
        let (code, seen, stderr) = client.finish().await;
        assert_eq!(
            code, 0,
            "{name} quits cleanly; saw {seen:?}, stderr {stderr}"
        );
    }
    shutdown.cancel();
}

#[tokio::test]
async fn without_the_ca_or_without_tls_the_client_fails_clearly() {
    // spec: TRANSPORT-2
    let (addr, ca, shutdown, _dir) = start_tls_server("refuse").await;

    // Plain TCP against the TLS port: what comes back is not Confab.
    let plain = client(&addr, &["--name", "eve"], "eve");
    let (code, seen, stderr) = plain.finish().await;
    assert_eq!(
        code, 2,
        "a plain client cannot talk to a TLS server; saw {seen:?}, stderr {stderr}"
    );
    assert!(stderr.contains("not Confab"), "{stderr}");

    // TLS trusting only the system roots: the self-signed certificate is refused.
    let untrusting = client(&addr, &["--tls", "--name", "mallory"], "mallory");
    let (code, seen, stderr) = untrusting.finish().await;
    assert_eq!(code, 2, "unreachable; saw {seen:?}, stderr {stderr}");
    assert!(
        stderr.contains("certificate"),
        "the error names the certificate problem: {stderr}"
    );

    // The server is unharmed: a client with the CA file logs in.
    let mut carol = with_ca(&addr, &ca, "carol");
    carol.until(|l| l.starts_with("*** joined lobby")).await;
    let (code, _, stderr) = carol.finish().await;
    assert_eq!(code, 0, "{stderr}");
    shutdown.cancel();
}

/// A server that answers a plain client's first bytes with something that
/// is not Confab (here, TLS) gets the client to suggest --tls: the hint is
/// chosen before the session is closed by the decoding error.
#[tokio::test]
async fn a_plain_client_at_a_tls_port_is_told_to_use_tls() {
    let (addr, _ca, shutdown, _dir) = start_tls_server("hint").await;
    let plain = client(&addr, &["--name", "eve"], "eve");
    let (code, _, stderr) = plain.finish().await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--tls"),
        "the error should suggest --tls; it reads: {stderr}"
    );
    shutdown.cancel();
}

/// rustls names symptoms (`InvalidContentType`, `UnknownIssuer`); the client
/// says what is wrong and what to do.
#[tokio::test]
async fn tls_failures_say_what_is_wrong_and_what_to_do() {
    let (tls_addr, _ca, tls_shutdown, _dir) = start_tls_server("advice").await;
    let untrusting = client(&tls_addr, &["--tls", "--name", "mallory"], "mallory");
    let (code, _, stderr) = untrusting.finish().await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("self-signed") && stderr.contains("--ca"),
        "a self-signed server: pass its certificate with --ca; it reads: {stderr}"
    );
    tls_shutdown.cancel();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_addr = listener.local_addr().unwrap().to_string();
    let shutdown = CancellationToken::new();
    tokio::spawn(confab_server::run(
        listener,
        Config::default(),
        shutdown.clone(),
    ));
    let tls_at_plain = client(&plain_addr, &["--tls", "--name", "trent"], "trent");
    let (code, _, stderr) = tls_at_plain.finish().await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("does not speak TLS") && stderr.contains("without --tls"),
        "a plain server: connect without --tls; it reads: {stderr}"
    );
    shutdown.cancel();
}
