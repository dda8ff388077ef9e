//! The retention schedule: a background pass that deletes messages past
//! their age (`--retention-days`) or past the per-room count
//! (`--retention-per-room`), every `--retention-interval-s` seconds, or
//! when a test's [`Driver`] asks.
//!
//! The pass is the message log's ([`MessageLog::apply_retention`]): the
//! SQLite log deletes on a connection of its own in a blocking thread (see
//! `store::prune`), so neither delivery nor logins nor HISTORY reads wait
//! for it; the in-memory log forgets direct messages past the age. Then the
//! rooms' replay buffers forget the same messages, so a JOIN replays only
//! what HISTORY returns (`[HISTORY-5]`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::clock::now_millis;
use crate::log::{MessageLog, Policy, StoreError};
use crate::shared::Shared;
use crate::sync::lock;

/// Why a retention pass did not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A test's pass was asked for after the server stopped.
    #[error("the server stopped")]
    Stopped,
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

pub(crate) async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let config = &shared.services.config;
    let max_age_ms =
        (config.retention_days > 0).then(|| config.retention_days.saturating_mul(DAY_MS));
    let max_per_room = (config.retention_per_room > 0).then_some(config.retention_per_room);
    if max_age_ms.is_none() && max_per_room.is_none() {
        return;
    }
    let driver = config.retention_driver.clone();
    let mut ticks = tokio::time::interval(Duration::from_secs(config.retention_interval_s.max(1)));
    loop {
        let (now, answer) = match &driver {
            Some(driver) => tokio::select! {
                _ = shutdown.cancelled() => return,
                (now, answer) = driver.next_request() => (now, Some(answer)),
            },
            None => tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => (now_millis(), None),
            },
        };
        let policy = Policy {
            now,
            max_age_ms,
            max_per_room,
        };
        let result = pass(&shared, policy, driver.clone()).await;
        match &result {
            Ok(0) => {}
            Ok(deleted) => info!("retention: deleted {deleted} stored messages"),
            Err(e) => error!("retention pass failed: {e}"),
        }
        if let Some(answer) = answer {
            let _ = answer.send(result);
        }
    }
}

/// One pass: the log first, then the same rules on the rooms' replay
/// buffers (a room made again from the log meanwhile is made from what is
/// left).
async fn pass(shared: &Shared, policy: Policy, driver: Option<Driver>) -> Result<usize, PassError> {
    let checkpoint = Box::new(move || {
        if let Some(driver) = &driver {
            driver.checkpoint();
        }
    });
    let pruned = shared
        .services
        .log
        .apply_retention(policy, checkpoint)
        .await?;
    shared
        .services
        .hub
        .forget(pruned.before_time, &pruned.first_kept_seq);
    Ok(pruned.deleted)
}

/// A test's hand on retention (`Config::retention_driver`): passes run only
/// when asked, at the time the test names, and a pass can be held before
/// each batch of deletions. Not a command-line option.
#[derive(Clone, Default)]
pub struct Driver {
    inner: Arc<DriverInner>,
}

/// A pass asked for: the time it runs at, and where its count goes.
type Request = (u64, oneshot::Sender<Result<usize, PassError>>);

#[derive(Default)]
struct DriverInner {
    requests: Mutex<VecDeque<Request>>,
    requested: Notify,
    hold: Mutex<bool>,
    released: Condvar,
    waiting: AtomicBool,
    arrived: Notify,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("retention_schedule::Driver")
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// Runs one pass as if the clock read `now` (UTC milliseconds) and
    /// returns how many stored messages it deleted.
    pub async fn pass_at(&self, now: u64) -> Result<usize, PassError> {
        let (answer, answered) = oneshot::channel();
        lock(&self.inner.requests).push_back((now, answer));
        self.inner.requested.notify_one();
        answered.await.map_err(|_| PassError::Stopped)?
    }

    /// Makes passes stop before their next batch until [`Driver::release`].
    pub fn hold(&self) {
        *lock(&self.inner.hold) = true;
    }

    /// Waits until a pass stands held before a batch.
    pub async fn held(&self) {
        loop {
            let arrived = self.inner.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if self.inner.waiting.load(Ordering::Acquire) {
                return;
            }
            arrived.await;
        }
    }

    /// Lets a held pass go on.
    pub fn release(&self) {
        *lock(&self.inner.hold) = false;
        self.inner.released.notify_all();
    }

    async fn next_request(&self) -> Request {
        loop {
            let requested = self.inner.requested.notified();
            if let Some(request) = lock(&self.inner.requests).pop_front() {
                return request;
            }
            requested.await;
        }
    }

    /// Called by the pass (a blocking thread) before each batch.
    fn checkpoint(&self) {
        let mut hold = lock(&self.inner.hold);
        if !*hold {
            return;
        }
        self.inner.waiting.store(true, Ordering::Release);
        self.inner.arrived.notify_waiters();
        while *hold {
            hold = self
                .inner
                .released
                .wait(hold)
                .unwrap_or_else(|e| e.into_inner());
        }
        self.inner.waiting.store(false, Ordering::Release);
    }
}
