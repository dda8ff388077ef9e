//! `confab-server`: parse the command line, listen, serve until SIGINT/SIGTERM.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use confab_server::{bind, run, Config};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let config = Config::parse();
    if let Some(confab_server::config::ServerCommand::GenCert { out, hosts }) = &config.command {
        return match confab_server::tls::generate_self_signed(out, hosts) {
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
        };
    }
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    // Each client holds a descriptor: use every one the hard limit allows.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => info!("file descriptor limit: {limit}"),
        Err(e) => warn!("could not raise the file descriptor limit: {e}"),
    }

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("confab-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
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
            Err(e) => {
                error!("{e}");
                eprintln!("confab-server: {e}");
                ExitCode::from(2)
            }
        }
    })
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
