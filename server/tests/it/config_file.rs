//! The configuration file through the real binary: a file's settings take
//! effect (seen in the GREETING and LIMITS over a real socket), flags
//! override it, errors stop the server naming file, line and key, and
//! `check-config` and `config-example` do what they say.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{run_binary_to_exit, Client, ServerProcess, TempDir};
use confab_protocol::frame::Frame;

/// Writes `text` to `name` in `dir`; returns the path as an argument.
fn write(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs the binary with `args` to its end, stdout and stderr kept. Only
/// subcommands that exit at once are run this way.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_confab-server"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn committed_example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/confab.toml")
}

#[tokio::test]
async fn a_file_setting_takes_effect_and_a_flag_overrides_it() {
    let dir = TempDir::new("config-effect");
    let file = write(
        &dir,
        "confab.toml",
        "listen = \"127.0.0.1:0\"\nin-memory = true\n\
         max-body = 1000\nmsg-burst = 7\nqueue-bytes = 1_000_000\n",
    );
    let server = ServerProcess::start(&["--config", &file, "--msg-burst", "9"]);
    let (client, greeting) = Client::connect(server.addr).await;
    let Frame::Greeting(greeting) = greeting else {
        panic!("{greeting:?}");
    };
    assert_eq!(greeting.limits.max_body, 1000, "from the file");
    assert_eq!(greeting.limits.msg_burst, 9, "the flag wins over the file");
    let limits = client.limits.as_ref().expect("LIMITS after the GREETING");
    assert_eq!(limits.queue_bytes(), Some(1_000_000), "from the file");
    let log = server.log_text();
    assert!(log.contains(&format!("settings from {file}")), "{log}");
}

#[test]
fn an_unknown_key_stops_the_server_naming_file_line_and_key() {
    let dir = TempDir::new("config-unknown");
    let file = write(
        &dir,
        "confab.toml",
        "listen = \"127.0.0.1:0\"\nin-memory = true\n\n# limits\nmax-conections = 10\n",
    );
    let (status, stderr) = run_binary_to_exit(&["--config", &file]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    let expected =
        format!("{file}:5: unknown key \"max-conections\" (did you mean \"max-connections\"?)");
    assert_eq!(stderr.trim_end(), expected);
}

#[test]
fn a_bad_value_stops_the_server_naming_file_line_and_key() {
    let dir = TempDir::new("config-bad");
    let file = write(
        &dir,
        "confab.toml",
        "listen = \"127.0.0.1:0\"\nin-memory = true\nmax-per-ip = -1\nlisten-backlog = 3\n",
    );
    let (status, stderr) = run_binary_to_exit(&["--config", &file]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    // Every error of the file, not only the first.
    assert_eq!(
        stderr.trim_end(),
        format!(
            "{file}:3: max-per-ip: invalid digit found in string\n\
             {file}:4: unknown key \"listen-backlog\""
        )
    );
    let (status, stderr) =
        run_binary_to_exit(&["--config", &dir.path().join("none").to_string_lossy()]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("none: cannot read it: "), "{stderr}");
}

#[test]
fn check_config_says_ok_or_lists_the_errors() {
    let dir = TempDir::new("config-check");
    let good = write(
        &dir,
        "good.toml",
        "max-connections = 500\nreserved-names = [\"root\"]\n",
    );
    let output = run(&["check-config", &good]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{good}: ok\n")
    );

    let bad = write(
        &dir,
        "bad.toml",
        "max-connections = \"many\"\nmax_rooms = 3\n",
    );
    let output = run(&["check-config", &bad]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "{bad}:1: max-connections: expected an integer, found string\n\
             {bad}:2: unknown key \"max_rooms\" (did you mean \"max-rooms\"?)\n"
        )
    );

    // Checks across settings too: LIMIT-9, and a flag that needs another.
    let small = write(&dir, "small.toml", "max-frame = 100\n");
    let output = run(&["check-config", &small]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!("{small}: --max-frame 100 is too small")),
        "{stderr}"
    );
    let half = write(&dir, "half.toml", "tls-cert = \"cert.pem\"\n");
    let output = run(&["check-config", &half]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--tls-key"), "{stderr}");
}

#[test]
fn config_example_prints_the_committed_example_which_checks_ok() {
    let output = run(&["config-example"]);
    assert!(output.status.success(), "{output:?}");
    let committed = std::fs::read_to_string(committed_example()).unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout) == committed,
        "contrib/confab.toml differs from `confab-server config-example`; regenerate it with \
         `cargo run -p confab-server -- config-example > contrib/confab.toml`"
    );
    let example = committed_example();
    let output = run(&["check-config", example.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}
