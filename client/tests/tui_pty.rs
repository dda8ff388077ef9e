//! The terminal UI in a real pseudo-terminal, chatting through a real server
//! on 127.0.0.1 with a real `confab --plain` on the other end.

mod pty;
mod support;

use std::path::PathBuf;

use confab_server::Config;
use pty::PtyClient;
use support::PlainClient;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

struct Server {
    runtime: Runtime,
    addr: String,
    shutdown: CancellationToken,
    /// With TLS: the directory of the certificate (removed on drop).
    tls_dir: Option<PathBuf>,
}

impl Server {
    fn start() -> Server {
        Self::start_with(Config::default(), None)
    }

    /// A TLS server with a fresh self-signed certificate; `--ca` takes `cert`.
    fn start_tls() -> (Server, PathBuf) {
        let dir = std::env::temp_dir().join(format!("confab-tui-pty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) =
            confab_server::tls::generate_self_signed(&dir, &["127.0.0.1".to_string()])
                .expect("a self-signed certificate");
        let config = Config {
            tls_cert: Some(cert.clone()),
            tls_key: Some(key),
            ..Config::default()
        };
        (Self::start_with(config, Some(dir)), cert)
    }

    fn start_with(config: Config, tls_dir: Option<PathBuf>) -> Server {
        let runtime = Runtime::new().unwrap();
        let shutdown = CancellationToken::new();
        let addr = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
            addr
        });
        Server {
            runtime,
            addr,
            shutdown,
            tls_dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(dir) = &self.tls_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Line `i` of a burst: 62 characters and the Enter key.
fn burst_line(i: usize) -> String {
    format!("burst line {i:02} {}", "x".repeat(48))
}

#[test]
fn a_burst_of_typed_lines_is_all_sent_in_order() {
    let server = Server::start();
    let _runtime = server.runtime.enter();
    let mut bob = PlainClient::spawn(&server.addr, &["--name", "bob"], "bob");
    server
        .runtime
        .block_on(bob.until(|l| l.starts_with("*** joined lobby")));
    let mut alice = PtyClient::spawn(&[&server.addr, "--name", "alice"]);
    alice.wait_for_text("#lobby · 2 here");
    assert!(alice.contents().contains("connected │ no TLS │ #lobby"));

    // 40 lines of 63 bytes arrive at once, as from a program writing into
    // the terminal or a paste without bracketed paste: 2,520 bytes.
    let burst: String = (0..40).map(|i| format!("{}\r", burst_line(i))).collect();
    assert_eq!(burst.len(), 2_520);
    alice.write(burst.as_bytes());

    let last = format!("alice: {}", burst_line(39));
    server.runtime.block_on(bob.until(|l| l.ends_with(&last)));
    alice.write(b"\x03"); // Ctrl-C
    assert_eq!(alice.wait_exit(), Some(0));
    let (_, seen, _) = server.runtime.block_on(bob.finish());
    let received: Vec<&str> = seen
        .iter()
        .filter_map(|l| l.split_once("] alice: ").map(|(_, body)| body))
        .collect();
    let sent: Vec<String> = (0..40).map(burst_line).collect();
    assert_eq!(received, sent, "every line, once, in order");
}

#[test]
fn a_bracketed_paste_of_many_lines_is_sent_line_by_line() {
    let server = Server::start();
    let _runtime = server.runtime.enter();
    let mut bob = PlainClient::spawn(&server.addr, &["--name", "bob"], "bob");
    server
        .runtime
        .block_on(bob.until(|l| l.starts_with("*** joined lobby")));
    let mut alice = PtyClient::spawn(&[&server.addr, "--name", "alice"]);
    alice.wait_for("bracketed paste on", |s| {
        s.bracketed_paste() && s.contents().contains("#lobby · 2 here")
    });

    // Within the server's burst allowance, so no pacing is involved.
    let lines: Vec<String> = (0..30).map(|i| format!("pasted line {i}")).collect();
    let paste = format!("\x1b[200~{}\n\x1b[201~", lines.join("\n"));
    alice.write(paste.as_bytes());

    let last = format!("alice: {}", lines[29]);
    server.runtime.block_on(bob.until(|l| l.ends_with(&last)));
    let (_, seen, _) = server.runtime.block_on(bob.finish());
    let received: Vec<&str> = seen
        .iter()
        .filter_map(|l| l.split_once("] alice: ").map(|(_, body)| body))
        .collect();
    assert_eq!(received, lines, "one message per line, in order");
}

#[test]
fn the_status_bar_says_the_connection_is_encrypted() {
    let (server, cert) = Server::start_tls();
    let alice = PtyClient::spawn(&[
        &server.addr,
        "--ca",
        cert.to_str().unwrap(),
        "--name",
        "alice",
    ]);
    let screen = alice.wait_for_text("#lobby · 1 here");
    assert!(screen.contains("● connected │ TLS │ #lobby"), "{screen}");
}

#[test]
fn control_and_alt_chords_edit_and_never_type_letters() {
    let server = Server::start();
    let _runtime = server.runtime.enter();
    let mut bob = PlainClient::spawn(&server.addr, &["--name", "bob"], "bob");
    server
        .runtime
        .block_on(bob.until(|l| l.starts_with("*** joined lobby")));
    let mut alice = PtyClient::spawn(&[&server.addr, "--name", "alice"]);
    alice.wait_for_text("#lobby · 2 here");
    // `ab`, Ctrl-L, Ctrl-K, Ctrl-B, Alt-B (ESC b), Ctrl-R, then `Q` lands at
    // the start; Enter.
    alice.write(b"ab\x0c\x0b\x02\x1bb\x12Q\r");
    // Ctrl-A, Ctrl-D on a line with text deletes under the cursor; Enter.
    alice.write(b"xyz\x01\x04\r");
    server
        .runtime
        .block_on(bob.until(|l| l.ends_with("alice: yz")));
    let (_, seen, _) = server.runtime.block_on(bob.finish());
    let received: Vec<&str> = seen
        .iter()
        .filter_map(|l| l.split_once("] alice: ").map(|(_, body)| body))
        .collect();
    assert_eq!(received, ["Qab", "yz"]);
}
