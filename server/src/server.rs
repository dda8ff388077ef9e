//! The accept loop: admission (`[LIMIT-1]`), one task per connection, and
//! graceful shutdown (`[CLOSE-2]`).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::frame::{ErrorFrame, Frame};
use confab_protocol::ErrorCode;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::admission::{Admission, Refusal};
use crate::config::Config;
use crate::connection;
use crate::refusals::RefusalLog;
use crate::shared::{SetupError, Shared};
use crate::tls::TlsError;
use crate::transport::{Listener, Transport};

/// Why the server could not start: the file, address or setting at fault,
/// with the OS's or the library's own error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("--tls-cert and --tls-key go together")]
    TlsHalfConfigured,
    #[error("cannot listen on {addr}: {source}{}", listen_hint(source.kind()))]
    Listen { addr: SocketAddr, source: io::Error },
    /// The configuration's checks and the store.
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
}

/// How long a refused newcomer gets to take its ERROR frame.
const REFUSAL_TIMEOUT: Duration = Duration::from_millis(1_000);

/// Serves `listener` until `shutdown` is cancelled, then says goodbye to every
/// client and returns once they are gone or the grace period has passed.
pub async fn run<L: Listener>(
    mut listener: L,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let grace = config.shutdown_grace();
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(Arc::new(crate::tls::LiveAcceptor::new(
            crate::tls::acceptor(cert, key)?,
        ))),
        (None, None) => None,
        _ => return Err(StartError::TlsHalfConfigured),
    };
    let config = fit_descriptors(config);
    let tracker = TaskTracker::new();
    // Bound before the store opens, so /readyz says 503 meanwhile.
    let readiness = Arc::new(crate::metrics::http::Readiness::default());
    if let Some(metrics_listener) = metrics_listener(&config)? {
        if let Ok(addr) = metrics_listener.local_addr() {
            info!("metrics on http://{addr}/metrics");
        }
        let serving =
            crate::metrics::http::serve(metrics_listener, Arc::clone(&readiness), shutdown.clone());
        tracker.spawn(serving);
    }
    // Only a configuration read from a command line can be read again.
    let reloadable = config.command_line.is_some().then(|| config.clone());
    let cluster = match &config.cluster {
        Some(url) => {
            let node = config
                .node_name
                .clone()
                .unwrap_or_else(|| config.listen.to_string());
            let lease = Duration::from_millis(config.name_lease_ms);
            let cluster = crate::cluster::Cluster::connect(url, &node, lease).await?;
            info!(node = cluster.node_id(), "joined the cluster at {url}");
            Some(cluster)
        }
        None => None,
    };
    let shared = Arc::new(Shared::new(config, cluster)?);
    if let Some(running) = reloadable {
        let reloader = crate::reload::Reloader::new(Arc::clone(&shared), tls.clone(), running);
        tracker.spawn(reloader.on_hangup(shutdown.clone()));
    }
    let mut refusals = RefusalLog::default();
    if let Some(store) = &shared.accounts.store {
        info!(
            "history and accounts are stored in {}",
            store.path.display()
        );
    }
    if let Ok(addr) = listener.local_addr() {
        // Said on the same line, so an operator never guesses which it is.
        let security = if tls.is_some() {
            "TLS"
        } else {
            "plain TCP, no TLS"
        };
        info!("confab-server listening on {addr} ({security})");
    }
    tracker.spawn(crate::retention_schedule::run(
        Arc::clone(&shared),
        shutdown.clone(),
    ));
    tracker.spawn(crate::moderation::sweep::run(
        Arc::clone(&shared),
        shutdown.clone(),
    ));
    let mut names_freed = None;
    if let Some(cluster) = &shared.services.cluster {
        cluster.start(&shared, &tracker, &shutdown);
        // spec: CLUSTER-5 — the names' leases live while the node does.
        let (freed, on_freed) = tokio::sync::oneshot::channel();
        names_freed = Some(on_freed);
        let beating = crate::cluster::heartbeat::run(
            cluster.clone(),
            Arc::clone(&shared),
            shutdown.clone(),
            freed,
        );
        tracker.spawn(beating);
    }
    readiness.set_ready(Arc::clone(&shared));
    loop {
        let report_due = refusals.due();
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
            // spec: LIMIT-1 — refusals are summed up, one line per interval.
            _ = tokio::time::sleep_until(report_due.unwrap_or_else(tokio::time::Instant::now)), if report_due.is_some() => {
                refusals.flush();
                continue;
            }
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or a connection reset before accept:
                // keep serving, and say so without a line per retry.
                refusals.note(accept_failure(&e));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let accepted_at = tokio::time::Instant::now();
        // spec: MOD-13 — refused instead of GREETING, as LIMIT-1 refuses.
        let admitted = if shared
            .services
            .moderation
            .address_banned(peer.ip())
            .is_some()
        {
            Err(Refusal::AddressBanned)
        } else {
            shared.gate.admit(peer.ip())
        };
        if let Err(refusal) = &admitted {
            debug!(%peer, "refused: {}", refusal_error(*refusal).0);
            refusals.note(refusal_reason(*refusal));
            shared
                .services
                .metrics
                .error_sent(refusal_error(*refusal).0, 0);
        }
        let shared = Arc::clone(&shared);
        match &tls {
            None => match admitted {
                Ok(admission) => {
                    tracker.spawn(connection::serve(
                        stream,
                        peer,
                        shared,
                        admission,
                        accepted_at,
                    ));
                }
                Err(refusal) => {
                    tracker.spawn(refuse(stream, refusal));
                }
            },
            Some(acceptor) => {
                let accepting = acceptor.current().accept(stream);
                tracker.spawn(async move {
                    // The TLS handshake counts against the login deadline (`[SEC-7]`),
                    // and a refusal is said inside TLS, where the client reads.
                    // A refused newcomer gets no more time than a plain refusal would.
                    let limit = admitted
                        .as_ref()
                        .map_or(REFUSAL_TIMEOUT, Admission::handshake_timeout);
                    let handshake = tokio::time::timeout(limit, accepting).await;
                    let failure = match &handshake {
                        Ok(Ok(_)) => None,
                        Ok(Err(_)) => Some("error"),
                        Err(_) => Some("timeout"),
                    };
                    shared.services.metrics.tls_handshake(failure);
                    let stream = match handshake {
                        Ok(Ok(stream)) => stream,
                        // Scanners and slowloris: a line each would flood the log.
                        Ok(Err(e)) => return debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => return debug!(%peer, "TLS handshake timed out"),
                    };
                    match admitted {
                        Ok(admission) => {
                            connection::serve(stream, peer, shared, admission, accepted_at).await
                        }
                        Err(refusal) => refuse(stream, refusal).await,
                    }
                });
            }
        }
    }
    drop(listener);
    refusals.flush();
    if let Some(freed) = names_freed {
        // spec: CLUSTER-4 — names free before NODE_LEAVING sends clients
        // elsewhere; bounded, as Redis may be away.
        let _ = tokio::time::timeout(Duration::from_secs(3), freed).await;
    }
    shared.services.closing.start();
    tracker.close();
    info!(
        "shutting down: saying goodbye to {} connections",
        shared.gate.active_connections()
    );
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        error!(
            "{} connections did not close within the grace period",
            shared.gate.active_connections()
        );
    }
    if let Some(cluster) = &shared.services.cluster {
        cluster.leave().await;
    }
    Ok(())
}

/// Descriptors kept for the process itself (listener, store files, runtime)
/// and for answering newcomers SERVER_FULL (`[LIMIT-1]`), which takes one
/// for a moment each.
const DESCRIPTOR_RESERVE: u64 = 128;

/// Each connection holds a descriptor: lowers `--max-connections` to what
/// the process's limit allows, with a reserve, so that past it newcomers
/// get SERVER_FULL rather than nothing at all.
pub(crate) fn fit_descriptors(mut config: Config) -> Config {
    let Ok((soft, _hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE) else {
        return config;
    };
    let fitted = connections_for(soft, config.max_connections);
    if fitted < config.max_connections {
        warn!(
            "--max-connections {} lowered to {fitted}: the file descriptor limit is {soft} \
             (raise it with `ulimit -n`)",
            config.max_connections
        );
        config.max_connections = fitted;
    }
    config
}

/// The connections `nofile` descriptors allow, at most `wanted`.
fn connections_for(nofile: u64, wanted: usize) -> usize {
    let usable = nofile.saturating_sub(DESCRIPTOR_RESERVE).max(1);
    usize::try_from(usable).map_or(wanted, |usable| wanted.min(usable))
}

/// How a failed accept is counted in the log.
fn accept_failure(e: &io::Error) -> &'static str {
    // EMFILE and ENFILE: the process's or the system's descriptors ran out.
    match e.raw_os_error() {
        Some(23) | Some(24) => "accept failed: out of file descriptors",
        _ => "accept failed",
    }
}

/// How a refusal is counted in the log.
fn refusal_reason(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::ServerFull => "SERVER_FULL (connections)",
        Refusal::TooManyLoggingIn => "SERVER_FULL (logging in)",
        Refusal::TooManyFromAddress => "TOO_MANY_CONNECTIONS (per address)",
        Refusal::TooManyLoggingInFromAddress => "TOO_MANY_CONNECTIONS (logging in, per address)",
        Refusal::ConnectingTooFast => "TOO_MANY_CONNECTIONS (connect rate)",
        Refusal::AddressBanned => "ADDRESS_BANNED",
    }
}

/// The error code and text for a refused newcomer.
fn refusal_error(refusal: Refusal) -> (ErrorCode, &'static str) {
    match refusal {
        Refusal::ServerFull => (
            ErrorCode::SERVER_FULL,
            "the server is full; try again later",
        ),
        // spec: MOD-13
        Refusal::AddressBanned => (
            ErrorCode::ADDRESS_BANNED,
            "your address is banned from this server",
        ),
        Refusal::TooManyFromAddress => (
            ErrorCode::TOO_MANY_CONNECTIONS,
            "too many connections from your address",
        ),
        Refusal::TooManyLoggingIn => (
            ErrorCode::SERVER_FULL,
            "too many connections are logging in; try again later",
        ),
        Refusal::TooManyLoggingInFromAddress => (
            ErrorCode::TOO_MANY_CONNECTIONS,
            "too many connections from your address are logging in; try again later",
        ),
        Refusal::ConnectingTooFast => (
            ErrorCode::TOO_MANY_CONNECTIONS,
            "your address opens connections too fast; try again in a second",
        ),
    }
}

/// `[LIMIT-1]`: an ERROR instead of the GREETING, never a silent close.
async fn refuse<T: Transport>(stream: T, refusal: Refusal) {
    let (code, message) = refusal_error(refusal);
    let (_read_half, mut write_half) = stream.into_split();
    let frame = Frame::ErrorFrame(ErrorFrame::new(code, 0, 0, message)).to_bytes();
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        write_half.write_all(&frame).await?;
        write_half.shutdown().await
    })
    .await;
}

/// The metrics endpoint's listener: the one given, else `--metrics-listen`
/// bound now, else none (metrics are off).
fn metrics_listener(config: &Config) -> Result<Option<tokio::net::TcpListener>, StartError> {
    let std_listener = match (&config.metrics_listener, config.metrics_listen) {
        (Some(given), _) => given.try_clone(),
        (None, Some(addr)) => std::net::TcpListener::bind(addr),
        (None, None) => return Ok(None),
    };
    let listen_error = |source| StartError::Listen {
        addr: config
            .metrics_listen
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))),
        source,
    };
    let std_listener = std_listener.map_err(listen_error)?;
    std_listener.set_nonblocking(true).map_err(listen_error)?;
    tokio::net::TcpListener::from_std(std_listener)
        .map(Some)
        .map_err(listen_error)
}

/// Binds a real TCP listener; the error names the address and the OS's
/// reason, with a hint a person can act on when there is one.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, StartError> {
    listen(addr).map_err(|source| StartError::Listen { addr, source })
}

/// What to do about a listen error, when there is something to say.
fn listen_hint(kind: io::ErrorKind) -> &'static str {
    match kind {
        io::ErrorKind::AddrInUse => {
            " (is another confab-server running? choose another with --listen)"
        }
        io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges)",
        _ => "",
    }
}

/// Completed connections the kernel may hold before we accept them. A burst
/// of logins (thousands at once after a restart) overflows tokio's default
/// of 1,024, and the kernel then drops or resets newcomers; the kernel caps
/// this at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 8192;

fn listen(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // A restarted server must not wait for the old one's TIME_WAIT sockets.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests;
