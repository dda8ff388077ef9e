//! The database file itself: helpers that read and write it directly,
//! migration of an older schema, and data directories refused at start-up.

use super::direct::dm_round_trip;
use super::*;

pub(super) fn open_db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("confab.sqlite3")).unwrap()
}

pub(super) fn user_version(conn: &rusqlite::Connection) -> u32 {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

pub(super) fn insert_message(
    conn: &rusqlite::Connection,
    id: u64,
    room: &str,
    seq: u64,
    time: u64,
    sender: &str,
    body: &str,
) {
    conn.execute(
        "INSERT INTO messages (id, room_key, room, seq, time, sender, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![id as i64, name_key(room), room, seq as i64, time as i64, sender, body],
    )
    .unwrap();
}

pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_is_migrated_and_keeps_its_messages_and_accounts() {
    // spec: HISTORY-1, HISTORY-4, HANDSHAKE-6, ROOM-2, MSG-3, MSG-4, HISTORY-2
    let dir = TempDir::new("migrate");
    let then = now_ms() - 60_000;
    {
        let mut conn = open_db(dir.path());
        assert_eq!(schema::migrate_to(&mut conn, 1).unwrap(), 1);
        assert_eq!(user_version(&conn), 1);
        for seq in 1..=3 {
            insert_message(
                &conn,
                100 + seq,
                "Archive",
                seq,
                then + seq,
                "olduser",
                &format!("old {seq}"),
            );
        }
        conn.execute(
            "INSERT INTO accounts (name_key, name, hash, created) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![
                name_key("olduser"),
                "olduser",
                accounts::hash("old-password").unwrap(),
                then as i64
            ],
        )
        .unwrap();
    }
    let server = TestServer::start(TestServer::persistent_config(dir.path())).await;
    let (mut old, welcome) =
        Client::login_account(server.addr, LoginMode::Login, "olduser", "old-password").await;
    assert_eq!(welcome.flags & Welcome::REGISTERED, Welcome::REGISTERED);
    {
        let conn = open_db(dir.path());
        assert_eq!(user_version(&conn), schema::CURRENT, "migrated on start-up");
        let direct: i64 = conn
            .query_row("SELECT COUNT(*) FROM direct_messages", [], |row| row.get(0))
            .unwrap();
        assert_eq!(direct, 0);
    }

    // The old messages are history, replayed and readable.
    let (joined, replay, _) = join_full(&mut old, "archive", 0, 10).await;
    assert_eq!(joined.next_seq, 4);
    assert_eq!(joined.room, "Archive", "the stored spelling of the room");
    assert_eq!(
        replay
            .iter()
            .map(|m| (m.id, m.seq, m.time, m.body.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (101, 1, then + 1, "old 1"),
            (102, 2, then + 2, "old 2"),
            (103, 3, then + 3, "old 3")
        ]
    );
    let stored = read_all_history(&mut old, "archive", 2).await;
    assert_eq!(stored, replay);
    let client_ref = old.say("archive", "new after migration").await;
    let ack = old.expect_ack(client_ref).await;
    assert_eq!(ack.seq, 4);
    assert!(ack.id > 103, "{ack:?}");

    // The old account's name is protected; the new direct-message table works.
    let (mut impostor, _) = Client::connect(server.addr).await;
    impostor.hello().await;
    let rejected = impostor
        .try_login(LoginMode::Guest, "olduser", "")
        .await
        .expect_err("a guest may not take a registered name");
    assert_eq!(rejected.code, ErrorCode::ACCOUNT_REQUIRED);
    let mut visitor = Client::login(server.addr, "visitor").await;
    let sent = dm_round_trip(&mut old, &mut visitor, "hello from the past").await;
    let (seen, _) = direct_history(&mut old, "visitor", Direction::After, 0, 0).await;
    assert_eq!(seen, vec![sent]);
    drop((old, impostor, visitor));
    server.stop().await;
}

/// `confab_server::run` on `data_dir` must fail with a message containing
/// every one of `words`, and so must the binary (non-zero exit, message on
/// stderr, no panic).
async fn refuses_to_start(data_dir: &Path, words: &[&str]) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        in_memory: false,
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    let result = tokio::time::timeout(
        PATIENCE,
        confab_server::run(listener, config, tokio_util::sync::CancellationToken::new()),
    )
    .await
    .expect("run returns at once");
    let error = result.expect_err("the server must not start on this data directory");
    for word in words {
        assert!(
            error.to_string().contains(word),
            "run's error {error:?} should mention {word:?}"
        );
    }
    let dir_arg = data_dir.to_str().unwrap();
    let (status, stderr) = run_binary_to_exit(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir_arg,
        "--log",
        "info",
    ]);
    assert!(!status.success(), "exit status {status:?}; stderr {stderr}");
    assert!(
        !stderr.contains("panicked"),
        "the binary panicked instead of reporting: {stderr}"
    );
    for word in words {
        assert!(
            stderr.contains(word),
            "stderr {stderr:?} should mention {word:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_data_directories_are_refused_at_start_up_with_a_clear_error() {
    // spec: HISTORY-4
    // A database from a newer server.
    let newer = TempDir::new("newer-schema");
    {
        let mut conn = open_db(newer.path());
        schema::migrate(&mut conn).unwrap();
        conn.pragma_update(None, "user_version", schema::CURRENT + 1)
            .unwrap();
    }
    refuses_to_start(
        newer.path(),
        &[
            "schema version",
            &(schema::CURRENT + 1).to_string(),
            "newer",
        ],
    )
    .await;
    assert_eq!(
        user_version(&open_db(newer.path())),
        schema::CURRENT + 1,
        "left as it was"
    );

    // A file that is not a database.
    let corrupt = TempDir::new("corrupt");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let garbage: Vec<u8> = (0..16_384)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    let file = corrupt.path().join("confab.sqlite3");
    std::fs::write(&file, &garbage).unwrap();
    refuses_to_start(corrupt.path(), &["confab.sqlite3", "not a database"]).await;
    assert_eq!(
        std::fs::read(&file).unwrap(),
        garbage,
        "the server must not overwrite a file it cannot read"
    );

    // A data directory that cannot be created (a regular file is in the way).
    let blocked = TempDir::new("unwritable");
    let blocker = blocked.path().join("not-a-directory");
    std::fs::write(&blocker, b"a regular file").unwrap();
    refuses_to_start(
        &blocker.join("data"),
        &["data directory", "not-a-directory"],
    )
    .await;
}
