//! The terminal UI in a real pseudo-terminal against a real server on
//! 127.0.0.1, for what a session lives through: names refused at the prompt
//! until the server closes the connection, a paste far beyond the server's
//! burst, and lines typed while the server is down.

mod pty;
mod support;

use confab_server::Config;
use pty::PtyClient;
use support::{bodies_from, PlainClient};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A server in this process, which can be stopped and started again on the
/// same address.
struct Server {
    runtime: Runtime,
    addr: String,
    config: Config,
    running: Option<(
        CancellationToken,
        JoinHandle<Result<(), confab_server::StartError>>,
    )>,
}

impl Server {
    fn start(config: Config) -> Server {
        let runtime = Runtime::new().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"));
        let addr = listener.as_ref().unwrap().local_addr().unwrap().to_string();
        let mut server = Server {
            runtime,
            addr,
            config,
            running: None,
        };
        server.serve(listener.unwrap());
        server
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let shutdown = CancellationToken::new();
        let task = self.runtime.spawn(confab_server::run(
            listener,
            self.config.clone(),
            shutdown.clone(),
        ));
        self.running = Some((shutdown, task));
    }

    /// Shuts the server down (its clients get GOODBYE) and waits until it
    /// no longer listens.
    fn stop(&mut self) {
        let (shutdown, task) = self.running.take().expect("the server runs");
        shutdown.cancel();
        self.runtime
            .block_on(task)
            .unwrap()
            .expect("the server ran");
    }

    /// Starts it again on the same address.
    fn restart(&mut self) {
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind(&self.addr))
            .expect("the address is free again");
        self.serve(listener);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some((shutdown, _)) = self.running.take() {
            shutdown.cancel();
        }
    }
}

#[test]
fn three_names_refused_at_the_prompt_reconnect_and_ask_again() {
    let server = Server::start(Config::default());
    let mut alice = PtyClient::spawn(&[&server.addr]);
    alice.wait_for_text("/register NAME");
    // `admin` is reserved: each try is refused; the third is the last the
    // server allows on one connection (login_attempts 3) and it closes it.
    for tries in 1..=3 {
        alice.write(b"admin\r");
        alice.wait_for(&format!("refusal {tries}"), |s| {
            s.contents().matches("the name admin was refused").count() == tries
        });
    }
    // Still running, on a fresh connection, saying why, and asking again.
    let screen = alice.wait_for_text("connected again");
    assert!(screen.contains("choose another name"), "{screen}");
    alice.write(b"alice\r");
    let screen = alice.wait_for_text("#lobby · 1 here");
    assert!(screen.contains("│ alice │"), "{screen}");
    alice.write(b"\x03"); // Ctrl-C
    assert_eq!(alice.wait_exit(), Some(0));
}

#[test]
fn a_paste_far_beyond_the_servers_burst_is_paced_and_all_delivered() {
    let config = Config {
        msg_burst: 10,
        msg_rate: 20,
        ..Config::default()
    };
    let server = Server::start(config);
    let _runtime = server.runtime.enter();
    let (mut bob, mut alice) = pty::plain_bob_then_alice(&server.runtime, &server.addr, None);
    alice.wait_for("bracketed paste on", |s| {
        s.bracketed_paste() && s.contents().contains("#lobby · 2 here")
    });

    // Six times the burst, in one bracketed paste.
    let lines: Vec<String> = (0..60).map(|i| format!("pasted line {i:02}")).collect();
    let paste = format!("\x1b[200~{}\n\x1b[201~", lines.join("\n"));
    alice.write(paste.as_bytes());
    // The queue is paced: the status bar shows what still waits.
    alice.wait_for_text(" queued ");

    let last = format!("alice: {}", lines[59]);
    server.runtime.block_on(bob.until(|l| l.ends_with(&last)));
    let screen = alice.wait_for("the queue emptied", |s| !s.contents().contains(" queued "));
    for refusal in ["RATE_LIMITED", "FLOODING", "not sent", "disconnected"] {
        assert!(
            !screen.contains(refusal),
            "{refusal} on the screen:\n{screen}"
        );
    }
    alice.write(b"\x03");
    assert_eq!(alice.wait_exit(), Some(0));
    let (_, seen, _) = server.runtime.block_on(bob.finish());
    assert_eq!(
        bodies_from(&seen, "alice"),
        lines,
        "every line, once, in order"
    );
}

#[test]
fn a_line_typed_while_the_server_is_down_is_queued_and_sent_after_the_reconnect() {
    let mut server = Server::start(Config::default());
    let mut alice = PtyClient::spawn(&[
        &server.addr,
        "--name",
        "alice",
        "--reconnect-initial-ms",
        "100",
        "--reconnect-max-ms",
        "300",
    ]);
    alice.wait_for_text("#lobby · 1 here");

    server.stop();
    alice.wait_for_text("reconnecting");
    alice.write(b"typed while away\r");
    let screen = alice.wait_for_text("1 queued");
    assert!(!screen.contains("not connected"), "{screen}");

    server.restart();
    let _runtime = server.runtime.enter();
    // Joining with history: the line is seen whether it arrives before bob
    // joins (replayed) or after (live).
    let mut bob = PlainClient::spawn(&server.addr, &["--name", "bob", "--history", "20"], "bob");
    server
        .runtime
        .block_on(bob.until(|l| l.ends_with("alice: typed while away")));
    alice.wait_for("the queue emptied", |s| {
        let screen = s.contents();
        screen.contains("● connected") && !screen.contains(" queued ")
    });
    alice.write(b"\x03");
    assert_eq!(alice.wait_exit(), Some(0));
    let (_, seen, _) = server.runtime.block_on(bob.finish());
    assert_eq!(bodies_from(&seen, "alice"), ["typed while away"], "once");
}

#[test]
fn a_slow_typist_at_the_name_prompt_is_connected_again_with_the_name() {
    // The server gives a connection one second to log in.
    let config = Config {
        handshake_timeout_ms: 1000,
        ..Config::default()
    };
    let server = Server::start(config);
    let mut alice = PtyClient::spawn(&[&server.addr]);
    alice.wait_for_text("/register NAME");
    // More than a second passes before the name is typed: the server has
    // closed the connection, and the client says so, still at the prompt.
    let screen = alice.wait_for_text("no name was entered");
    assert!(screen.contains("name> "), "{screen}");
    alice.write(b"alice\r");
    let screen = alice.wait_for_text("#lobby · 1 here");
    assert!(screen.contains("│ alice │"), "{screen}");
    alice.write(b"\x03");
    assert_eq!(alice.wait_exit(), Some(0));
}

#[test]
fn an_emoji_sequence_leaves_no_stray_cells_in_a_terminal_that_draws_its_parts() {
    // The terminal model here, like many terminals, draws 👨‍👩‍👧 as its
    // three emoji (6 columns) where the client counts one cluster (2).
    let server = Server::start(Config::default());
    let _runtime = server.runtime.enter();
    let (mut bob, mut alice) = pty::plain_bob_then_alice(&server.runtime, &server.addr, None);
    alice.wait_for_text("#lobby · 2 here");
    alice.write("👨‍👩‍👧x".as_bytes());
    alice.wait_for_text("x");
    alice.write(b"\r");
    server
        .runtime
        .block_on(bob.until(|l| l.ends_with("alice: 👨\u{200d}👩\u{200d}👧x")));
    // Sent: the input line is empty again, with nothing left behind, and
    // the message row holds no part of the sequence beyond its cluster.
    let input_row = pty::ROWS - 1;
    alice.wait_for("an empty input line", |s| {
        s.contents_between(input_row, 0, input_row, pty::COLS)
            .trim_end()
            == ">"
            && !s.contents().contains('👧')
    });
}
