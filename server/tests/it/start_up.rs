//! Start-up errors through the binary: each names the file or address at
//! fault and the OS's own reason, and the process exits at once.

use crate::common::{run_binary_to_exit, TempDir};

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
