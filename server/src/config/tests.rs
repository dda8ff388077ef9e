//! The configuration file against the command line: errors name the line
//! and the key, the command line wins, and the example is the defaults.

use std::ffi::OsString;
use std::path::Path;

use clap::Parser;

use super::file::{FileError, FileSettings, Problem, ProblemKind};
use super::{example, resolve, Config};

fn problems(text: &str) -> Vec<Problem> {
    match FileSettings::parse(Path::new("confab.toml"), text) {
        Err(FileError::Invalid { problems, .. }) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

fn messages(text: &str) -> String {
    match FileSettings::parse(Path::new("confab.toml"), text) {
        Err(e) => e.to_string(),
        Ok(settings) => panic!("expected errors, got {settings:?}"),
    }
}

/// The configuration of `text` under the command line `args` (after the
/// program's name).
fn under(text: &str, args: &[&str]) -> Config {
    let settings = FileSettings::parse(Path::new("confab.toml"), text).unwrap();
    let args: Vec<OsString> = std::iter::once("confab-server")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect();
    settings.under(&args).unwrap()
}

/// Two configurations are the same settings (`Config` is not `PartialEq`:
/// it holds a test hook).
/// Equal settings; where they were read from (`command_line`) aside.
fn same(a: &Config, b: &Config) -> bool {
    let settings = |c: &Config| {
        format!(
            "{:?}",
            Config {
                command_line: None,
                ..c.clone()
            }
        )
    };
    settings(a) == settings(b)
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_a_suggestion() {
    let text = "listen = \"127.0.0.1:0\"\n\n# limits\nmax-conections = 10\n";
    assert_eq!(
        messages(text),
        "confab.toml:4: unknown key \"max-conections\" (did you mean \"max-connections\"?)"
    );
    assert_eq!(
        problems("max_per_ip = 3\n")[0].kind,
        ProblemKind::Unknown {
            key: "max_per_ip".into(),
            suggestion: Some("max-per-ip".into())
        }
    );
    assert_eq!(
        messages("[server]\nlisten = \"127.0.0.1:0\"\n"),
        "confab.toml:1: unknown table \"server\": settings are keys at the top of the file"
    );
    assert_eq!(
        messages("config = \"other.toml\"\n"),
        "confab.toml:1: config: a configuration file cannot name another one"
    );
}

#[test]
fn a_bad_value_is_named_with_its_line_and_the_parsers_reason() {
    assert_eq!(
        messages("listen = \"127.0.0.1:0\"\n\nmax-per-ip = -3\n"),
        "confab.toml:3: max-per-ip: invalid digit found in string"
    );
    let text = "listen = \"nowhere\"\nmax-username = 300\n";
    let all = messages(text);
    assert!(
        all.starts_with("confab.toml:1: listen: invalid socket address syntax\n"),
        "{all}"
    );
    assert!(
        all.contains("confab.toml:2: max-username: 300 is not in 0..=255"),
        "{all}"
    );
    assert_eq!(
        messages("reserved-names = [\"a,b\"]\n"),
        "confab.toml:1: reserved-names: \"a,b\": an entry cannot contain ','"
    );
}

#[test]
fn a_value_of_the_wrong_type_says_what_was_expected() {
    assert_eq!(
        messages("listen = 7667\nin-memory = \"yes\"\nreserved-names = \"admin\"\n"),
        "confab.toml:1: listen: expected a string, found integer\n\
         confab.toml:2: in-memory: expected true or false, found string\n\
         confab.toml:3: reserved-names: expected an array of strings, found string"
    );
    assert_eq!(
        messages("max-per-ip = \"3\"\n"),
        "confab.toml:1: max-per-ip: expected an integer, found string"
    );
}

#[test]
fn a_syntax_error_names_its_line() {
    let problems = problems("max-per-ip = 3\nmax-rooms 4\n");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, 2);
    assert!(matches!(problems[0].kind, ProblemKind::Syntax(_)));
}

#[test]
fn the_file_sets_what_the_command_line_does_not() {
    let text = "max-per-ip = 3\nmax-connections = 50\nreserved-names = [\"root\", \"ops\"]\n\
                in-memory = true\nlisten = \"127.0.0.1:0\"\n";
    let config = under(text, &["--max-per-ip", "9"]);
    assert_eq!(config.max_per_ip, 9, "the command line wins");
    assert_eq!(config.max_connections, 50);
    assert_eq!(config.reserved_names, ["root", "ops"]);
    assert!(config.in_memory);
    assert_eq!(config.listen.to_string(), "127.0.0.1:0");

    // A list given on the command line replaces the file's, not adds to it.
    let config = under(text, &["--reserved-names", "a,b", "--reserved-names=c"]);
    assert_eq!(config.reserved_names, ["a", "b", "c"]);

    // As `--reserved-names ""`: one empty name, which no user can have.
    assert_eq!(under("reserved-names = []\n", &[]).reserved_names, [""]);
    assert!(!under("in-memory = false\n", &[]).in_memory);
}

#[test]
fn flags_that_need_each_other_may_come_from_both() {
    let config = under("tls-cert = \"cert.pem\"\n", &["--tls-key", "key.pem"]);
    assert_eq!(config.tls_cert.unwrap(), Path::new("cert.pem"));
    let settings = FileSettings::parse(Path::new("c.toml"), "tls-key = \"k.pem\"\n").unwrap();
    let alone = settings.alone().unwrap_err();
    assert!(
        super::summary(&alone).contains("--tls-cert"),
        "{}",
        super::summary(&alone)
    );
}

#[test]
fn without_a_file_the_command_line_alone_decides() {
    let args = ["confab-server", "--max-rooms", "7"];
    let resolved = resolve(args).unwrap();
    assert!(same(&resolved, &Config::parse_from(args)));
}

/// The committed example is the generated one, byte for byte: regenerate it
/// with `cargo run -p confab-server -- config-example > contrib/confab.toml`.
#[test]
fn the_committed_example_is_the_generated_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/confab.toml");
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == example(),
        "{} differs from `confab-server config-example`; regenerate it with \
         `cargo run -p confab-server -- config-example > contrib/confab.toml`",
        path.display()
    );
}

#[test]
fn the_example_is_the_defaults_commented_or_not() {
    let defaults = Config::parse_from(["confab-server"]);
    let text = example();
    assert!(same(&under(&text, &[]), &defaults));
    // Every setting line uncommented, but those with no default.
    let mut unset = 0;
    let mut previous = "";
    let uncommented: String = text
        .lines()
        .map(|line| {
            let no_default = previous == "# Not set by default.";
            previous = line;
            match line.strip_prefix('#') {
                Some(_) if no_default => {
                    unset += 1;
                    format!("{line}\n")
                }
                Some(setting) if setting.starts_with(|c: char| c.is_ascii_lowercase()) => {
                    format!("{setting}\n")
                }
                _ => format!("{line}\n"),
            }
        })
        .collect();
    let settings = FileSettings::parse(Path::new("confab.toml"), &uncommented).unwrap();
    let keys = super::schema::keys(&super::schema::lenient_command());
    // The TLS files, the operators, the metrics address, the cluster and the node's name.
    assert_eq!(unset, 6);
    assert_eq!(
        settings.len(),
        keys.len() - unset,
        "all but those with no default"
    );
    assert!(same(&settings.alone().unwrap(), &defaults));
}

/// The README's example configuration ("Running a public server") is a file
/// the server starts with, so it cannot drift from the settings.
#[test]
fn the_readme_example_is_a_valid_file() {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
    let section = readme
        .split("### An example configuration")
        .nth(1)
        .expect("the README's example section");
    let text = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block in it");
    let settings = FileSettings::parse(Path::new("confab.toml"), text).unwrap();
    let config = settings.alone().unwrap();
    assert_eq!(config.operators, ["alice", "bob"]);
    assert!(config.tls_cert.is_some() && config.metrics_listen.is_some());
    config.check_frames_fit().unwrap();
}
