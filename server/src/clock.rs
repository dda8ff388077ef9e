//! The server's clock for stamping messages: UTC milliseconds since the Unix epoch.

/// Now, as the spec's `time` type (section 3).
pub fn now_millis() -> u64 {
    chrono::Utc::now().timestamp_millis().max(0) as u64
}
