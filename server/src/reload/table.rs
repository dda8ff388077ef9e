//! Which settings a reload changes at run time and which need a restart,
//! one row per setting (a test checks that every setting has its row), and
//! the difference between two configurations by that table.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::ValueEnum;

use crate::config::{Config, LogFormat, SyncMode};

/// When a changed setting takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// At the reload: `take` copies it into the running settings.
    Now,
    /// At the next start; the running value stays, for the reason given.
    Restart(&'static str),
}

/// One setting's row.
pub(crate) struct Setting {
    /// The long flag's name, as the file spells it.
    pub key: &'static str,
    show: fn(&Config) -> String,
    take: fn(&mut Config, &Config),
    pub when: When,
}

/// One setting whose value differs between the running settings and the file.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub key: &'static str,
    pub old: String,
    pub new: String,
    pub when: When,
    take: fn(&mut Config, &Config),
}

impl Change {
    /// Copies the new value into `running`.
    pub fn take(&self, running: &mut Config, new: &Config) {
        (self.take)(running, new);
    }
}

const GREETING: &str = "clients read it in the GREETING when they connect";
const LIMITS: &str = "clients read it in LIMITS when they connect";
const BOUND: &str = "its socket is bound at start";
const STORE: &str = "the store is opened with it at start";
const CLUSTER: &str = "the node joins its cluster with it at start";
const SHARED_TOKENS: &str = "connections of an address share buckets made with it at start";
const RUNTIME: &str = "the threads that serve connections start with the server";
const HASHING: &str = "the password hashing pool is made with it at start";
const RETENTION: &str = "the retention task reads it at start";
const LOGGING: &str = "logging is set up at start";
const SERVICES: &str = "the request handlers read it from the start-up settings";

macro_rules! row {
    ($key:literal, $field:ident, $when:expr) => {
        Setting {
            key: $key,
            show: |c: &Config| c.$field.show(),
            take: |to: &mut Config, from: &Config| to.$field = from.$field.clone(),
            when: $when,
        }
    };
}

/// Every setting, in `--help` order.
pub(crate) const TABLE: &[Setting] = &[
    row!("listen", listen, When::Restart(BOUND)),
    row!("max-connections", max_connections, When::Now),
    row!("max-per-ip", max_per_ip, When::Now),
    row!("max-unauthenticated", max_unauthenticated, When::Now),
    row!("connect-rate", connect_rate, When::Now),
    row!("connect-burst", connect_burst, When::Now),
    row!("per-ip-share", per_ip_share, When::Restart(SHARED_TOKENS)),
    row!(
        "max-unauthenticated-per-ip",
        max_unauthenticated_per_ip,
        When::Now
    ),
    row!("max-rooms-total", max_rooms_total, When::Restart(SERVICES)),
    row!("room-create-rate", room_create_rate, When::Now),
    row!("room-create-burst", room_create_burst, When::Now),
    row!("idle-history-bytes", idle_history_bytes, When::Now),
    row!("dm-queue-per-ip", dm_queue_per_ip, When::Restart(SERVICES)),
    row!("dm-queue-total", dm_queue_total, When::Restart(SERVICES)),
    row!("tls-cert", tls_cert, When::Now),
    row!("tls-key", tls_key, When::Now),
    row!("default-room", default_room, When::Restart(GREETING)),
    row!("reserved-names", reserved_names, When::Now),
    row!("operators", operators, When::Now),
    row!("max-frame", max_frame, When::Restart(GREETING)),
    row!("max-username", max_username, When::Restart(GREETING)),
    row!("max-room-name", max_room_name, When::Restart(GREETING)),
    row!("max-body", max_body, When::Restart(GREETING)),
    row!("max-rooms", max_rooms, When::Restart(GREETING)),
    row!("msg-rate", msg_rate, When::Restart(GREETING)),
    row!("msg-burst", msg_burst, When::Restart(GREETING)),
    row!("byte-rate", byte_rate, When::Restart(GREETING)),
    row!("byte-burst", byte_burst, When::Restart(GREETING)),
    row!("queue-depth", queue_depth, When::Restart(GREETING)),
    row!("queue-bytes", queue_bytes, When::Restart(LIMITS)),
    row!(
        "queue-bytes-total",
        queue_bytes_total,
        When::Restart(SERVICES)
    ),
    row!(
        "ping-interval-ms",
        ping_interval_ms,
        When::Restart(GREETING)
    ),
    row!("ping-timeout-ms", ping_timeout_ms, When::Restart(GREETING)),
    row!(
        "handshake-timeout-ms",
        handshake_timeout_ms,
        When::Restart(GREETING)
    ),
    row!("login-attempts", login_attempts, When::Restart(GREETING)),
    row!("history-max", history_max, When::Restart(GREETING)),
    row!("data-dir", data_dir, When::Restart(STORE)),
    row!("in-memory", in_memory, When::Restart(STORE)),
    row!("sync", sync, When::Restart(STORE)),
    row!("cluster", cluster, When::Restart(CLUSTER)),
    row!("node-name", node_name, When::Restart(CLUSTER)),
    row!("name-lease-ms", name_lease_ms, When::Restart(CLUSTER)),
    row!("require-account", require_account, When::Restart(GREETING)),
    row!("retention-days", retention_days, When::Restart(RETENTION)),
    row!(
        "retention-per-room",
        retention_per_room,
        When::Restart(RETENTION)
    ),
    row!(
        "retention-interval-s",
        retention_interval_s,
        When::Restart(RETENTION)
    ),
    row!(
        "shutdown-grace-ms",
        shutdown_grace_ms,
        When::Restart(SERVICES)
    ),
    row!("workers", workers, When::Restart(RUNTIME)),
    row!("hash-workers", hash_workers, When::Restart(HASHING)),
    row!("hash-queue", hash_queue, When::Restart(HASHING)),
    row!(
        "min-password-length",
        min_password_length,
        When::Restart(LIMITS)
    ),
    row!("register-burst", register_burst, When::Restart(HASHING)),
    row!(
        "register-interval-ms",
        register_interval_ms,
        When::Restart(HASHING)
    ),
    row!("log", log, When::Restart(LOGGING)),
    row!("log-format", log_format, When::Restart(LOGGING)),
    row!("metrics-listen", metrics_listen, When::Restart(BOUND)),
];

/// The settings `new` changes from `running`, in table order.
pub(crate) fn changes(running: &Config, new: &Config) -> Vec<Change> {
    TABLE
        .iter()
        .filter_map(|setting| {
            let (old, changed) = ((setting.show)(running), (setting.show)(new));
            (old != changed).then(|| Change {
                key: setting.key,
                when: when(setting, running, new),
                old,
                new: changed,
                take: setting.take,
            })
        })
        .collect()
}

/// A row's `when`, but for the switches hidden in two settings: TLS on or
/// off, and the per-address book on or off (`--max-per-ip 0`).
fn when(setting: &Setting, running: &Config, new: &Config) -> When {
    match setting.key {
        "tls-cert" | "tls-key" if running.tls_cert.is_some() != new.tls_cert.is_some() => {
            When::Restart("turning TLS on or off changes what clients must speak")
        }
        "max-per-ip" if (running.max_per_ip == 0) != (new.max_per_ip == 0) => {
            When::Restart("turning per-address limits on or off makes or drops their book")
        }
        _ => setting.when,
    }
}

/// A setting's value as the log shows it.
trait Show {
    fn show(&self) -> String;
}

macro_rules! show_by_display {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

show_by_display!(u8, u16, u32, u64, usize, bool, String, SocketAddr);

impl Show for PathBuf {
    fn show(&self) -> String {
        self.display().to_string()
    }
}

impl<T: Show> Show for Option<T> {
    fn show(&self) -> String {
        self.as_ref().map_or_else(|| "none".to_string(), Show::show)
    }
}

impl Show for Vec<String> {
    fn show(&self) -> String {
        if self.iter().all(|s| s.trim().is_empty()) {
            return "none".to_string();
        }
        self.join(",")
    }
}

/// A value-enum setting, spelled as on the command line.
fn enum_name(value: &impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

impl Show for SyncMode {
    fn show(&self) -> String {
        enum_name(self)
    }
}

impl Show for LogFormat {
    fn show(&self) -> String {
        enum_name(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn every_setting_has_a_row_in_help_order() {
        let command = crate::config::schema_keys();
        let rows: Vec<&str> = TABLE.iter().map(|s| s.key).collect();
        assert_eq!(rows, command);
    }

    fn parse(args: &[&str]) -> Config {
        Config::parse_from(std::iter::once("confab-server").chain(args.iter().copied()))
    }

    #[test]
    fn changes_say_old_and_new_and_when() {
        let running = parse(&["--max-connections", "10000", "--operators", "ann"]);
        let new = parse(&[
            "--max-connections",
            "5000",
            "--listen",
            "0.0.0.0:7667",
            "--operators",
            "ann,bob",
            "--msg-rate",
            "99",
        ]);
        let changes = changes(&running, &new);
        let said: Vec<(&str, &str, &str, When)> = changes
            .iter()
            .map(|c| (c.key, c.old.as_str(), c.new.as_str(), c.when))
            .collect();
        let rate = confab_protocol::Limits::default().msg_rate.to_string();
        assert_eq!(
            said,
            [
                (
                    "listen",
                    "127.0.0.1:7667",
                    "0.0.0.0:7667",
                    When::Restart(BOUND)
                ),
                ("max-connections", "10000", "5000", When::Now),
                ("operators", "ann", "ann,bob", When::Now),
                ("msg-rate", rate.as_str(), "99", When::Restart(GREETING)),
            ]
        );
        let mut taken = running.clone();
        for change in changes.iter().filter(|c| c.when == When::Now) {
            change.take(&mut taken, &new);
        }
        assert_eq!(taken.max_connections, 5000);
        assert_eq!(taken.operators, ["ann", "bob"]);
        assert_eq!(taken.listen, running.listen, "a restart-only key is kept");
    }

    #[test]
    fn switching_tls_or_per_address_limits_needs_a_restart() {
        let running = parse(&["--max-per-ip", "0"]);
        let new = parse(&[
            "--max-per-ip",
            "5",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ]);
        for change in changes(&running, &new) {
            assert!(matches!(change.when, When::Restart(_)), "{change:?}");
        }
        let on = parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]);
        let moved = parse(&["--tls-cert", "d.pem", "--tls-key", "k.pem"]);
        let changes = changes(&on, &moved);
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].key, changes[0].when), ("tls-cert", When::Now));
    }
}
