//! Accounts across nodes: registered on one node, they log in on every
//! other, and their names are refused to guests everywhere
//! (`[CLUSTER-1]`); a takeover works on the node that holds the session,
//! not across nodes (`[AUTH-4]`, `[CLUSTER-5]`).

use std::time::Duration;

use confab_protocol::frame::{Frame, LoginMode, Welcome};
use confab_protocol::ErrorCode;

use super::harness::{login, login_eventually, refused, Node, RedisServer};

const PASSWORD: &str = "correct horse battery";

/// Well past a freed name's background release on a busy machine.
const RELEASE_BOUND: Duration = Duration::from_secs(20);

#[tokio::test]
async fn an_account_registered_on_one_node_is_known_on_every_node() {
    // spec: CLUSTER-1, HANDSHAKE-6
    let redis = RedisServer::start();
    let a = Node::start(&redis, "a", &[]);
    let b = Node::start(&redis, "b", &[]);
    let c = Node::start(&redis, "c", &[]);

    let (on_a, welcome) = login(a.addr(), LoginMode::Register, "Grace", PASSWORD)
        .await
        .expect("registered on node a");
    assert_ne!(welcome.flags & Welcome::REGISTERED, 0);
    on_a.quit().await;

    // Typed in another case on node b: the registered spelling (NAMES-1).
    let (on_b, welcome, _) =
        login_eventually(b.addr(), LoginMode::Login, "grace", PASSWORD, RELEASE_BOUND).await;
    assert_eq!(welcome.username, "Grace");
    assert_ne!(welcome.flags & Welcome::REGISTERED, 0);

    let wrong = refused(
        c.addr(),
        LoginMode::Login,
        "Grace",
        "not the password",
        "wrong password",
    )
    .await;
    assert_eq!(wrong.code, ErrorCode::AUTH_FAILED, "{wrong:?}");
    let rejected = refused(c.addr(), LoginMode::Guest, "GRACE", "", "a registered name").await;
    assert_eq!(rejected.code, ErrorCode::ACCOUNT_REQUIRED, "{rejected:?}");
    on_b.quit().await;

    // Registering it again on any node is refused once its name is free.
    let mut refused = None;
    for _ in 0..400 {
        match login(c.addr(), LoginMode::Register, "grace", PASSWORD).await {
            Err(r) if r.code == ErrorCode::NAME_TAKEN => {
                tokio::time::sleep(super::harness::POLL).await
            }
            other => {
                refused = Some(other.map(|_| ()));
                break;
            }
        }
    }
    let refused = refused
        .expect("grace's name freed")
        .expect_err("registered already");
    assert_eq!(refused.code, ErrorCode::ACCOUNT_EXISTS, "{refused:?}");
}

#[tokio::test]
async fn a_takeover_works_on_the_holders_node_only() {
    // spec: AUTH-4, CLUSTER-5
    let redis = RedisServer::start();
    let a = Node::start(&redis, "a", &[]);
    let b = Node::start(&redis, "b", &[]);
    let (first, _) = login(a.addr(), LoginMode::Register, "heidi", PASSWORD)
        .await
        .expect("registered on node a");

    // On another node: the name is taken, the session on node a stays.
    let rejected = refused(
        b.addr(),
        LoginMode::Login,
        "heidi",
        PASSWORD,
        "held on node a",
    )
    .await;
    assert_eq!(rejected.code, ErrorCode::NAME_TAKEN, "{rejected:?}");

    // On node a: the new login takes the session over, in Redis too.
    let mut first = first;
    let (second, welcome) = login(a.addr(), LoginMode::Login, "heidi", PASSWORD)
        .await
        .expect("taken over on node a");
    assert_eq!(welcome.username, "heidi");
    let (frames, _) = first.read_to_end().await;
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, Frame::Goodbye(g) if g.reason == ErrorCode::TAKEN_OVER)),
        "the older session ends TAKEN_OVER: {frames:?}"
    );
    let rejected = refused(b.addr(), LoginMode::Guest, "heidi", "", "a registered name").await;
    assert_eq!(rejected.code, ErrorCode::ACCOUNT_REQUIRED, "{rejected:?}");
    let rejected = refused(
        b.addr(),
        LoginMode::Login,
        "heidi",
        PASSWORD,
        "still held on node a, by the newer session",
    )
    .await;
    assert_eq!(rejected.code, ErrorCode::NAME_TAKEN, "{rejected:?}");
    second.quit().await;
}
