//! `contrib/confab-server.service` cannot drift from the binary: its
//! ExecStart flags are parsed by the server's own command line, its data
//! directory is the unit's StateDirectory, and the hardening it promises
//! in the README is there. (`systemd-analyze verify` is run by hand: it
//! needs the binary at the unit's path.)

use std::path::Path;

fn unit() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/confab-server.service");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every value of `key` in the unit, in order.
fn values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
        .collect()
}

#[test]
fn the_units_exec_start_is_accepted_by_the_server() {
    let unit = unit();
    let exec = values(&unit, "ExecStart");
    assert_eq!(exec.len(), 1, "one ExecStart: {exec:?}");
    let args: Vec<&str> = exec[0].split_whitespace().collect();
    assert!(args[0].ends_with("/confab-server"), "{args:?}");
    let config = confab_server::config::resolve(args.iter().copied())
        .unwrap_or_else(|e| panic!("the unit's ExecStart is refused: {e}"));
    assert!(config.command.is_none(), "ExecStart serves: {args:?}");
    assert!(!config.in_memory, "the unit keeps accounts and history");
    // The data directory is the one systemd makes writable for the service.
    let state = values(&unit, "StateDirectory");
    assert_eq!(state, ["confab"]);
    assert_eq!(config.data_dir, Path::new("/var/lib/confab"));
    assert!(
        !config.listen.ip().is_loopback(),
        "a public server listens beyond loopback: {}",
        config.listen
    );
}

#[test]
fn the_unit_is_hardened() {
    let unit = unit();
    for (key, value) in [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
    ] {
        assert!(
            values(&unit, key).contains(&value),
            "{key}={value} missing from the unit"
        );
    }
    assert!(!values(&unit, "LimitNOFILE").is_empty());
}
