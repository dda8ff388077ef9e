//! Server configuration: the command line (clap), the configuration file that
//! may stand in for it (`file`, keys read from the same definition by
//! `schema`, example by `example`), and the limits it advertises.

mod derived;
mod example;
mod file;
mod schema;
#[cfg(test)]
mod tests;

pub use derived::FramesDoNotFit;

pub use example::example;
pub use file::{load, resolve, summary, FileError, FileSettings, Problem, ProblemKind, StartError};

use std::net::SocketAddr;

use clap::Parser;

pub use crate::store::SyncMode;
use confab_protocol::{Limits, DEFAULT_PORT};

/// Confab chat server: many users chat through it over TCP.
///
/// Starts with built-in defaults and no config file: `confab-server` listens
/// on 127.0.0.1:7667. Every limit below is advertised to clients in the
/// GREETING frame (spec/PROTOCOL.md, section 16).
#[derive(Debug, Clone, Parser)]
#[command(name = "confab-server", version, about, long_about = None)]
pub struct Config {
    #[command(subcommand)]
    pub command: Option<ServerCommand>,

    /// Read settings from this TOML file: keys are the long flag names
    /// (`max-connections = 10000`), and flags given here override it.
    /// `confab-server config-example` writes one with every setting.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,

    /// Address to listen on. Use 0.0.0.0:7667 to accept other hosts.
    #[arg(long, default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    pub listen: SocketAddr,

    /// Most simultaneous connections; newcomers past it get ERROR SERVER_FULL.
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,

    /// Most simultaneous connections from one IP address (0: no limit, and
    /// no other per-address limit either: the address is not an identity).
    #[arg(long, default_value_t = 256)]
    pub max_per_ip: usize,

    /// Most connections still logging in at once; newcomers past it get
    /// ERROR SERVER_FULL (0: no limit).
    #[arg(long, default_value_t = 1024)]
    pub max_unauthenticated: usize,

    /// New connections one IP address may open per second, sustained;
    /// faster ones get ERROR TOO_MANY_CONNECTIONS (0: no limit).
    #[arg(long, default_value_t = 64)]
    pub connect_rate: u32,

    /// New connections one IP address may open in a burst.
    #[arg(long, default_value_t = 256)]
    pub connect_burst: u32,

    /// How many connections' worth of request tokens (msg_rate, msg_burst,
    /// byte_rate, byte_burst) all connections of one IP address share, and
    /// keep across reconnects (0: no shared limit).
    #[arg(long, default_value_t = 8)]
    pub per_ip_share: u32,

    /// Most connections from one IP address still logging in at once;
    /// newcomers past it get ERROR TOO_MANY_CONNECTIONS (0: no limit). An
    /// address holding a quarter of it gets a quarter of the handshake time.
    #[arg(long, default_value_t = 128)]
    pub max_unauthenticated_per_ip: usize,

    /// Most rooms the server holds at once; a JOIN that would make another
    /// gets ERROR ROOM_LIMIT (0: no limit). Empty rooms are let go.
    #[arg(long, default_value_t = 10_000)]
    pub max_rooms_total: usize,

    /// New rooms one IP address may make per second, sustained; past it a
    /// JOIN gets ERROR RATE_LIMITED (0: no limit).
    #[arg(long, default_value_t = 2)]
    pub room_create_rate: u32,

    /// New rooms one IP address may make in a burst.
    #[arg(long, default_value_t = 100)]
    pub room_create_burst: u32,

    /// With --in-memory, bytes of history all empty rooms together may keep;
    /// past it the longest-empty rooms are forgotten, history and all.
    #[arg(long, default_value_t = 64 << 20)]
    pub idle_history_bytes: usize,

    /// Bytes of direct messages that may wait unwritten for one recipient
    /// from one IP address; past it the sender gets RECIPIENT_BUSY.
    #[arg(long, default_value_t = 65_536)]
    pub dm_queue_per_ip: usize,

    /// Bytes of direct messages that may wait unwritten for one recipient
    /// from all senders together.
    #[arg(long, default_value_t = 262_144)]
    pub dm_queue_total: usize,

    /// TLS certificate chain (PEM). With --tls-key, clients must speak TLS.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// TLS private key (PEM) for --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Room every client joins after login.
    #[arg(long, default_value = "lobby")]
    pub default_room: String,

    /// Names nobody may use (comma-separated, case-insensitive).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "server,admin,confab,system"
    )]
    pub reserved_names: Vec<String>,

    /// Server operators: registered accounts (comma-separated) that hold
    /// every moderation right in every room (spec section 21).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub operators: Vec<String>,

    /// Largest frame body in bytes, both directions.
    #[arg(long, default_value_t = Limits::default().max_frame)]
    pub max_frame: u32,

    /// Longest username in bytes.
    #[arg(long, default_value_t = Limits::default().max_username)]
    pub max_username: u8,

    /// Longest room name in bytes.
    #[arg(long, default_value_t = Limits::default().max_room_name)]
    pub max_room_name: u8,

    /// Longest message body in bytes.
    #[arg(long, default_value_t = Limits::default().max_body)]
    pub max_body: u16,

    /// Rooms one connection may be in at once.
    #[arg(long, default_value_t = Limits::default().max_rooms)]
    pub max_rooms: u16,

    /// Messages per second one connection may send, sustained.
    #[arg(long, default_value_t = Limits::default().msg_rate)]
    pub msg_rate: u32,

    /// Messages one connection may send in a burst.
    #[arg(long, default_value_t = Limits::default().msg_burst)]
    pub msg_burst: u32,

    /// Message body bytes per second one connection may send, sustained.
    #[arg(long, default_value_t = Limits::default().byte_rate)]
    pub byte_rate: u32,

    /// Message body bytes one connection may send in a burst.
    #[arg(long, default_value_t = Limits::default().byte_burst)]
    pub byte_burst: u32,

    /// Frames queued for one client before it is cut off as a slow consumer.
    #[arg(long, default_value_t = Limits::default().queue_depth)]
    pub queue_depth: u32,

    /// Bytes queued for one client (those being written included) before it
    /// is cut off as a slow consumer; advertised in the GREETING.
    #[arg(long, default_value_t = 2 * 1024 * 1024)]
    pub queue_bytes: u32,

    /// Bytes queued for all clients together; past it, a client whose queue
    /// holds more than an eighth of --queue-bytes is cut off.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    pub queue_bytes_total: u64,

    /// Milliseconds of silence from a client before the server pings it.
    #[arg(long, default_value_t = Limits::default().ping_interval_ms)]
    pub ping_interval_ms: u32,

    /// Milliseconds a client has to answer a ping before it is dropped.
    #[arg(long, default_value_t = Limits::default().ping_timeout_ms)]
    pub ping_timeout_ms: u32,

    /// Milliseconds from accept to a successful login.
    #[arg(long, default_value_t = Limits::default().handshake_timeout_ms)]
    pub handshake_timeout_ms: u32,

    /// Login attempts allowed per connection.
    #[arg(long, default_value_t = Limits::default().login_attempts)]
    pub login_attempts: u8,

    /// Most messages in one history answer or join replay; also how many
    /// messages per room the server keeps in memory.
    #[arg(long, default_value_t = Limits::default().history_max)]
    pub history_max: u16,

    /// Directory of the message and account database (created on first start).
    #[arg(long, default_value = "confab-data")]
    pub data_dir: std::path::PathBuf,

    /// Keep history in memory only: nothing survives a restart, no accounts.
    #[arg(long)]
    pub in_memory: bool,

    /// When a message counts as stored: `full` (each group commit reaches
    /// the disk before any acknowledgement: survives kill -9 and a power
    /// cut) or `normal` (the commit reaches the operating system: survives
    /// kill -9 of the server, not a power cut or a kernel crash; much faster
    /// on a disk with slow fsync).
    #[arg(long, value_enum, default_value_t = SyncMode::Full)]
    pub sync: SyncMode,

    /// Join a cluster: every node started with the same Redis (or Valkey)
    /// URL, `redis://HOST:PORT[/DB]`, behaves as one server. Messages,
    /// accounts, names and room membership then live in Redis, not in
    /// --data-dir; limits stay per node (see README, "Running a cluster").
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,

    /// This node's name in a cluster: the GREETING's server field and the
    /// owner of its users' names in Redis (default: the listen address).
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,

    /// Milliseconds a cluster node's claim on its users' names (and on its
    /// rooms' members) outlives the node: after a crash, its users can log
    /// in again elsewhere once it runs out. Renewed every third of it.
    #[arg(long, default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(300..=3_600_000))]
    pub name_lease_ms: u64,

    /// Refuse guests: every name must be a registered account.
    #[arg(long)]
    pub require_account: bool,

    /// Delete stored messages older than this many days (0: keep them).
    #[arg(long, default_value_t = 0)]
    pub retention_days: u64,

    /// Keep at most this many stored messages per room (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub retention_per_room: u64,

    /// Seconds between two retention passes.
    #[arg(long, default_value_t = 60)]
    pub retention_interval_s: u64,

    /// Tests only: retention passes run when the driver asks (not on the
    /// interval), at the time it names, and can be held between batches.
    #[arg(skip)]
    pub retention_driver: Option<crate::retention_schedule::Driver>,

    /// Tests only: the clock moderation expiries are judged by (`[MOD-14]`).
    #[arg(skip)]
    pub clock: crate::clock::Clock,

    /// Milliseconds the server waits for clients to take their last frames
    /// when it shuts down.
    #[arg(long, default_value_t = 3_000)]
    pub shutdown_grace_ms: u64,

    /// Threads that serve connections; 0 (the default) means one fewer than
    /// the machine's cores, and at least one. The core left over runs what
    /// the connections' threads would otherwise wait for: the kernel's
    /// network processing, the store's writer thread and password hashing.
    /// On two cores one thread serves rooms of 10 about 5 % more than two;
    /// rooms of 100 and more gain 3-8 % from a second (BENCHMARKS.md, "One
    /// thread or two").
    #[arg(long, default_value_t = 0)]
    pub workers: usize,

    /// Threads that hash and check passwords (at most this many, and no more
    /// than the machine's cores); each uses argon2id's 19 MiB while it works.
    #[arg(long, default_value_t = 2)]
    pub hash_workers: usize,

    /// Password checks that may wait for a hashing thread; past it, logins
    /// and registrations are answered TRY_AGAIN_LATER at once.
    #[arg(long, default_value_t = 16)]
    pub hash_queue: usize,

    /// Fewest characters a new account's password may have; shorter ones
    /// are refused with PASSWORD_TOO_SHORT (advertised in LIMITS). Existing
    /// accounts keep logging in whatever their password's length.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub min_password_length: u16,

    /// Registrations one address may make in a burst…
    #[arg(long, default_value_t = 10)]
    pub register_burst: u32,

    /// …and one more each this many milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub register_interval_ms: u64,

    /// Log filter (tracing syntax, e.g. `info` or `confab_server=debug`);
    /// RUST_LOG overrides it.
    #[arg(long, default_value = "info")]
    pub log: String,

    /// Log line format: `text` for people, `json` (one object a line) for
    /// log shippers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Serve Prometheus metrics at http://ADDR/metrics, with /healthz and
    /// /readyz (off without it). Keep it off the public network.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// The command line this configuration was resolved from (program name
    /// first), kept so SIGHUP can resolve it again with the file as it is
    /// then (`crate::reload`); `None` for a configuration built in code,
    /// which is never reloaded.
    #[arg(skip)]
    pub command_line: Option<Vec<std::ffi::OsString>>,

    /// Tests and embedders: an already bound listener for the metrics
    /// endpoint, used instead of binding --metrics-listen.
    #[arg(skip)]
    pub metrics_listener: Option<std::sync::Arc<std::net::TcpListener>>,
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Tasks other than serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ServerCommand {
    /// Write a self-signed certificate and key for local TLS use
    /// (cert.pem, key.pem), then exit.
    GenCert {
        /// Directory to write them to.
        #[arg(long, default_value = "confab-tls")]
        out: std::path::PathBuf,
        /// Names and addresses the certificate is valid for.
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])]
        hosts: Vec<String>,
    },
    /// Check a configuration file without starting: exit 0 when the server
    /// would start with it, 2 (and the errors) when not.
    CheckConfig {
        /// The TOML file to check.
        file: std::path::PathBuf,
    },
    /// Print an example configuration file: every setting, its help and
    /// its default.
    ConfigExample,
}

/// Every setting's key, in `--help` order (for the reload table's test).
#[cfg(test)]
pub(crate) fn schema_keys() -> Vec<String> {
    schema::keys(&schema::lenient_command())
        .iter()
        .map(|key| key.name().to_string())
        .collect()
}

impl Default for Config {
    /// The command line's defaults, but in memory: embedding a server (tests,
    /// tools) never writes a data directory unless asked to.
    fn default() -> Self {
        Config::parse_from(["confab-server", "--in-memory"])
    }
}
