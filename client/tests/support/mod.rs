//! The harness shared by the end-to-end tests: a real `confab --plain`
//! process, fed lines on stdin and read line by line on stdout, and a real
//! server that keeps accounts.
//!
//! Each test file compiles its own copy of this module and uses only part of
//! it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio_util::sync::CancellationToken;

/// How long any single wait on a client may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// What becomes of the client's stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stderr {
    /// Thrown away; `finish` reports it as empty.
    #[default]
    Discard,
    /// Collected and returned by `finish`.
    Capture,
}

/// Launch options beyond the address, arguments and name.
#[derive(Clone, Copy, Debug, Default)]
pub struct Launch<'a> {
    /// Extra environment variables (`CONFAB_PASSWORD` is removed otherwise).
    pub env: &'a [(&'a str, &'a str)],
    pub stderr: Stderr,
}

/// A `confab <addr> --plain <args>` process.
pub struct PlainClient {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Option<ChildStderr>,
    seen: Vec<String>,
}

impl PlainClient {
    /// A client with no extra environment and stderr discarded.
    pub fn spawn(addr: &str, args: &[&str], name: &str) -> PlainClient {
        Self::spawn_with(addr, args, name, Launch::default())
    }

    pub fn spawn_with(addr: &str, args: &[&str], name: &str, launch: Launch<'_>) -> PlainClient {
        let stderr = match launch.stderr {
            Stderr::Discard => Stdio::null(),
            Stderr::Capture => Stdio::piped(),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_confab"))
            .env_remove("CONFAB_PASSWORD")
            .envs(launch.env.iter().copied())
            .arg(addr)
            .arg("--plain")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("the confab binary runs");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let stderr = child.stderr.take();
        PlainClient {
            name: name.to_string(),
            child,
            stdin,
            stdout,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Types `text` and Enter.
    pub async fn line(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(format!("{text}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// The first output line, already seen or still to come, that satisfies `wanted`.
    pub async fn until(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        if let Some(line) = self.seen.iter().find(|l| wanted(l)) {
            return line.clone();
        }
        let name = self.name.clone();
        let seen = &mut self.seen;
        let stdout = &mut self.stdout;
        tokio::time::timeout(PATIENCE, async {
            loop {
                let line = stdout
                    .next_line()
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("{name}: output ended; saw {seen:?}"));
                seen.push(line.clone());
                if wanted(&line) {
                    return line;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{}: expected line not seen; saw {:?}", self.name, self.seen))
    }

    /// Closes stdin and waits (bounded) for the exit; returns the exit code,
    /// every stdout line and stderr (empty unless captured).
    pub async fn finish(mut self) -> (i32, Vec<String>, String) {
        drop(self.stdin.take());
        self.exit().await
    }

    /// Waits (bounded) for the client to exit by itself, stdin still open;
    /// returns what `finish` returns.
    pub async fn exit(mut self) -> (i32, Vec<String>, String) {
        let stderr = self.stderr.take();
        let rest = tokio::time::timeout(PATIENCE, async {
            let mut lines = Vec::new();
            while let Ok(Some(line)) = self.stdout.next_line().await {
                lines.push(line);
            }
            let mut text = String::new();
            if let Some(mut stderr) = stderr {
                let _ = stderr.read_to_string(&mut text).await;
            }
            (lines, text)
        })
        .await
        .unwrap_or_else(|_| panic!("{}: output did not end", self.name));
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{}: did not exit", self.name))
            .unwrap();
        self.seen.extend(rest.0);
        (status.code().unwrap_or(-1), self.seen, rest.1)
    }
}

/// The bodies of `name`'s messages among a plain client's output lines.
pub fn bodies_from<'a>(seen: &'a [String], name: &str) -> Vec<&'a str> {
    let marker = format!("] {name}: ");
    seen.iter()
        .filter_map(|l| l.split_once(&marker).map(|(_, body)| body))
        .collect()
}

/// A real server on 127.0.0.1 that keeps accounts, in a fresh data
/// directory of its own (named after `tag` and this process).
pub struct StoredServer {
    pub addr: String,
    data_dir: std::path::PathBuf,
    shutdown: CancellationToken,
}

impl StoredServer {
    pub async fn start(tag: &str) -> Self {
        let data_dir =
            std::env::temp_dir().join(format!("confab-client-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let shutdown = CancellationToken::new();
        let config = confab_server::Config {
            in_memory: false,
            data_dir: data_dir.clone(),
            ..confab_server::Config::default()
        };
        tokio::spawn(confab_server::run(listener, config, shutdown.clone()));
        Self {
            addr,
            data_dir,
            shutdown,
        }
    }

    /// Stops the server and removes its data directory.
    pub fn stop(self) {
        self.shutdown.cancel();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
