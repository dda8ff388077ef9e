//! Retention: a background pass that deletes stored messages past their age
//! or past the per-room count. It runs on the store's own reader connection
//! in a blocking thread, so delivery never waits for it.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::clock::now_millis;
use crate::shared::Shared;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let config = &shared.config;
    let max_age = (config.retention_days > 0).then(|| config.retention_days.saturating_mul(DAY_MS));
    let max_count = (config.retention_per_room > 0).then_some(config.retention_per_room);
    let Some(store) = &shared.store else {
        return;
    };
    if max_age.is_none() && max_count.is_none() {
        return;
    }
    let mut ticks = tokio::time::interval(Duration::from_secs(config.retention_interval_s.max(1)));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match store
            .enforce_retention(now_millis(), max_age, max_count)
            .await
        {
            Ok(0) => {}
            Ok(deleted) => info!("retention: deleted {deleted} stored messages"),
            Err(e) => error!("retention pass failed: {e}"),
        }
    }
}
