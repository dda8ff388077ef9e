//! A real cluster for the client's end-to-end tests: one `redis-server` on
//! an ephemeral loopback port (`appendfsync always`, as a cluster is meant to
//! run) and in-process `confab-server` nodes on it.
//!
//! Included by path (`#[path = "support/real_cluster.rs"]`) from the tests
//! that need Redis, so the other test binaries neither build nor need it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long Redis may take to answer PING after it was started.
const REDIS_START: Duration = Duration::from_secs(10);

/// How long a node may take to stop after its shutdown token is cancelled.
const NODE_STOP: Duration = Duration::from_secs(15);

/// A `redis-server` process with a directory of its own; killed and its
/// directory removed on drop.
pub struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    /// Starts one; fails the test, saying so, when `redis-server` is missing.
    pub fn start(tag: &str) -> Redis {
        for attempt in 0..5 {
            // A port the OS just handed out, given up for Redis to take:
            // another process may take it first, hence the retries.
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let dir = std::env::temp_dir().join(format!(
                "confab-client-redis-{tag}-{}-{attempt}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .arg("--dir")
                .arg(&dir)
                .args(["--appendonly", "yes", "--appendfsync", "always"])
                .args(["--save", "", "--protected-mode", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "redis-server must be installed for the cluster tests \
                         (apt-get install redis-server): {e}"
                    )
                });
            let mut redis = Redis { child, port, dir };
            if redis.answers() {
                return redis;
            }
        }
        panic!("redis-server did not start on a free loopback port in 5 tries");
    }

    /// True once Redis answers PING within `REDIS_START`; false if it exited
    /// (its port was taken meanwhile) or never answered.
    fn answers(&mut self) -> bool {
        let deadline = Instant::now() + REDIS_START;
        while Instant::now() < deadline {
            if self.ping() {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            // Polling a condition with a deadline: Redis has no readiness signal.
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// One inline `PING`, answered `+PONG`.
    fn ping(&self) -> bool {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An in-process `confab-server` node of the cluster on `Redis`, listening
/// on an ephemeral loopback port.
pub struct Node {
    pub addr: String,
    pub name: String,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), confab_server::StartError>>,
}

impl Node {
    /// A node named `name` on `redis`, with rate limits too high for a
    /// scripted burst to meet.
    pub async fn start(redis: &Redis, name: &str) -> Node {
        Node::start_at(redis.url(), name).await
    }

    /// A node named `name` on the Redis at `url` (e.g. a `slow_link`).
    pub async fn start_at(url: String, name: &str) -> Node {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let config = confab_server::Config {
            cluster: Some(url),
            node_name: Some(name.to_string()),
            msg_rate: 100_000,
            msg_burst: 100_000,
            byte_rate: 100_000_000,
            byte_burst: 100_000_000,
            ..confab_server::Config::default()
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
        Node {
            addr,
            name: name.to_string(),
            shutdown,
            task,
        }
    }

    /// Shuts the node down as an operator would (its clients get GOODBYE
    /// NODE_LEAVING) and waits, bounded, until it has returned `Ok`.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(NODE_STOP, self.task)
            .await
            .unwrap_or_else(|_| panic!("node {} did not stop in time", self.name))
            .expect("the node's task did not panic")
            .unwrap_or_else(|e| panic!("node {} failed: {e}", self.name));
    }
}

/// A loopback TCP relay to Redis that holds each chunk a node sends for
/// `delay` before passing it on: a node behind it reaches Redis, slowly
/// (a distant link, not an outage). Relays until the test's runtime ends.
pub async fn slow_link(redis: &Redis, delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}/", listener.local_addr().unwrap());
    let upstream = format!("127.0.0.1:{}", redis.port);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                continue;
            };
            tokio::spawn(relay(client, server, delay));
        }
    });
    url
}

async fn relay(client: tokio::net::TcpStream, server: tokio::net::TcpStream, delay: Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut from_node, mut to_node) = client.into_split();
    let (mut from_redis, mut to_redis) = server.into_split();
    let requests = async {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n @ 1..) = from_node.read(&mut buf).await {
            // The injected latency of the link, not a wait for anything.
            tokio::time::sleep(delay).await;
            if to_redis.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let replies = async {
        let _ = tokio::io::copy(&mut from_redis, &mut to_node).await;
    };
    tokio::join!(requests, replies);
}
