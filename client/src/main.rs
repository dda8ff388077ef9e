//! `confab`: the chat client. Interactive terminal UI by default; plain line
//! mode with --plain or whenever stdin or stdout is not a terminal.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use confab_client::command::Account;
use confab_client::connection::{self, Backoff, Options};
use confab_client::format::TimeStyle;
use confab_client::{exit, plain, tui};
use confab_protocol::DEFAULT_PORT;

/// Confab chat client.
///
/// Exit codes: 0 after a clean goodbye, 1 when the connection is lost and not
/// resumed, 2 when the server cannot be reached, 3 when the --name (or its
/// password) is refused in plain mode, or the last name the server allowed.
#[derive(Debug, Parser)]
#[command(name = "confab", version, about)]
struct Args {
    /// Server address, host:port (the port defaults to 7667); or the nodes
    /// of a cluster as a comma-separated list, host1:port,host2:port,...:
    /// the client connects to the first and, whenever a connection is lost
    /// or a node leaves, to the next one, resuming its rooms.
    #[arg(default_value_t = format!("127.0.0.1:{DEFAULT_PORT}"))]
    server: String,

    /// Username; asked for interactively when missing (in plain mode the first
    /// line of input is the name).
    #[arg(long, short)]
    name: Option<String>,

    /// A room to join besides the server's default room; messages go there.
    #[arg(long, short)]
    room: Option<String>,

    /// Plain line mode: read lines from stdin, print one line per event.
    #[arg(long)]
    plain: bool,

    /// Show time stamps as ISO-8601 in UTC instead of local time.
    #[arg(long)]
    utc: bool,

    /// Do not reconnect when the connection is lost.
    #[arg(long)]
    no_reconnect: bool,

    /// First reconnection delay in milliseconds (doubles on each failure).
    #[arg(long, default_value_t = 500)]
    reconnect_initial_ms: u64,

    /// Longest reconnection delay in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    reconnect_max_ms: u64,

    /// At end of input (or /quit) with messages still queued and the server
    /// unreachable: seconds to keep trying before giving up (exit code 1).
    #[arg(long, default_value_t = 10)]
    drain_timeout_s: u64,

    /// Past messages to show when joining a room (default: 20 in the terminal
    /// UI, 0 in plain mode).
    #[arg(long)]
    history: Option<u16>,

    /// Log in to the registered account --name (password from CONFAB_PASSWORD,
    /// else asked for without echo).
    #[arg(long, requires = "name", conflicts_with = "register")]
    login: bool,

    /// Register --name as an account, then log in (password as for --login).
    #[arg(long, requires = "name")]
    register: bool,

    /// Connect with TLS; the server's certificate must be trusted by the
    /// system or by --ca.
    #[arg(long)]
    tls: bool,

    /// Terminal UI: do not ring the bell when someone mentions you.
    #[arg(long)]
    no_bell: bool,

    /// Terminal UI: capture the mouse (wheel scrolls the messages, but the
    /// terminal's own selection and URL clicks need Shift). Off by default.
    #[arg(long)]
    mouse: bool,

    /// A PEM file of extra trusted certificates (implies --tls), e.g. the
    /// cert.pem of `confab-server gen-cert`.
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
}

/// The account password: from CONFAB_PASSWORD, else typed without echo.
fn password_for(name: &str) -> Result<String, String> {
    if let Ok(password) = std::env::var("CONFAB_PASSWORD") {
        return Ok(password);
    }
    rpassword::prompt_password(format!("password for {name}: ")).map_err(|e| {
        format!("a password is needed: set CONFAB_PASSWORD or run on a terminal ({e})")
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Checked before anything else: a bad entry is named now, not met later.
    let tls_wanted = args.tls || args.ca.is_some();
    let addrs = match confab_client::address::parse_list(&args.server, tls_wanted) {
        Ok(addrs) => addrs,
        Err(e) => {
            eprintln!("confab: {e}");
            return ExitCode::from(exit::UNREACHABLE);
        }
    };
    let account = if args.login || args.register {
        match password_for(args.name.as_deref().unwrap_or_default()) {
            Ok(password) => Some(Account {
                register: args.register,
                password,
            }),
            Err(e) => {
                eprintln!("confab: {e}");
                return ExitCode::from(exit::NAME_REFUSED);
            }
        }
    } else {
        None
    };
    let tls = if tls_wanted {
        match confab_client::tls::connector(args.ca.as_deref()) {
            Ok(connector) => Some(std::sync::Arc::new(connector)),
            Err(e) => {
                eprintln!("confab: {e}");
                return ExitCode::from(exit::UNREACHABLE);
            }
        }
    } else {
        None
    };
    let encrypted = tls.is_some();
    let plain_mode =
        args.plain || !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("confab: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = Options {
        addrs,
        name: args.name.clone(),
        account,
        rooms: args.room.iter().cloned().collect(),
        reconnect: (!args.no_reconnect).then(|| Backoff {
            initial: Duration::from_millis(args.reconnect_initial_ms),
            max: Duration::from_millis(args.reconnect_max_ms.max(args.reconnect_initial_ms)),
        }),
        tls,
        join_history: args.history.unwrap_or(if plain_mode { 0 } else { 20 }),
        drain_timeout: Duration::from_secs(args.drain_timeout_s),
        // The terminal UI asks for another name after a refusal, also after
        // the server's last attempt; plain mode exits 3 instead.
        prompt_again: !plain_mode,
    };
    let code = runtime.block_on(async move {
        let handle = connection::spawn(options);
        if plain_mode {
            let time = if args.utc {
                TimeStyle::Utc
            } else {
                TimeStyle::Local
            };
            plain::run(
                handle,
                plain::PlainOptions {
                    time,
                    name_given: args.name.is_some(),
                    preferred_room: args.room,
                },
            )
            .await
        } else {
            let options = tui::Options {
                room: args.room,
                utc: args.utc,
                encrypted,
                no_bell: args.no_bell,
                mouse: args.mouse,
            };
            tui::run(handle, options).await
        }
    });
    // Not waiting for the blocking read of stdin: a session the server ended
    // (taken over, `[AUTH-4]`) exits now, not at the next line typed.
    runtime.shutdown_background();
    code
}
