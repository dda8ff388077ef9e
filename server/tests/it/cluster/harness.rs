//! The cluster suites' harness: a real `redis-server` on an ephemeral
//! loopback port (stopped and restarted with its data, for outages), real
//! `confab-server` nodes on it, and logins that leave rooms out of it
//! (HELLO `NO_AUTO_JOIN`). Every wait is bounded. Without `redis-server`
//! the tests fail, saying so: CI installs it (`.ci/run`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use confab_protocol::frame::{Frame, Hello, LoginMode, LoginRejected, Welcome};

use crate::common::{login_frame, Client, ServerProcess, TempDir, PATIENCE};

/// How often a poll looks again.
pub const POLL: Duration = Duration::from_millis(50);

/// `redis-server` as a child process, its data (append-only file, fsync'd
/// at every write) in a temporary directory kept across restarts.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl RedisServer {
    /// Starts Redis on a free port (a few tries: another process may take
    /// the port between our look and Redis's bind).
    pub fn start() -> RedisServer {
        let dir = TempDir::new("redis");
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_port();
            match spawn_redis(port, &dir) {
                Ok(child) => {
                    return RedisServer {
                        child: Some(child),
                        port,
                        dir,
                    }
                }
                Err(why) => failures.push(why),
            }
        }
        panic!("redis-server did not start: {failures:#?}");
    }

    /// `redis://127.0.0.1:PORT`, for `--cluster`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A client of this Redis, for tests that look at its keys.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).unwrap()
    }

    /// SIGTERM, then waits (bounded) for the exit: the nodes lose it.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// SIGKILL, as a crash: what Redis acknowledged is on disk already
    /// (`appendfsync always`). `restart` brings it back.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts Redis again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        let mut failures = Vec::new();
        for _ in 0..5 {
            match spawn_redis(self.port, &self.dir) {
                Ok(child) => {
                    self.child = Some(child);
                    return;
                }
                Err(why) => failures.push(why),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "redis-server did not restart on port {}: {failures:#?}",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Runs redis-server on `port` with its files in `dir` and waits until it
/// answers PING; why not otherwise (the child is killed).
fn spawn_redis(port: u16, dir: &TempDir) -> Result<Child, String> {
    let spawned = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--dir", &dir.arg(), "--logfile", "redis.log"])
        .args(["--appendonly", "yes", "--appendfsync", "always"])
        .args(["--save", ""])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "redis-server is not installed, and the cluster tests need it \
             (apt-get install redis-server; CI installs it): {e}"
        ),
        Err(e) => panic!("cannot run redis-server: {e}"),
    };
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.path().join("redis.log")).unwrap_or_default();
            return Err(format!("exited ({status}) on port {port}:\n{log}"));
        }
        if pong(port) {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!("no PONG on port {port} within {PATIENCE:?}"))
}

/// Whether Redis on `port` answers PING now.
fn pong(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}

/// A `confab-server` node of the cluster on `redis`.
pub struct Node {
    process: ServerProcess,
    pub name: String,
}

impl Node {
    /// Runs the binary with `--cluster`, `--node-name name`, an ephemeral
    /// loopback port and `extra` args; returns once it listens.
    pub fn start(redis: &RedisServer, name: &str, extra: &[&str]) -> Node {
        let url = redis.url();
        let mut args = vec!["--cluster", &url, "--node-name", name];
        args.extend(["--listen", "127.0.0.1:0", "--log", "info"]);
        args.extend(extra);
        Node {
            process: ServerProcess::start(&args),
            name: name.to_string(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.process.addr
    }

    /// A crash: SIGKILL, no goodbye to anyone.
    pub fn kill_9(&mut self) {
        self.process.kill();
    }

    /// A graceful shutdown; waits (bounded) for the exit.
    pub fn sigterm(&mut self) -> ExitStatus {
        self.process.terminate()
    }

    /// What the node logged so far.
    pub fn log_text(&self) -> String {
        self.process.log_text()
    }
}

/// Connects to `addr`, says HELLO `NO_AUTO_JOIN` and LOGIN; the client
/// and its WELCOME, or the LOGIN_REJECTED.
pub async fn login(
    addr: SocketAddr,
    mode: LoginMode,
    name: &str,
    password: &str,
) -> Result<(Client, Welcome), LoginRejected> {
    let (mut client, _) = Client::connect(addr).await;
    client.name = name.to_string();
    client.hello_flags(Hello::NO_AUTO_JOIN).await;
    client.send(login_frame(mode, name, password)).await;
    for _ in 0..100 {
        let frame = client.recv().await;
        if client.answer_ping(&frame).await {
            continue;
        }
        return match frame {
            Frame::Welcome(welcome) => {
                client.name = welcome.username.to_string();
                Ok((client, welcome))
            }
            Frame::LoginRejected(rejected) => Err(rejected),
            other => panic!("{name}: expected WELCOME or LOGIN_REJECTED, got {other:?}"),
        };
    }
    panic!("{name}: only PINGs after LOGIN");
}

/// A guest login that must succeed.
pub async fn guest(addr: SocketAddr, name: &str) -> Client {
    match login(addr, LoginMode::Guest, name, "").await {
        Ok((client, _)) => client,
        Err(rejected) => panic!("guest {name} on {addr}: {rejected:?}"),
    }
}

/// Logs in with `mode` until it succeeds (a lease running out, a name
/// freed in the background, Redis coming back), failing the test after
/// `bound`; returns the client and how many attempts were refused, with
/// the last refusal.
pub async fn login_eventually(
    addr: SocketAddr,
    mode: LoginMode,
    name: &str,
    password: &str,
    bound: Duration,
) -> (Client, Welcome, Vec<LoginRejected>) {
    let deadline = Instant::now() + bound;
    let mut refused = Vec::new();
    loop {
        match login(addr, mode, name, password).await {
            Ok((client, welcome)) => return (client, welcome, refused),
            Err(rejected) => refused.push(rejected),
        }
        assert!(
            Instant::now() < deadline,
            "{name} could not log in on {addr} within {bound:?}; refusals: {refused:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A login that must be refused (`why` says why it should be); the refusal.
pub async fn refused(
    addr: SocketAddr,
    mode: LoginMode,
    name: &str,
    password: &str,
    why: &str,
) -> LoginRejected {
    match login(addr, mode, name, password).await {
        Ok((_, welcome)) => panic!("{name} on {addr} should be refused ({why}): {welcome:?}"),
        Err(rejected) => rejected,
    }
}
