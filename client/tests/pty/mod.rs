//! A real `confab` terminal UI in a real pseudo-terminal: the test writes
//! bytes as a user's terminal would, and reads the screen the program drew
//! through a terminal model (vt100), as a user would see it.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long any single wait on the screen may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;

struct Screen {
    parser: vt100::Parser,
    /// Set when the program closed the terminal (it exited).
    closed: bool,
}

/// `confab ARGS` running in a pty of `ROWS`×`COLS`.
pub struct PtyClient {
    child: Child,
    master: File,
    screen: Arc<(Mutex<Screen>, Condvar)>,
}

fn open_pty() -> (OwnedFd, OwnedFd) {
    let size = libc::winsize {
        ws_row: ROWS,
        ws_col: COLS,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two fresh descriptors into the out-parameters.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // Programs started by tests running in parallel must not inherit this
    // pty: a stray copy of the slave side would keep it open after our
    // program exits.
    for fd in [master, slave] {
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: both descriptors are open and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

impl PtyClient {
    pub fn spawn(args: &[&str]) -> PtyClient {
        let (master, slave) = open_pty();
        let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
        command
            .args(args)
            .env("TERM", "xterm-256color")
            .env_remove("CONFAB_PASSWORD")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec. The
        // pty becomes the child's controlling terminal, as in a real session.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("the confab binary runs");
        drop(command); // closes the parent's copies of the slave side
        let master = File::from(master);
        let screen = Arc::new((
            Mutex::new(Screen {
                parser: vt100::Parser::new(ROWS.try_into().unwrap(), COLS.try_into().unwrap(), 0),
                closed: false,
            }),
            Condvar::new(),
        ));
        let mut reader = master.try_clone().unwrap();
        let shared = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            loop {
                let n = reader.read(&mut buffer).unwrap_or(0);
                let (lock, changed) = &*shared;
                let mut screen = lock.lock().unwrap();
                if n == 0 {
                    screen.closed = true;
                } else {
                    screen.parser.process(&buffer[..n]);
                }
                changed.notify_all();
                if n == 0 {
                    break;
                }
            }
        });
        PtyClient {
            child,
            master,
            screen,
        }
    }

    /// Bytes as the terminal sends them for keys typed or pasted.
    pub fn write(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
        self.master.flush().unwrap();
    }

    /// The screen's text, row by row.
    pub fn contents(&self) -> String {
        self.screen.0.lock().unwrap().parser.screen().contents()
    }

    /// Waits until the screen satisfies `wanted`; returns its text then.
    pub fn wait_for(&self, what: &str, wanted: impl Fn(&vt100::Screen) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        let (lock, changed) = &*self.screen;
        let mut screen = lock.lock().unwrap();
        loop {
            if wanted(screen.parser.screen()) {
                return screen.parser.screen().contents();
            }
            let now = Instant::now();
            assert!(
                now < deadline && !screen.closed,
                "{what}: not seen (closed: {}); the screen:\n{}",
                screen.closed,
                screen.parser.screen().contents()
            );
            screen = changed.wait_timeout(screen, deadline - now).unwrap().0;
        }
    }

    /// Waits until the screen shows `text` somewhere.
    pub fn wait_for_text(&self, text: &str) -> String {
        self.wait_for(text, |s| s.contents().contains(text))
    }

    /// Waits (bounded) for the program to exit; its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + PATIENCE;
        let (lock, changed) = &*self.screen;
        let mut screen = lock.lock().unwrap();
        // The terminal closes when the program (its only user) exits.
        while !screen.closed {
            let now = Instant::now();
            assert!(now < deadline, "the program did not exit");
            screen = changed.wait_timeout(screen, deadline - now).unwrap().0;
        }
        drop(screen);
        self.child.wait().ok().and_then(|status| status.code())
    }
}

impl Drop for PtyClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain `bob` in `room` (lobby, the server's default room, when `None`),
/// and once he is in, `alice` in the terminal UI with the same rooms. Call
/// it inside `runtime`'s context (`runtime.enter()`): bob's process needs it.
pub fn plain_bob_then_alice(
    runtime: &tokio::runtime::Runtime,
    addr: &str,
    room: Option<&str>,
) -> (crate::support::PlainClient, PtyClient) {
    let rooms: Vec<&str> = room.map_or(Vec::new(), |room| vec!["--room", room]);
    let mut bob =
        crate::support::PlainClient::spawn(addr, &[&["--name", "bob"], &rooms[..]].concat(), "bob");
    let joined = format!("*** joined {}", room.unwrap_or("lobby"));
    runtime.block_on(bob.until(|l| l.starts_with(&joined)));
    let alice = PtyClient::spawn(&[&[addr, "--name", "alice"], &rooms[..]].concat());
    (bob, alice)
}
