//! The terminal UI in a real pseudo-terminal, chatting through a real server
//! on 127.0.0.1 with a real `confab --plain` on the other end.

mod pty;
mod support;

use confab_server::Config;
use pty::PtyClient;
use support::PlainClient;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

struct Server {
    runtime: Runtime,
    addr: String,
    shutdown: CancellationToken,
}

impl Server {
    fn start() -> Server {
        let runtime = Runtime::new().unwrap();
        let shutdown = CancellationToken::new();
        let addr = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            tokio::spawn(confab_server::run(
                listener,
                Config::default(),
                shutdown.clone(),
            ));
            addr
        });
        Server {
            runtime,
            addr,
            shutdown,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
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
