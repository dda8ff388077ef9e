//! The cleanup of expired bans, mutes and invitations (`[MOD-14]`). They
//! stop applying at their expiry whether or not this has run (every check
//! compares `expires` with the clock); this only frees their memory and
//! their rows.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::shared::Shared;

/// How often expired entries are dropped.
const INTERVAL: Duration = Duration::from_secs(60);

pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let changed = shared.moderation.purge_expired();
        if changed.is_empty() {
            continue;
        }
        tracing::debug!(
            "moderation: expired entries dropped in {} scopes",
            changed.len()
        );
        if let Some(store) = &shared.store {
            for scope in &changed {
                shared.moderation.persist(store, scope).await;
            }
        }
    }
}
