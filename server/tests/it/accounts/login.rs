//! Registration and password logins, and the rejections around them.

use super::*;

#[tokio::test]
async fn a_registered_name_logs_in_from_another_connection_with_its_password() {
    // spec: HANDSHAKE-6, HANDSHAKE-3, HANDSHAKE-5
    let (_dir, server) = stored_server("acct-login").await;
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
    let (_dir, server) = stored_server("acct-nfc").await;
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
    let (_dir, server) = stored_server("acct-slow").await;
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
    let (_dir, server) = stored_server("acct-refusals").await;
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
    for (name, password, code) in [
        ("carol", "other-pw", ErrorCode::ACCOUNT_EXISTS),
        ("dan", "", ErrorCode::AUTH_FAILED),
    ] {
        expect_rejected(&server, LoginMode::Register, name, password, code).await;
    }
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
