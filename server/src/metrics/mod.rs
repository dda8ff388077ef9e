//! What the server counts for its operator, in Prometheus' registry
//! (`prometheus-client`), and the small HTTP endpoint that serves it with
//! `/healthz` and `/readyz` (`http.rs`, only with `--metrics-listen`).
//!
//! Every hook on the chat path is a relaxed atomic add: counters are
//! atomics, the queue-depth histogram is lock-free (`histogram.rs`), a
//! fan-out adds its deliveries at once, and what is a level rather than an
//! event (connections, queued bytes) is read at scrape time, not kept.

pub mod classic;
mod histogram;
pub mod http;
#[cfg(test)]
mod tests;

pub use histogram::AtomicHistogram;

use confab_protocol::frame::{code, Frame};
use confab_protocol::ErrorCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

/// Bounds of the outbound queue depth, in frames: the writer's batches.
const QUEUE_DEPTH_BOUNDS: &[u64] = &[0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/// The store writer's histograms: it records one observation per batch,
/// on its own thread, so the library's histogram (a mutex) costs nothing.
#[derive(Debug, Clone)]
pub struct StoreMetrics {
    pub commit_seconds: Histogram,
    pub batch_size: Histogram,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        StoreMetrics {
            // 100 µs to about 6.5 s.
            commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 17)),
            // 1 to 4096 messages (the writer's largest batch).
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 13)),
        }
    }
}

/// Levels read at scrape time from the server's own counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub logging_in: usize,
    pub logged_in: usize,
    pub queued_bytes: usize,
}

/// Every metric, and the registry that names them. One per server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    connections: Family<StateLabel, Gauge>,
    queued_bytes: Gauge,
    logins: Counter,
    login_failures: Family<ReasonLabel, Counter>,
    pub messages_accepted: Counter,
    messages_refused: Family<ReasonLabel, Counter>,
    pub bytes_in: Counter,
    pub bytes_out: Counter,
    pub queue_depth: AtomicHistogram,
    pub slow_consumer_cuts: Counter,
    rate_limited: Counter,
    errors_sent: Family<CodeLabel, Counter>,
    tls_handshakes: Counter,
    tls_failures: Family<ReasonLabel, Counter>,
}

impl Metrics {
    /// The registry, with the counters other parts own: the hub's
    /// deliveries (counted per fan-out) and the store's histograms.
    pub fn new(deliveries: Counter, store: Option<StoreMetrics>) -> Metrics {
        let mut registry = Registry::with_prefix("confab");
        let build = Family::<VersionLabel, Gauge>::default();
        build
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "The server's version (always 1)", build);
        let metrics = Metrics {
            connections: Family::default(),
            queued_bytes: Gauge::default(),
            logins: Counter::default(),
            login_failures: Family::default(),
            messages_accepted: Counter::default(),
            messages_refused: Family::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            queue_depth: AtomicHistogram::new(QUEUE_DEPTH_BOUNDS),
            slow_consumer_cuts: Counter::default(),
            rate_limited: Counter::default(),
            errors_sent: Family::default(),
            tls_handshakes: Counter::default(),
            tls_failures: Family::default(),
            registry,
        };
        let mut metrics = metrics;
        let r = &mut metrics.registry;
        r.register(
            "connections",
            "Open connections by state: handshake (not logged in yet) or logged_in",
            metrics.connections.clone(),
        );
        r.register_with_unit(
            "outbound_queued",
            "Bytes queued for all clients, not yet written",
            Unit::Bytes,
            metrics.queued_bytes.clone(),
        );
        r.register("logins", "Successful logins", metrics.logins.clone());
        r.register(
            "login_failures",
            "Refused logins by reason (error code name)",
            metrics.login_failures.clone(),
        );
        r.register(
            "messages_accepted",
            "Room and direct messages accepted for delivery",
            metrics.messages_accepted.clone(),
        );
        r.register(
            "messages_refused",
            "Room and direct messages refused, by reason (error code name)",
            metrics.messages_refused.clone(),
        );
        r.register(
            "deliveries",
            "Room messages queued for a recipient (one per recipient)",
            deliveries,
        );
        r.register_with_unit(
            "received",
            "Bytes read from clients",
            Unit::Bytes,
            metrics.bytes_in.clone(),
        );
        r.register_with_unit(
            "sent",
            "Bytes written to clients",
            Unit::Bytes,
            metrics.bytes_out.clone(),
        );
        r.register(
            "outbound_queue_depth",
            "Frames a connection's writer found queued each time it woke",
            metrics.queue_depth.clone(),
        );
        r.register(
            "slow_consumer_cuts",
            "Clients cut off because their outbound queue overflowed",
            metrics.slow_consumer_cuts.clone(),
        );
        r.register(
            "rate_limited",
            "Requests refused with RATE_LIMITED",
            metrics.rate_limited.clone(),
        );
        r.register(
            "errors_sent",
            "ERROR frames sent, by code name",
            metrics.errors_sent.clone(),
        );
        r.register(
            "tls_handshakes",
            "Completed TLS handshakes",
            metrics.tls_handshakes.clone(),
        );
        r.register(
            "tls_handshake_failures",
            "Failed TLS handshakes by reason (error or timeout)",
            metrics.tls_failures.clone(),
        );
        if let Some(store) = store {
            r.register_with_unit(
                "store_commit",
                "Time to write and commit one batch of messages",
                Unit::Seconds,
                store.commit_seconds,
            );
            r.register(
                "store_batch_size",
                "Messages written in one store transaction",
                store.batch_size,
            );
        }
        metrics
    }

    /// A frame a connection sends of its own (not a fan-out): counts
    /// logins, refused logins, and errors (refused messages, rate limits).
    pub fn frame_sent(&self, frame: &Frame) {
        match frame {
            Frame::Welcome(_) => {
                self.logins.inc();
            }
            Frame::LoginRejected(rejected) => {
                let reason = code_name(rejected.code);
                self.login_failures
                    .get_or_create(&ReasonLabel { reason })
                    .inc();
            }
            Frame::ErrorFrame(error) => self.error_sent(error.code, error.frame_type),
            _ => {}
        }
    }

    /// An ERROR sent outside a connection's handlers (refused newcomers,
    /// slow consumers).
    pub fn error_sent(&self, code: ErrorCode, frame_type: u8) {
        let name = code_name(code);
        self.errors_sent
            .get_or_create(&CodeLabel { code: name })
            .inc();
        if matches!(
            frame_type,
            code::SEND | code::SEND_ACTION | code::DIRECT | code::DIRECT_ACTION
        ) {
            self.messages_refused
                .get_or_create(&ReasonLabel { reason: name })
                .inc();
        }
        if code == ErrorCode::RATE_LIMITED {
            self.rate_limited.inc();
        }
    }

    /// A TLS handshake's outcome: `None` when it completed, else why not.
    pub fn tls_handshake(&self, failure: Option<&'static str>) {
        match failure {
            None => self.tls_handshakes.inc(),
            Some(reason) => self
                .tls_failures
                .get_or_create(&ReasonLabel { reason })
                .inc(),
        };
    }

    /// The text exposition (OpenMetrics), with the levels in `sample`.
    pub fn encode(&self, sample: Sample) -> String {
        let level = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        for (state, n) in [
            ("handshake", sample.logging_in),
            ("logged_in", sample.logged_in),
        ] {
            self.connections
                .get_or_create(&StateLabel { state })
                .set(level(n));
        }
        self.queued_bytes.set(level(sample.queued_bytes));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The code's registry name; unassigned codes share one label (bounded).
fn code_name(code: ErrorCode) -> &'static str {
    code.name().unwrap_or("UNASSIGNED")
}
