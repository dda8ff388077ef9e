//! SIGHUP through the real binary: the file is rewritten, the server is sent
//! SIGHUP, and once its log says the reload is done the effect is checked
//! over a real socket: a newly reserved name is refused, a lowered
//! connection limit refuses newcomers, a new operator can moderate, a new
//! certificate is what new handshakes see. A broken file changes nothing,
//! and a setting that needs a restart says so.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Client, ServerProcess, TempDir, PATIENCE};
use crate::tls::client::{self_signed, tls_connect, tls_connector};
use confab_protocol::frame::{Frame, Hello, LoginMode, ModAction, Moderate};
use confab_protocol::{ErrorCode, Str16, Str8};

/// Writes the configuration file `confab.toml` in `dir`; returns its path.
fn write_config(dir: &TempDir, text: &str) -> String {
    let path = dir.path().join("confab.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Sends SIGHUP, then waits (bounded, polling the log) for the reload's
/// `n`-th end: done or refused. Returns the log.
fn reload(server: &ServerProcess, n: usize) -> String {
    let sent = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -HUP failed: {sent:?}");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let log = server.log_text();
        let ends = log.matches("reload: done").count() + log.matches("reload: refused").count();
        if ends >= n {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "reload {n} did not end within {PATIENCE:?}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Connects and tries to log in as the guest `name`.
async fn guest_login(server: &ServerProcess, name: &str) -> Result<Client, ErrorCode> {
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    match client.try_login(LoginMode::Guest, name, "").await {
        Ok(_) => Ok(client),
        Err(rejected) => Err(rejected.code),
    }
}

#[tokio::test]
async fn limits_and_reserved_names_reload_and_restart_only_settings_say_so() {
    let dir = TempDir::new("reload-limits");
    let base = "listen = \"127.0.0.1:0\"\nin-memory = true\n";
    let file = write_config(
        &dir,
        &format!("{base}max-connections = 100\nreserved-names = [\"server\"]\n"),
    );
    let server = ServerProcess::start(&["--config", &file]);
    let _dana = guest_login(&server, "dana").await.expect("dana logs in");
    let (probe, greeting) = Client::connect(server.addr).await;
    let Frame::Greeting(before) = greeting else {
        panic!("{greeting:?}")
    };
    drop(probe);

    // Reserved names and a restart-only pair: listen, and a limit the
    // GREETING advertises.
    write_config(
        &dir,
        "listen = \"127.0.0.1:1\"\nin-memory = true\nmax-connections = 100\n\
         reserved-names = [\"server\", \"eve\"]\nmsg-rate = 1\n",
    );
    let log = reload(&server, 1);
    assert!(
        log.contains("reload: reserved-names server -> server,eve"),
        "{log}"
    );
    assert!(
        log.contains("reload: listen changed; needs a restart (kept 127.0.0.1:0)"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "reload: msg-rate changed; needs a restart (kept {})",
            before.limits.msg_rate
        )),
        "{log}"
    );
    assert_eq!(
        guest_login(&server, "eve").await.err(),
        Some(ErrorCode::NAME_RESERVED)
    );
    let (probe, greeting) = Client::connect(server.addr).await;
    let Frame::Greeting(after) = greeting else {
        panic!("{greeting:?}")
    };
    assert_eq!(after.limits, before.limits, "advertised limits stay");
    drop(probe);

    // The connection limit: dana holds the only place left.
    write_config(
        &dir,
        &format!("{base}max-connections = 1\nreserved-names = [\"server\", \"eve\"]\n"),
    );
    let log = reload(&server, 2);
    assert!(log.contains("reload: max-connections 100 -> 1"), "{log}");
    let mut refused = Client::connect_raw(server.addr).await;
    let frames = refused.expect_closed().await;
    assert!(
        matches!(frames.first(), Some(Frame::ErrorFrame(e)) if e.code == ErrorCode::SERVER_FULL),
        "{frames:?}"
    );
}

#[tokio::test]
async fn a_broken_file_is_refused_whole_with_its_line() {
    let dir = TempDir::new("reload-broken");
    let base = "listen = \"127.0.0.1:0\"\nin-memory = true\n";
    let file = write_config(&dir, &format!("{base}reserved-names = [\"server\"]\n"));
    let server = ServerProcess::start(&["--config", &file]);
    write_config(
        &dir,
        &format!("{base}reserved-names = [\"zed\"]\nmax-conections = 3\n"),
    );
    let log = reload(&server, 1);
    assert!(
        log.contains(&format!(
            "reload: {file}:4: unknown key \"max-conections\" (did you mean \"max-connections\"?)"
        )),
        "{log}"
    );
    assert!(
        log.contains("reload: refused; the running settings stay"),
        "{log}"
    );
    assert!(!log.contains("reload: reserved-names"), "{log}");
    guest_login(&server, "zed")
        .await
        .expect("zed is not reserved: the file was refused whole");
    assert_eq!(
        guest_login(&server, "server").await.err(),
        Some(ErrorCode::NAME_RESERVED)
    );
}

/// MODERATE ANNOUNCE from `client`: true when the server announces it,
/// false when it refuses NOT_PERMITTED.
async fn announce(client: &mut Client, text: &str) -> bool {
    client
        .send(Frame::Moderate(Moderate {
            action: ModAction::Announce,
            room: Str8::new("").unwrap(),
            target: Str8::new("").unwrap(),
            duration_ms: 0,
            reason: Str16::new(text).unwrap(),
        }))
        .await;
    loop {
        match client.recv_skipping_presence().await {
            Frame::ModerationEvent(event) if event.action == ModAction::Announce => return true,
            Frame::ErrorFrame(e) if e.code == ErrorCode::NOT_PERMITTED => return false,
            Frame::Notice(_) => continue,
            other => panic!("expected the announcement or NOT_PERMITTED, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_new_operator_can_moderate_and_a_removed_one_cannot() {
    let dir = TempDir::new("reload-operators");
    let data = dir.path().join("data");
    let text = |operators: &str| {
        format!(
            "listen = \"127.0.0.1:0\"\ndata-dir = {:?}\nsync = \"normal\"\noperators = [{operators}]\n",
            data.to_str().unwrap()
        )
    };
    let file = write_config(&dir, &text(""));
    let server = ServerProcess::start(&["--config", &file]);
    let (mut ann, _) = Client::connect(server.addr).await;
    ann.hello_flags(Hello::MODERATION).await;
    ann.try_login(LoginMode::Register, "ann", "password")
        .await
        .expect("ann registers");
    assert!(!announce(&mut ann, "before").await, "not an operator yet");

    write_config(&dir, &text("\"ann\""));
    let log = reload(&server, 1);
    assert!(log.contains("reload: operators none -> ann"), "{log}");
    assert!(
        announce(&mut ann, "now").await,
        "an operator after the reload"
    );

    write_config(&dir, &text(""));
    let log = reload(&server, 2);
    assert!(log.contains("reload: operators ann -> none"), "{log}");
    assert!(!announce(&mut ann, "again").await, "the right ended");
}

#[tokio::test]
async fn new_handshakes_see_a_new_certificate_and_a_bad_one_keeps_the_old() {
    let dir = TempDir::new("reload-tls");
    let first = TempDir::new("reload-tls-first");
    let second = TempDir::new("reload-tls-second");
    let (cert_a, key_a) = self_signed(first.path());
    let (cert_b, key_b) = self_signed(second.path());
    let text = |cert: &std::path::Path, key: &std::path::Path| {
        format!(
            "listen = \"127.0.0.1:0\"\nin-memory = true\ntls-cert = {:?}\ntls-key = {:?}\n",
            cert.to_str().unwrap(),
            key.to_str().unwrap()
        )
    };
    let file = write_config(&dir, &text(&cert_a, &key_a));
    let server = ServerProcess::start(&["--config", &file]);
    let (trusts_a, trusts_b) = (tls_connector(&cert_a), tls_connector(&cert_b));
    let mut held = tls_connect(server.addr, &trusts_a)
        .await
        .expect("first cert");
    held.expect_greeting().await;
    assert!(tls_connect(server.addr, &trusts_b).await.is_err());

    write_config(&dir, &text(&cert_b, &key_b));
    let log = reload(&server, 1);
    assert!(log.contains("reload: tls-cert "), "{log}");
    assert!(log.contains("taken for new handshakes"), "{log}");
    let mut fresh = tls_connect(server.addr, &trusts_b).await.expect("new cert");
    fresh.expect_greeting().await;
    assert!(tls_connect(server.addr, &trusts_a).await.is_err());

    // A key that is not a key: the running certificate stays.
    write_config(&dir, &text(&cert_a, &cert_a));
    let log = reload(&server, 2);
    assert!(
        log.contains("new handshakes keep the running certificate"),
        "{log}"
    );
    let mut kept = tls_connect(server.addr, &trusts_b).await.expect("kept");
    kept.expect_greeting().await;
    drop((held, fresh, kept));
}
