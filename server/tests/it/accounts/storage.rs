//! Accounts across restarts, and what the database and the log never hold.

use super::*;

#[tokio::test]
async fn accounts_survive_a_restart() {
    // spec: HANDSHAKE-6
    let (dir, server) = stored_server("acct-restart").await;
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
    let (dir, server) = stored_server("acct-hash").await;
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
