//! Start-up and shut-down through the binary: each start-up error names the
//! file or address at fault and the OS's own reason, is printed once, and
//! the process exits at once; the listening line says whether TLS is on; a
//! clean shutdown warns about nothing.

use crate::common::{run_binary_to_exit, ServerProcess, TempDir};

#[test]
fn an_unreadable_tls_certificate_is_named_with_the_os_error() {
    let dir = TempDir::new("start-tls");
    let cert = dir.path().join("missing-cert.pem");
    let key = dir.path().join("missing-key.pem");
    let (status, stderr) = run_binary_to_exit(&[
        "--in-memory",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(!status.success(), "exit status {status:?}");
    let enoent = std::io::Error::from_raw_os_error(2);
    let expected = format!("reading TLS certificate {}: {enoent}", cert.display());
    assert!(stderr.contains(&expected), "{expected:?} in {stderr:?}");
    // Not once in the log and once more on stderr.
    assert_eq!(stderr.matches(&expected).count(), 1, "{stderr:?}");
}

#[test]
fn the_listening_line_says_whether_tls_is_on() {
    let plain = ServerProcess::start(&["--in-memory", "--listen", "127.0.0.1:0"]);
    // The address is taken from the line before the line is logged: wait for it.
    let line = format!("listening on {} (plain TCP, no TLS)", plain.addr);
    let log = plain.log_text_with(&line);
    assert!(log.contains(&line), "{log}");

    let dir = TempDir::new("start-tls-on");
    let (cert, key) =
        confab_server::generate_self_signed(dir.path(), &["localhost".into(), "127.0.0.1".into()])
            .unwrap();
    let tls = ServerProcess::start(&[
        "--in-memory",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let line = format!("listening on {} (TLS)", tls.addr);
    let log = tls.log_text_with(&line);
    assert!(log.contains(&line), "{log}");
}

#[test]
fn a_clean_shutdown_with_a_store_warns_about_nothing() {
    let dir = TempDir::new("start-clean-stop");
    let mut server = ServerProcess::start(&[
        "--data-dir",
        &dir.arg(),
        "--listen",
        "127.0.0.1:0",
        "--log",
        "debug",
    ]);
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    let log = server.log_text();
    assert!(log.contains("stopped"), "{log}");
    // The writer's end is a debug line, never a warning (the process may
    // exit before the writer thread says it: then there is no line at all).
    for writer in log
        .lines()
        .filter(|l| l.contains("message store writer stopped"))
    {
        assert!(writer.contains("DEBUG"), "{writer}");
    }
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("WARN") && !line.contains("descriptor"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn an_address_not_on_this_host_is_named_with_the_os_error() {
    // TEST-NET-1 (RFC 5737): never an address of this host.
    let (status, stderr) = run_binary_to_exit(&["--in-memory", "--listen", "192.0.2.1:7667"]);
    assert!(!status.success(), "exit status {status:?}");
    assert!(
        stderr.contains("cannot listen on 192.0.2.1:7667: ") && stderr.contains("(os error"),
        "{stderr:?}"
    );
}

#[test]
fn workers_sets_the_threads_that_serve_connections() {
    // The runtime's own count of its workers, as the server logs it.
    let three = ServerProcess::start(&["--in-memory", "--listen", "127.0.0.1:0", "--workers", "3"]);
    let line = "serving connections on 3 threads";
    assert!(three.log_text_with(line).contains(line));
    // By default one core is left to the kernel, the store and hashing.
    let default = ServerProcess::start(&["--in-memory", "--listen", "127.0.0.1:0"]);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = cores.saturating_sub(1).max(1);
    let line = format!(
        "serving connections on {threads} thread{}",
        if threads == 1 { "" } else { "s" }
    );
    assert!(default.log_text_with(&line).contains(&line));
}
