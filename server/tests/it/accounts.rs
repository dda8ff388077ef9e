//! Registered accounts (spec `[HANDSHAKE-6]`, `[SEC-6]`): registration,
//! login with a password, the rejections around them, the slow-down of
//! repeated failures, persistence, and what is never stored or logged.

use crate::common;

use std::path::Path;

use common::{login_frame, Client, ServerProcess, TempDir, TestServer};
use confab_protocol::frame::{Frame, Greeting, LoginMode, LoginRejected, Welcome};
use confab_protocol::ErrorCode;
use confab_server::Config;

/// Connects and says HELLO; returns the client and the GREETING's flags.
async fn connect(server: &TestServer) -> (Client, u8) {
    let (mut client, greeting) = Client::connect(server.addr).await;
    let Frame::Greeting(greeting) = greeting else {
        unreachable!("Client::connect checks the GREETING")
    };
    client.hello().await;
    (client, greeting.flags)
}

/// One LOGIN on a fresh connection; its answer.
async fn attempt(
    server: &TestServer,
    mode: LoginMode,
    name: &str,
    password: &str,
) -> (Client, Result<Welcome, LoginRejected>) {
    let (mut client, _) = connect(server).await;
    let answer = client.try_login(mode, name, password).await;
    (client, answer)
}

/// One LOGIN on a fresh connection that must be rejected with `code`.
async fn expect_rejected(
    server: &TestServer,
    mode: LoginMode,
    name: &str,
    password: &str,
    code: ErrorCode,
) -> LoginRejected {
    let (_client, answer) = attempt(server, mode, name, password).await;
    let rejected = answer.expect_err(&format!("{mode:?} {name:?} must be rejected with {code:?}"));
    assert_eq!(rejected.code, code, "{mode:?} {name:?}: {rejected:?}");
    assert!(!rejected.message.is_empty(), "a rejection explains itself");
    rejected
}

async fn register(server: &TestServer, name: &str, password: &str) -> Client {
    let (client, welcome) =
        Client::login_account(server.addr, LoginMode::Register, name, password).await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    client
}

fn store_config(dir: &TempDir) -> Config {
    TestServer::persistent_config(dir.path())
}

#[tokio::test]
async fn a_registered_name_logs_in_from_another_connection_with_its_password() {
    // spec: HANDSHAKE-6, HANDSHAKE-3, HANDSHAKE-5
    let dir = TempDir::new("acct-login");
    let server = TestServer::with(|c| *c = store_config(&dir)).await;
    let (first, flags) = connect(&server).await;
    assert_eq!(
        flags & (Greeting::ACCOUNTS | Greeting::ACCOUNT_REQUIRED),
        Greeting::ACCOUNTS
    );
    drop(first);

    let alice = register(&server, "alice", "correct horse battery staple").await;
    assert_eq!(alice.name, "alice");
    // While alice is logged in, the name is taken for a registration (a
    // login with the password takes the session over: takeover.rs).
    expect_rejected(
        &server,
        LoginMode::Register,
        "alice",
        "correct horse battery staple",
        ErrorCode::NAME_TAKEN,
    )
    .await;
    alice.quit().await;

    let (again, welcome) = Client::login_account(
        server.addr,
        LoginMode::Login,
        "alice",
        "correct horse battery staple",
    )
    .await;
    assert_eq!(welcome.username, "alice");
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    again.quit().await;

    // A guest's WELCOME does not claim an account.
    let (guest, welcome) = Client::login_account(server.addr, LoginMode::Guest, "bob", "").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, 0);
    drop(guest);
    server.finish().await;
}

#[tokio::test]
async fn account_names_compare_case_insensitively_after_normalisation() {
    // spec: HANDSHAKE-6, SEC-3
    let dir = TempDir::new("acct-nfc");
    let server = TestServer::with(|c| *c = store_config(&dir)).await;
    // "Zoë" with a precomposed ë (NFC).
    register(&server, "Zo\u{eb}", "pw-zoe").await.quit().await;
    // Decomposed (NFD) and upper case name the same account.
    let (zoe, welcome) =
        Client::login_account(server.addr, LoginMode::Login, "ZOE\u{308}", "pw-zoe").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    zoe.quit().await;
    expect_rejected(
        &server,
        LoginMode::Guest,
        "zo\u{eb}",
        "",
        ErrorCode::ACCOUNT_REQUIRED,
    )
    .await;
    expect_rejected(
        &server,
        LoginMode::Register,
        "ZO\u{cb}",
        "another",
        ErrorCode::ACCOUNT_EXISTS,
    )
    .await;
    server.finish().await;
}

#[tokio::test]
async fn wrong_passwords_fail_and_repeated_failures_are_answered_more_slowly() {
    // spec: HANDSHAKE-6, HANDSHAKE-4, SEC-6
    let dir = TempDir::new("acct-slow");
    let server = TestServer::with(|c| *c = store_config(&dir)).await;
    register(&server, "bob", "bob's real password")
        .await
        .quit()
        .await;

    // Each wrong password is answered AUTH_FAILED, counting down the
    // attempts left. How long each answer waits is the throttle's policy,
    // unit-tested on its own state rather than on this machine's clock:
    // `failure_delay` in the login handler, the per-address count in `Shared`.
    let (mut client, _) = connect(&server).await;
    let mut messages = Vec::new();
    for (attempt, wrong) in ["guess-1", "guess-2", "guess-3"].iter().enumerate() {
        client
            .send(login_frame(LoginMode::Login, "bob", wrong))
            .await;
        match client.recv().await {
            Frame::LoginRejected(rejected) => {
                assert_eq!(rejected.code, ErrorCode::AUTH_FAILED, "{rejected:?}");
                assert_eq!(rejected.attempts_left, 2 - attempt as u8);
                messages.push(rejected.message.to_string());
            }
            other => panic!("expected LOGIN_REJECTED AUTH_FAILED, got {other:?}"),
        }
    }
    // The last attempt used up: TOO_MANY_ATTEMPTS, fatal, then close.
    let error = client
        .expect_fatal_then_close(ErrorCode::TOO_MANY_ATTEMPTS)
        .await;
    assert_eq!(error.frame_type, confab_protocol::frame::code::LOGIN);

    // An unknown account fails the same way (it does not reveal which names exist).
    let unknown = expect_rejected(
        &server,
        LoginMode::Login,
        "nobody",
        "whatever",
        ErrorCode::AUTH_FAILED,
    )
    .await;
    assert_eq!(unknown.message.as_str(), messages[0]);

    // The failures locked nothing: the right password still works.
    let (bob, welcome) =
        Client::login_account(server.addr, LoginMode::Login, "bob", "bob's real password").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    drop(bob);
    server.finish().await;
}

#[tokio::test]
async fn guests_existing_names_and_empty_passwords_are_refused() {
    // spec: HANDSHAKE-6, HANDSHAKE-5
    let dir = TempDir::new("acct-refusals");
    let server = TestServer::with(|c| *c = store_config(&dir)).await;
    register(&server, "carol", "carol-pw").await.quit().await;

    // A guest may not use a registered name, in any case.
    for name in ["carol", "CAROL"] {
        expect_rejected(
            &server,
            LoginMode::Guest,
            name,
            "",
            ErrorCode::ACCOUNT_REQUIRED,
        )
        .await;
    }
    // Registering a registered name, or with an empty password.
    expect_rejected(
        &server,
        LoginMode::Register,
        "carol",
        "other-pw",
        ErrorCode::ACCOUNT_EXISTS,
    )
    .await;
    expect_rejected(
        &server,
        LoginMode::Register,
        "dan",
        "",
        ErrorCode::AUTH_FAILED,
    )
    .await;
    // dan was not registered by that attempt.
    let (dan, welcome) = Client::login_account(server.addr, LoginMode::Guest, "dan", "").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, 0);
    // A name in use by a guest cannot be registered from under it.
    expect_rejected(
        &server,
        LoginMode::Register,
        "dan",
        "dan-pw",
        ErrorCode::NAME_TAKEN,
    )
    .await;
    drop(dan);
    // Logging in with an empty password.
    expect_rejected(
        &server,
        LoginMode::Login,
        "carol",
        "",
        ErrorCode::AUTH_FAILED,
    )
    .await;

    // A refused attempt on one connection leaves the name free for its owner.
    let (mut client, _) = connect(&server).await;
    let rejected = client
        .try_login(LoginMode::Register, "carol", "x")
        .await
        .expect_err("ACCOUNT_EXISTS");
    assert_eq!(rejected.code, ErrorCode::ACCOUNT_EXISTS);
    let welcome = client
        .try_login(LoginMode::Login, "carol", "carol-pw")
        .await
        .expect("the second attempt on the same connection logs in");
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    drop(client);
    server.finish().await;
}

#[tokio::test]
async fn a_server_that_requires_accounts_refuses_guests_and_says_so() {
    // spec: HANDSHAKE-6
    let dir = TempDir::new("acct-required");
    let server = TestServer::with(|c| {
        *c = Config {
            require_account: true,
            ..store_config(&dir)
        }
    })
    .await;
    let (mut client, flags) = connect(&server).await;
    assert_eq!(
        flags & (Greeting::ACCOUNTS | Greeting::ACCOUNT_REQUIRED | Greeting::PERSISTENT),
        Greeting::ACCOUNTS | Greeting::ACCOUNT_REQUIRED | Greeting::PERSISTENT
    );
    let rejected = client
        .try_login(LoginMode::Guest, "walker", "")
        .await
        .expect_err("guests are refused");
    assert_eq!(rejected.code, ErrorCode::ACCOUNT_REQUIRED);
    // On the same connection, registering works.
    let welcome = client
        .try_login(LoginMode::Register, "walker", "walker-pw")
        .await
        .expect("registration is open");
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    client.quit().await;
    expect_rejected(
        &server,
        LoginMode::Guest,
        "someone-else",
        "",
        ErrorCode::ACCOUNT_REQUIRED,
    )
    .await;
    let (walker, _) =
        Client::login_account(server.addr, LoginMode::Login, "walker", "walker-pw").await;
    drop(walker);
    server.finish().await;
}

#[tokio::test]
async fn accounts_survive_a_restart() {
    // spec: HANDSHAKE-6
    let dir = TempDir::new("acct-restart");
    let server = TestServer::with(|c| *c = store_config(&dir)).await;
    register(&server, "erin", "erin-pw").await.quit().await;
    server.finish().await;

    let server = TestServer::with(|c| *c = store_config(&dir)).await;
    expect_rejected(
        &server,
        LoginMode::Guest,
        "erin",
        "",
        ErrorCode::ACCOUNT_REQUIRED,
    )
    .await;
    expect_rejected(
        &server,
        LoginMode::Register,
        "erin",
        "new-pw",
        ErrorCode::ACCOUNT_EXISTS,
    )
    .await;
    expect_rejected(
        &server,
        LoginMode::Login,
        "erin",
        "new-pw",
        ErrorCode::AUTH_FAILED,
    )
    .await;
    let (erin, welcome) =
        Client::login_account(server.addr, LoginMode::Login, "erin", "erin-pw").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    drop(erin);
    server.finish().await;
}

/// Whether any file under `dir` contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test]
async fn the_database_holds_salted_argon2id_hashes_never_the_password() {
    // spec: SEC-6
    const PASSWORD: &str = "Tr0ub4dor&3-never-in-clear";
    let dir = TempDir::new("acct-hash");
    let server = TestServer::with(|c| *c = store_config(&dir)).await;
    register(&server, "fay", PASSWORD).await.quit().await;
    register(&server, "gus", PASSWORD).await.quit().await;

    // While running (the write-ahead log holds recent pages) and after a stop.
    for phase in ["running", "stopped"] {
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert!(files >= 1, "the data directory has the database");
        assert_eq!(
            files_containing(dir.path(), PASSWORD.as_bytes()),
            Vec::<String>::new(),
            "{phase}: the password is stored in clear"
        );
        assert!(
            !files_containing(dir.path(), b"$argon2id$").is_empty(),
            "{phase}: no argon2id PHC string in the data directory"
        );
        if phase == "running" {
            server.finish().await;
            break;
        }
    }
    let conn = rusqlite::Connection::open(dir.path().join("confab.sqlite3")).unwrap();
    let mut statement = conn
        .prepare("SELECT name, hash FROM accounts ORDER BY name")
        .unwrap();
    let rows: Vec<(String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 2);
    for (name, hash) in &rows {
        assert!(hash.starts_with("$argon2id$"), "{name}: {hash}");
        assert!(!hash.contains(PASSWORD), "{name}: {hash}");
        // A PHC string: algorithm, version, parameters, salt, hash.
        assert!(hash.split('$').count() >= 6, "{name}: {hash}");
    }
    assert_ne!(
        rows[0].1, rows[1].1,
        "the same password gives different hashes: a per-account salt"
    );
}

#[test]
fn the_server_log_never_contains_a_password() {
    // spec: SEC-6
    let dir = TempDir::new("acct-log");
    let data_dir = dir.arg();
    let mut server = ServerProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir,
        "--log",
        "trace",
    ]);
    let passwords = [
        "pw-registered-Q7x",
        "pw-wrong-guess-K2m",
        "pw-guest-with-password-Z9",
        "pw-unknown-account-R4d",
        "pw-second-account-W8c",
    ];
    let addr = server.addr;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let session = |mode, name: &'static str, password: &'static str| async move {
            let (mut client, _) = Client::connect(addr).await;
            client.hello().await;
            let answer = client.try_login(mode, name, password).await;
            client.quit().await;
            answer
        };
        assert!(session(LoginMode::Register, "hana", passwords[0])
            .await
            .is_ok());
        let wrong = session(LoginMode::Login, "hana", passwords[1]).await;
        assert_eq!(wrong.unwrap_err().code, ErrorCode::AUTH_FAILED);
        let guest = session(LoginMode::Guest, "ivan", passwords[2]).await;
        assert_eq!(guest.unwrap_err().code, ErrorCode::AUTH_FAILED);
        let unknown = session(LoginMode::Login, "nobody", passwords[3]).await;
        assert_eq!(unknown.unwrap_err().code, ErrorCode::AUTH_FAILED);
        assert!(session(LoginMode::Register, "jill", passwords[4])
            .await
            .is_ok());
        assert!(session(LoginMode::Login, "hana", passwords[0])
            .await
            .is_ok());
    });
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let log = server.log_text();
    // The log is not empty: the logins and failures were logged.
    assert!(log.contains("registered"), "{log}");
    assert!(log.contains("failed login"), "{log}");
    assert!(log.contains("hana"), "{log}");
    for password in passwords {
        assert!(
            !log.contains(password),
            "the log contains the password {password:?}:\n{log}"
        );
    }
}
