//! SIGHUP: the configuration is resolved again from the same command line
//! and file, and what can change under connected clients changes now.
//!
//! | Setting | At a reload |
//! |---|---|
//! | `max-connections`, `max-unauthenticated`, `max-per-ip`, `max-unauthenticated-per-ip` | newcomers meet the new limit; nobody connected is cut off |
//! | `connect-rate`, `connect-burst`, `room-create-rate`, `room-create-burst` | the next connect or new room; tokens held are capped at the new burst |
//! | `idle-history-bytes` | the next eviction uses it |
//! | `reserved-names` | later logins; a user logged in under a newly reserved name keeps it |
//! | `operators` | the next moderation decision; a removed operator's rights end at once |
//! | `tls-cert`, `tls-key` (also the same paths, files renewed) | new handshakes; a certificate or key that does not load keeps the running one |
//! | limits in the GREETING or LIMITS (`max-frame`, `max-body`, `msg-rate`, `queue-bytes`, `min-password-length`, …), `default-room`, `require-account` | need a restart: a connected client holds the values it was told, and the server keeps to them |
//! | `listen`, `metrics-listen`, `data-dir`, `in-memory`, `sync`, TLS on or off, `max-per-ip` to or from 0, `per-ip-share`, `max-rooms-total`, `dm-queue-*`, `queue-bytes-total`, hashing, retention, logging, `shutdown-grace-ms` | need a restart |
//!
//! Every row is in `table::TABLE`. A file with errors is refused whole, with
//! the same `file:line` messages as at start, and nothing changes. One log
//! line per changed setting says what happened to it.

mod table;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::{self, Config, StartError};
use crate::shared::Shared;
use crate::tls::LiveAcceptor;
use table::When;

/// Holds the running settings and the parts a reload changes.
pub(crate) struct Reloader {
    shared: Arc<Shared>,
    /// The acceptor new TLS handshakes take; `None` without TLS.
    tls: Option<Arc<LiveAcceptor>>,
    /// The settings in effect: the start-up ones, with every reloaded
    /// setting taken in, so a restart-only change is reported at every
    /// reload until the restart.
    running: Config,
    /// The certificate and key files' contents in use, to see a renewal
    /// under the same paths.
    tls_files: Option<(Vec<u8>, Vec<u8>)>,
}

impl Reloader {
    pub fn new(shared: Arc<Shared>, tls: Option<Arc<LiveAcceptor>>, running: Config) -> Reloader {
        let tls_files = tls.as_ref().and_then(|_| read_tls_files(&running));
        Reloader {
            shared,
            tls,
            running,
            tls_files,
        }
    }

    /// Catches SIGHUP now (before the server says it listens, so a
    /// SIGHUP sent once it has said so is never the default's exit), and
    /// returns the task that reloads at each one until `shutdown`.
    pub fn on_hangup(
        mut self,
        shutdown: CancellationToken,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        #[cfg(unix)]
        let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
        async move {
            #[cfg(unix)]
            {
                let mut hangups = match hangups {
                    Ok(hangups) => hangups,
                    Err(e) => return warn!("SIGHUP cannot be caught, so it will not reload: {e}"),
                };
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        received = hangups.recv() => if received.is_none() { return },
                    }
                    info!("SIGHUP: reloading the settings");
                    self.reload();
                }
            }
            #[cfg(not(unix))]
            let _ = (shutdown, &mut self);
        }
    }

    /// Resolves the command line again and takes in what may change now.
    pub fn reload(&mut self) {
        let Some(args) = self.running.command_line.clone() else {
            return info!("reload: the settings were not read from a command line; nothing to do");
        };
        let new = match config::resolve(args)
            .map_err(|e| refusal(&e))
            .and_then(|new| {
                check(&new)?;
                Ok(new)
            }) {
            Ok(new) => crate::server::fit_descriptors(new),
            Err(lines) => {
                for line in lines.lines() {
                    error!("reload: {line}");
                }
                return error!("reload: refused; the running settings stay");
            }
        };
        let mut changes = table::changes(&self.running, &new);
        let tls_changed = changes
            .iter()
            .any(|c| c.when == When::Now && c.key.starts_with("tls-"));
        if self.tls.is_some() && !self.take_tls(&new, tls_changed) {
            changes.retain(|c| !(c.when == When::Now && c.key.starts_with("tls-")));
        }
        for change in &changes {
            match change.when {
                When::Now => {
                    change.take(&mut self.running, &new);
                    info!("reload: {} {} -> {}", change.key, change.old, change.new);
                }
                When::Restart(why) => warn!(
                    "reload: {} changed; needs a restart (kept {}): {why}",
                    change.key, change.old
                ),
            }
        }
        self.apply();
        let now = changes.iter().filter(|c| c.when == When::Now).count();
        info!(
            "reload: done; {now} settings changed, {} need a restart",
            changes.len() - now
        );
    }

    /// Hands the running settings to the parts that read them; each takes
    /// its own at once, and the next newcomer, login or decision sees it.
    fn apply(&self) {
        let running = &self.running;
        let shared = &self.shared;
        shared.gate.set_limits(running);
        shared
            .services
            .hub
            .set_idle_history_budget(running.idle_history_bytes);
        shared.accounts.set_reserved(&running.reserved_names);
        shared.services.moderation.set_operators(&running.operators);
    }

    /// Loads the certificate and key `new` names when they or their files
    /// changed; false (and why, in the log) when they do not load, and the
    /// running ones stay.
    fn take_tls(&mut self, new: &Config, paths_changed: bool) -> bool {
        let (Some(live), Some(cert), Some(key)) = (&self.tls, &new.tls_cert, &new.tls_key) else {
            return true;
        };
        let files = read_tls_files(new);
        if !paths_changed && files.is_some() && files == self.tls_files {
            return true;
        }
        match crate::tls::acceptor(cert, key) {
            Ok(acceptor) => {
                live.replace(acceptor);
                self.tls_files = files;
                info!(
                    "reload: TLS certificate {} and key {} taken for new handshakes",
                    cert.display(),
                    key.display()
                );
                true
            }
            Err(e) => {
                error!("reload: {e}; new handshakes keep the running certificate");
                false
            }
        }
    }
}

/// The certificate and key files' contents, when both read.
fn read_tls_files(config: &Config) -> Option<(Vec<u8>, Vec<u8>)> {
    let (cert, key) = (config.tls_cert.as_ref()?, config.tls_key.as_ref()?);
    Some((std::fs::read(cert).ok()?, std::fs::read(key).ok()?))
}

/// Why a reload is refused, in the words a start would use.
fn refusal(error: &StartError) -> String {
    match error {
        StartError::Usage(e) => config::summary(e),
        other => other.to_string(),
    }
}

/// The checks across settings a start makes before it opens anything.
fn check(config: &Config) -> Result<(), String> {
    config.limits().validate()?;
    config.check_frames_fit().map_err(|e| e.to_string())?;
    if config.in_memory && config.require_account {
        return Err("--require-account needs accounts, which --in-memory turns off".into());
    }
    Ok(())
}
