//! The idle workload: K clients log in and stay; the server's memory per
//! connection and the connect+login rate, then chat among a few active
//! clients while the idle ones are held.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;

use crate::conn::{self, Target};
use crate::fanout::{self, local_ip, Workload};
use crate::procstat;

#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    pub requested: usize,
    pub held: usize,
    /// Set when the descriptor limit cut the run short.
    pub cut_by_fd_limit: Option<u64>,
    pub login_seconds: f64,
    pub logins_per_sec: f64,
    pub server_rss_before_mb: Option<f64>,
    pub server_rss_after_mb: Option<f64>,
    pub bytes_per_connection: Option<f64>,
    pub active: Option<fanout::Report>,
}

/// Descriptors kept free for the active clients and the process itself.
const FD_RESERVE: u64 = 200;

pub async fn run(
    server: SocketAddr,
    clients: usize,
    active: usize,
    server_pid: Option<u32>,
    timeout: Duration,
) -> Result<IdleReport, String> {
    let fd_limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let allowed = fd_limit.saturating_sub(FD_RESERVE + active as u64) as usize;
    let held_target = clients.min(allowed);
    let cut_by_fd_limit = (held_target < clients).then_some(fd_limit);

    let before = server_pid.and_then(|pid| procstat::sample(Some(pid)));
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(512));
    let mut tasks = Vec::with_capacity(held_target);
    for index in 0..held_target {
        let permits = Arc::clone(&permits);
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
            // Offset names so they never clash with the active clients'.
            tokio::time::timeout(
                timeout,
                conn::connect(
                    Target::Confab,
                    server,
                    1_000_000 + index,
                    local_ip(server, index),
                    None,
                ),
            )
            .await
            .map_err(|_| format!("idle client {index}: login timed out"))?
            .map_err(|e| format!("idle client {index}: {e}"))
        }));
    }
    let mut held = Vec::with_capacity(held_target);
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(connection)) => held.push(connection),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let login_seconds = started.elapsed().as_secs_f64();
    if let Some(e) = first_error {
        return Err(format!(
            "{} of {held_target} idle clients failed; first: {e}",
            held_target - held.len()
        ));
    }
    // Let the server settle the last logins before reading its memory.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = server_pid.and_then(|pid| procstat::sample(Some(pid)));

    let active_report = if active >= 2 {
        let workload = Workload {
            rooms: 1,
            members: active,
            messages: 200,
            size: 100,
            window: 32,
            rate: None,
            timeout,
            progress: false,
        };
        let pids: Vec<u32> = server_pid.into_iter().collect();
        Some(fanout::run(Target::Confab, &[server], &workload, &pids).await?)
    } else {
        None
    };
    let mb = |s: Option<procstat::Sample>| s.map(|s| s.rss as f64 / 1_048_576.0);
    let per_connection = match (before, after) {
        (Some(b), Some(a)) if !held.is_empty() => {
            Some((a.rss as f64 - b.rss as f64) / held.len() as f64)
        }
        _ => None,
    };
    let report = IdleReport {
        requested: clients,
        held: held.len(),
        cut_by_fd_limit,
        login_seconds,
        logins_per_sec: held.len() as f64 / login_seconds,
        server_rss_before_mb: mb(before),
        server_rss_after_mb: mb(after),
        bytes_per_connection: per_connection,
        active: active_report,
    };
    drop(held);
    Ok(report)
}
