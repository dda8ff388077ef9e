//! The terminal UI in a real pseudo-terminal, chatting through a real server
//! on 127.0.0.1 with a real `confab --plain` on the other end.

mod pty;
mod support;

use std::path::PathBuf;

use confab_server::Config;
use pty::PtyClient;
use support::bodies_from;
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
        let (cert, key) = confab_server::generate_self_signed(&dir, &["127.0.0.1".to_string()])
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
    let (mut bob, mut alice) = pty::plain_bob_then_alice(&server.runtime, &server.addr, None);
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
    let received = bodies_from(&seen, "alice");
    let sent: Vec<String> = (0..40).map(burst_line).collect();
    assert_eq!(received, sent, "every line, once, in order");
}

#[test]
fn a_bracketed_paste_of_many_lines_is_sent_line_by_line() {
    let server = Server::start();
    let _runtime = server.runtime.enter();
    let (mut bob, mut alice) = pty::plain_bob_then_alice(&server.runtime, &server.addr, None);
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
    let received = bodies_from(&seen, "alice");
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
    let (mut bob, mut alice) = pty::plain_bob_then_alice(&server.runtime, &server.addr, None);
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
    let received = bodies_from(&seen, "alice");
    assert_eq!(received, ["Qab", "yz"]);
}

#[test]
fn tab_completes_a_name_and_alt_2_switches_rooms() {
    let server = Server::start();
    let _runtime = server.runtime.enter();
    let (mut bob, mut alice) =
        pty::plain_bob_then_alice(&server.runtime, &server.addr, Some("rust"));
    // rust is in view (buffer 3), and its members are known.
    alice.wait_for_text("here: alice, bob");
    let screen = alice.wait_for_text("#rust · 2 here");
    assert!(screen.contains(" 2 #lobby"), "the room list: {screen}");
    alice.wait_for("no mouse capture", |s| {
        s.mouse_protocol_mode() == vt100::MouseProtocolMode::None
    });

    alice.write(b"\x1b2"); // Alt-2: lobby
    alice.wait_for_text("#lobby · 2 here");
    alice.write(b"b\t");
    alice.wait_for("the completed name", |s| {
        s.contents().lines().last() == Some("> bob:")
    });
    alice.write(b"hi\r");
    server
        .runtime
        .block_on(bob.until(|l| l.ends_with("#lobby alice: bob: hi")));
    alice.write(b"\x1b3in rust\r"); // Alt-3: back to rust
    server
        .runtime
        .block_on(bob.until(|l| l.ends_with("] alice: in rust")));
}

#[test]
fn a_burst_in_one_room_does_not_delay_typing_in_another() {
    // Limits high enough for one client to send 5,000 messages at once.
    let config = Config {
        msg_rate: 1_000_000,
        msg_burst: 1_000_000,
        byte_rate: 100_000_000,
        byte_burst: 100_000_000,
        queue_depth: 100_000,
        ..Config::default()
    };
    let server = Server::start_with(config, None);
    let _runtime = server.runtime.enter();
    let (mut bob, mut alice) =
        pty::plain_bob_then_alice(&server.runtime, &server.addr, Some("rust"));
    alice.wait_for_text("here: alice, bob");
    alice.write(b"\x1b2");
    alice.wait_for_text("#lobby · 2 here");

    const BURST: usize = 5_000;
    let lines: Vec<String> = (0..BURST).map(|i| format!("flood {i}")).collect();
    server.runtime.block_on(bob.line(&lines.join("\n")));
    // rust's unread count in the room list, as drawn.
    let unread = |contents: &str| -> usize {
        let row = contents.lines().find(|l| l.starts_with(" 3 #rust"));
        let count = row.and_then(|l| l.split('│').next()?.split_whitespace().nth(2));
        count.and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    alice.wait_for("the burst begins", |s| unread(&s.contents()) > 0);
    // Typing in lobby meanwhile: each key's time until it is on the screen.
    let typed = "typing in the lobby while rust floods";
    let mut latencies = Vec::new();
    let mut during = 0;
    for (i, c) in typed.char_indices() {
        let start = std::time::Instant::now();
        alice.write(c.to_string().as_bytes());
        let want = format!("> {}", &typed[..i + c.len_utf8()]);
        let screen = alice.wait_for("the typed key", |s| {
            s.contents().lines().last().map(str::trim_end) == Some(want.trim_end())
        });
        latencies.push(start.elapsed());
        if unread(&screen) < BURST {
            during += 1;
        }
    }
    // Every message of the burst arrived and is counted unread, exactly.
    let count = format!(" {BURST}│");
    alice.wait_for("rust's unread count", |s| {
        s.contents()
            .lines()
            .any(|l| l.starts_with(" 3 #rust") && l.contains(&count))
    });
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let worst = *latencies.last().unwrap();
    eprintln!(
        "key-to-screen latency during a {BURST}-message burst: median {median:?}, \
         worst {worst:?}; {during} of {} keys drawn before the burst was all in",
        typed.len()
    );
    // Generous: a shared, loaded machine; a stalled UI takes far longer.
    assert!(worst < std::time::Duration::from_secs(3), "worst {worst:?}");
}

#[test]
fn me_and_multi_line_messages_reach_plain_mode() {
    // spec: BODY-1, ACTION-1
    let server = Server::start();
    let _runtime = server.runtime.enter();
    let (mut bob, mut alice) = pty::plain_bob_then_alice(&server.runtime, &server.addr, None);
    alice.wait_for_text("here: alice, bob");
    // An action, then "first", Alt-Enter (ESC CR), "second", Enter.
    alice.write(b"/me waves\r");
    alice.write(b"first\x1b\rsecond\r");
    server
        .runtime
        .block_on(bob.until(|l| l.ends_with("] * alice waves")));
    let header = server
        .runtime
        .block_on(bob.until(|l| l.ends_with("] alice: first")));
    let next = server
        .runtime
        .block_on(bob.until(|l| l.ends_with("second")));
    // The second line sits under the sender, after the time stamp's width.
    let stamp = header.find("alice").unwrap();
    assert_eq!(next, format!("{}second", " ".repeat(stamp)));
    // And alice's own screen shows both the same way.
    alice.wait_for_text("* alice waves");
    let screen = alice.wait_for_text("alice: first");
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("alice: first"))
        .unwrap();
    let column = lines[at].find("alice: first").unwrap();
    assert_eq!(lines[at + 1].find("second"), Some(column), "{screen}");
}
