//! `confab-server`: read the command line and its configuration file, listen,
//! serve until SIGINT/SIGTERM.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use confab_server::config::{self, LogFormat, ServerCommand, StartError};
use confab_server::{bind, run};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

// jemalloc rather than the system allocator: about 60 bytes less per idle
// connection (BENCHMARKS.md, "Idle connections"). The binary's choice only;
// the library and its tests keep the system allocator.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read at its start (`_RJEM_MALLOC_CONF` in the
/// environment overrides them). Slabs of 4 pages for the 256- to 512-byte
/// classes, where every connection's task and socket registration are: one
/// slab's bookkeeping per 8 or 16 of them is about 20 bytes per idle
/// connection (BENCHMARKS.md, "Idle connections").
#[cfg(not(target_env = "msvc"))]
#[export_name = "_rjem_malloc_conf"]
pub static MALLOC_CONF: &[u8] = b"slab_sizes:256-512:4\0";

fn main() -> ExitCode {
    let config = match config::resolve(std::env::args_os()) {
        Ok(config) => config,
        // clap prints usage errors, --help and --version itself.
        Err(StartError::Usage(e)) => e.exit(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match &config.command {
        Some(ServerCommand::GenCert { out, hosts }) => return gen_cert(out, hosts),
        Some(ServerCommand::CheckConfig { file }) => return check_config(file),
        Some(ServerCommand::ConfigExample) => {
            print!("{}", config::example());
            return ExitCode::SUCCESS;
        }
        None => {}
    }
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
    if let Some(path) = &config.config {
        info!("settings from {}", path.display());
    }

    // Each client holds a descriptor: use every one the hard limit allows.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => info!("file descriptor limit: {limit}"),
        Err(e) => warn!("could not raise the file descriptor limit: {e}"),
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.worker_threads())
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("confab-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let threads = runtime.metrics().num_workers();
    info!(
        "serving connections on {threads} thread{}",
        if threads == 1 { "" } else { "s" }
    );
    runtime.block_on(async move {
        let listener = match bind(config.listen).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("confab-server: {e}");
                return ExitCode::FAILURE;
            }
        };
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        match run(listener, config, shutdown).await {
            Ok(()) => {
                info!("stopped");
                ExitCode::SUCCESS
            }
            // Printed once, to stderr, whatever the log filter says.
            Err(e) => {
                eprintln!("confab-server: {e}");
                ExitCode::from(2)
            }
        }
    })
}

/// `gen-cert`: a self-signed certificate and key for local TLS use.
fn gen_cert(out: &Path, hosts: &[String]) -> ExitCode {
    match confab_server::generate_self_signed(out, hosts) {
        Ok((cert, key)) => {
            println!("wrote {} and {}", cert.display(), key.display());
            println!(
                "start the server with: confab-server --tls-cert {} --tls-key {}",
                cert.display(),
                key.display()
            );
            println!("connect with: confab --tls --ca {}", cert.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("confab-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `check-config FILE`: the file alone, as the server would start with it,
/// including the checks across settings (`[LIMIT-9]`, flags that need others).
fn check_config(path: &Path) -> ExitCode {
    let checked = config::load(path)
        .map_err(|e| e.to_string())
        .and_then(|settings| {
            settings
                .alone()
                .map_err(|e| format!("{}: {}", path.display(), config::summary(&e)))
        })
        .and_then(|config| {
            config
                .check_frames_fit()
                .map_err(|e| format!("{}: {e}", path.display()))
        });
    match checked {
        Ok(()) => {
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(2)
        }
    }
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => info!("SIGINT: shutting down"),
                    _ = term.recv() => info!("SIGTERM: shutting down"),
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
        info!("interrupted: shutting down");
    }
    shutdown.cancel();
}
