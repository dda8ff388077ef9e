//! Accounts in 1.2 over real sockets: a registration's password has at
//! least `min_password` characters, advertised in LIMITS (`[AUTH-3]`); a
//! login with the right password takes the account's session over, the
//! older one ending with GOODBYE `TAKEN_OVER` and leaving its rooms before
//! the newer one joins (`[AUTH-4]`).

use confab_protocol::frame::{Frame, LoginMode, PresenceEvent};
use confab_protocol::ErrorCode;
use confab_server::Config;

use crate::common::{expect_presence, Client, TempDir, TestServer};

const PASSWORD: &str = "a long enough password";

/// A server with accounts in `dir` and the default password minimum.
fn accounts(dir: &TempDir) -> Config {
    Config {
        min_password_length: Config::default().min_password_length,
        ..TestServer::persistent_config(dir.path())
    }
}

async fn hello(server: &TestServer) -> Client {
    let (mut client, _) = Client::connect(server.addr).await;
    client.hello().await;
    client
}

#[tokio::test]
async fn a_short_password_is_refused_with_the_minimum_advertised() {
    // spec: AUTH-3
    let dir = TempDir::new("takeover-short");
    let server = TestServer::with(|c| *c = accounts(&dir)).await;
    let mut client = hello(&server).await;
    let limits = client.limits.clone().expect("LIMITS after the GREETING");
    assert_eq!(limits.min_password(), Some(8), "the default, advertised");

    let rejected = client
        .try_login(LoginMode::Register, "dan", "1234567")
        .await
        .expect_err("seven characters are too few");
    assert_eq!(rejected.code, ErrorCode::PASSWORD_TOO_SHORT, "{rejected:?}");
    assert!(
        rejected.message.contains('8'),
        "says the minimum: {rejected:?}"
    );
    // Characters, not bytes: eight accented letters are enough.
    let welcome = client
        .try_login(LoginMode::Register, "dan", "éééééééé")
        .await
        .expect("eight characters are enough");
    assert_eq!(welcome.username, "dan");
    client.quit().await;
    server.stop().await;

    // A server without accounts has no minimum to advertise.
    let server = TestServer::with(|_| {}).await;
    let client = hello(&server).await;
    let limits = client.limits.clone().expect("LIMITS after the GREETING");
    assert_eq!(limits.min_password(), None);
    assert!(limits.queue_bytes().is_some());
    server.stop().await;
}

#[tokio::test]
async fn a_login_with_the_password_takes_the_session_over() {
    // spec: AUTH-4, HANDSHAKE-5
    let dir = TempDir::new("takeover-login");
    let server = TestServer::with(|c| *c = accounts(&dir)).await;
    let (mut older, _) =
        Client::login_account(server.addr, LoginMode::Register, "alice", PASSWORD).await;
    let mut watcher = Client::login(server.addr, "bob").await;

    let (mut newer, welcome) =
        Client::login_account(server.addr, LoginMode::Login, "alice", PASSWORD).await;
    assert_eq!(welcome.username, "alice");

    let (frames, _) = older.read_to_end().await;
    let goodbye = frames
        .iter()
        .find_map(|frame| match frame {
            Frame::Goodbye(goodbye) => Some(goodbye),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no GOODBYE in {frames:?}"));
    assert_eq!(goodbye.reason, ErrorCode::TAKEN_OVER);
    assert!(
        goodbye.message.contains("took this session over"),
        "{goodbye:?}"
    );

    // The older session leaves, then the newer one joins.
    expect_presence(&mut watcher, PresenceEvent::Disconnected, "lobby", "alice").await;
    expect_presence(&mut watcher, PresenceEvent::Joined, "lobby", "alice").await;
    // And the newer session is the account's: it chats.
    crate::common::chat_works(&mut newer, &mut watcher, "lobby", "I am back").await;
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_password_or_a_guest_takes_nothing_over() {
    // spec: AUTH-4, AUTH-1
    let dir = TempDir::new("takeover-wrong");
    let server = TestServer::with(|c| *c = accounts(&dir)).await;
    let (mut owner, _) =
        Client::login_account(server.addr, LoginMode::Register, "carol", PASSWORD).await;

    let mut guesser = hello(&server).await;
    let rejected = guesser
        .try_login(LoginMode::Login, "carol", "not the password")
        .await
        .expect_err("a wrong password");
    assert_eq!(rejected.code, ErrorCode::AUTH_FAILED);
    let mut guest = hello(&server).await;
    let rejected = guest
        .try_login(LoginMode::Guest, "carol", "")
        .await
        .expect_err("a guest");
    assert_eq!(rejected.code, ErrorCode::ACCOUNT_REQUIRED);

    // The owner's session goes on.
    let mut friend = Client::login(server.addr, "dave").await;
    crate::common::chat_works(&mut owner, &mut friend, "lobby", "still here").await;
    server.stop().await;
}
