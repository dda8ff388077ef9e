//! Registered accounts (spec `[HANDSHAKE-6]`, `[SEC-6]`): registration,
//! login with a password, the rejections around them, the slow-down of
//! repeated failures, persistence, and what is never stored or logged.

use crate::common;

use std::path::Path;

use common::{login_frame, Client, ServerProcess, TempDir, TestServer};
use confab_protocol::frame::{Frame, Greeting, LoginMode, LoginRejected, Welcome};
use confab_protocol::ErrorCode;
use confab_server::Config;

mod login;
mod storage;

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

/// A server keeping accounts in a fresh directory named after `tag`; the
/// directory lives as long as the returned guard.
async fn stored_server(tag: &str) -> (TempDir, TestServer) {
    let dir = TempDir::new(tag);
    let server = TestServer::with(|c| *c = store_config(&dir)).await;
    (dir, server)
}

fn store_config(dir: &TempDir) -> Config {
    TestServer::persistent_config(dir.path())
}
