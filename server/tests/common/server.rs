//! The server under test in this process: `confab_server::run` on an
//! ephemeral loopback port, and a record of panics in server code (tokio
//! catches them in connection tasks, so they would not fail a test alone).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Mutex, Once};

use confab_server::Config;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::PATIENCE;

pub struct TestServer {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<Result<(), confab_server::StartError>>,
}

impl TestServer {
    /// `confab_server::run` on 127.0.0.1 with an ephemeral port; panics in
    /// server code are recorded from now on (see `finish`).
    pub async fn start(config: Config) -> TestServer {
        watch_server_panics();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
        TestServer {
            addr,
            shutdown,
            handle,
        }
    }

    /// Starts a server with `TestServer::config()` changed by `tweak`.
    pub async fn with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = TestServer::config();
        tweak(&mut config);
        TestServer::start(config).await
    }

    /// Defaults with rate limits high enough for scripted bursts.
    pub fn config() -> Config {
        TestServer::config_with_rate(100_000)
    }

    /// Defaults (in memory) allowing `messages` a second, as many at once,
    /// and a thousand bytes for each of them. Passwords of any length: the
    /// suites' short passwords are not what they test (`[AUTH-3]` has its own).
    pub fn config_with_rate(messages: u32) -> Config {
        Config {
            min_password_length: 1,
            msg_rate: messages,
            msg_burst: messages,
            byte_rate: messages * 1_000,
            byte_burst: messages * 1_000,
            ..Config::default()
        }
    }

    /// `TestServer::config()` with the durable store in `dir`.
    pub fn persistent_config(dir: &Path) -> Config {
        Config {
            in_memory: false,
            data_dir: dir.to_path_buf(),
            ..TestServer::config()
        }
    }

    /// Shuts the server down (bounded) and checks that it returned `Ok`.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.handle)
            .await
            .expect("the server stops within its grace period")
            .expect("the server task did not panic")
            .expect("the server returned Ok");
    }

    /// Stops the server and checks that it returned `Ok` and never panicked.
    pub async fn finish(self) {
        self.stop().await;
        assert_no_server_panic();
    }
}

/// Locations of panics raised in server or protocol code while tests ran.
static SERVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static PANIC_HOOK: Once = Once::new();

/// Records every panic whose location is in the server's or the protocol
/// crate's sources (a panic in a connection task does not fail a test by
/// itself: tokio catches it), then runs the default hook.
pub fn watch_server_panics() {
    PANIC_HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(location) = info.location() {
                let file = location.file();
                if file.contains("server/src") || file.contains("protocol/src") {
                    let mut panics = SERVER_PANICS.lock().unwrap_or_else(|e| e.into_inner());
                    panics.push(format!("{location}: {info}"));
                }
            }
            default(info);
        }));
    });
}

/// Fails if any server or protocol code panicked so far in this test binary.
pub fn assert_no_server_panic() {
    let panics = SERVER_PANICS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(panics.is_empty(), "the server panicked: {panics:?}");
}
/// Defaults (in memory) with rate limits far above anything scripted.
pub fn fast_config() -> Config {
    TestServer::config_with_rate(1_000_000)
}
