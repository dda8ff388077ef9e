//! Temporary data directories, and the real `confab-server` binary as a
//! child process (its stderr read into a log, every wait bounded).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use super::{unique_name, PATIENCE};

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(unique_name(&format!(
            "confab-test-{label}-{}-{nanos}-",
            std::process::id()
        )));
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path` as a string, for command lines.
    pub fn arg(&self) -> String {
        self.path.to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The `confab-server` binary running as a child process, its stderr read
/// line by line into a log (so the pipe never fills).
pub struct ServerProcess {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: std::sync::Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// How long the binary gets to start listening or to exit.
pub const PROCESS_PATIENCE: Duration = Duration::from_secs(10);

fn server_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_confab-server"));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` to exit, at most `PROCESS_PATIENCE`; kills it and
/// fails the test when it does not.
fn wait_bounded(mut child: Child, what: &str) -> ExitStatus {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(PROCESS_PATIENCE) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("confab-server (pid {pid}) did not exit within {PROCESS_PATIENCE:?} {what}");
        }
    }
}

impl ServerProcess {
    /// Starts the binary with `args` (which should include `--listen
    /// 127.0.0.1:0`) and waits for its "listening on" log line.
    pub fn start(args: &[&str]) -> ServerProcess {
        ServerProcess::start_command(server_command(args))
    }

    /// `start`, in a shell that first sets the file descriptor limit
    /// (soft and hard) to `nofile`.
    pub fn start_with_nofile(args: &[&str], nofile: u32) -> ServerProcess {
        let mut command = server_command(args);
        let program = command.get_program().to_owned();
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
            .arg(program)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command = shell;
        ServerProcess::start_command(command)
    }

    fn start_command(mut command: Command) -> ServerProcess {
        use std::io::BufRead;
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let lines = std::sync::Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            let mut announced = false;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !announced {
                    if let Some(addr) = line
                        .split("listening on ")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                        .and_then(|addr| addr.parse().ok())
                    {
                        announced = true;
                        let _ = tx.send(addr);
                    }
                }
                lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let mut process = ServerProcess {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            reader: Some(reader),
        };
        match rx.recv_timeout(PROCESS_PATIENCE) {
            Ok(addr) => process.addr = addr,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let status = process.kill();
                panic!(
                    "confab-server exited ({status:?}) before listening:\n{}",
                    process.log_text()
                );
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                process.kill();
                panic!(
                    "confab-server did not listen within {PROCESS_PATIENCE:?}:\n{}",
                    process.log_text()
                );
            }
        }
        process
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL (`Child::kill`), then waits for the exit and the end of stderr.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        let status = wait_bounded(child, "after SIGKILL");
        self.join_reader();
        Some(status)
    }

    /// SIGTERM, then waits (bounded) for a graceful exit and the end of stderr.
    pub fn terminate(&mut self) -> ExitStatus {
        let child = self.child.take().expect("the server is running");
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM failed: {sent:?}");
        let status = wait_bounded(child, "after SIGTERM");
        self.join_reader();
        status
    }

    fn join_reader(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// Everything the server logged so far.
    pub fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// The log once it holds `needle` (the reader thread appends lines as
    /// the process writes them), or as it is after `PATIENCE`.
    pub fn log_text_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let log = self.log_text();
            if log.contains(needle) || std::time::Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the binary with `args` until it exits by itself (bounded); returns
/// its exit status and everything it wrote to stderr.
pub fn run_binary_to_exit(args: &[&str]) -> (ExitStatus, String) {
    use std::io::Read;
    let mut child = server_command(args).spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    match rx.recv_timeout(PROCESS_PATIENCE) {
        Ok(text) => (wait_bounded(child, "after closing stderr"), text),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("confab-server {args:?} kept running; it should have exited");
        }
    }
}
