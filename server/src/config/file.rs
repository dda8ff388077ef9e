//! The configuration file: TOML whose keys are the long flags
//! (`max-connections = 10000`). Each value is checked by its flag's own
//! parser, and every error names the file, the line and the key. Loading is
//! a function from a path to validated settings, so a reload can run it
//! again; the command line then overrides what the file says.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Command, Parser};

use super::schema::{self, Key, Kind, CONFIG_FLAG};
use crate::Config;

/// A configuration file's settings, every value already checked.
#[derive(Debug, Clone)]
pub struct FileSettings {
    path: PathBuf,
    /// In file order: clap's id and the flag arguments that say the same.
    entries: Vec<(String, Vec<OsString>)>,
}

/// Reads and checks the file at `path`.
pub fn load(path: &Path) -> Result<FileSettings, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    FileSettings::parse(path, &text)
}

/// The configuration of the command line `args` (program name first): its
/// `--config` file's settings, overridden by the flags given on it.
pub fn resolve<I, T>(args: I) -> Result<Config, StartError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let matches = schema::lenient_command().try_get_matches_from(&args)?;
    let mut config = match matches.get_one::<PathBuf>(CONFIG_FLAG) {
        None => Config::try_parse_from(&args)?,
        Some(path) => {
            let settings = load(path)?;
            settings
                .under(&args)
                .map_err(|error| StartError::Merged(settings.path.clone(), error))?
        }
    };
    config.command_line = Some(args);
    Ok(config)
}

impl FileSettings {
    /// Checks `text`, the contents of the file at `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<FileSettings, FileError> {
        let invalid = |problems| FileError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let document = toml_edit::Document::parse(text).map_err(|error| {
            invalid(vec![Problem {
                line: line_of(text, error.span()),
                kind: ProblemKind::Syntax(error.message().to_string()),
            }])
        })?;
        let mut command = schema::lenient_command();
        let keys = schema::keys(&command);
        let table = document.as_table();
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        for (name, item) in table.iter() {
            let line = line_of(text, table.key(name).and_then(toml_edit::Key::span));
            let checked = match keys.iter().find(|key| key.name() == name) {
                Some(key) => setting(&mut command, key, item).map(|args| (key.id(), args)),
                None if name == CONFIG_FLAG => Err(ProblemKind::Nested),
                None if item.is_table_like() => Err(ProblemKind::Table(name.to_string())),
                None => Err(ProblemKind::Unknown {
                    key: name.to_string(),
                    suggestion: schema::suggest(name, &keys).map(str::to_string),
                }),
            };
            match checked {
                Ok((id, args)) => entries.push((id.to_string(), args)),
                Err(kind) => problems.push(Problem { line, kind }),
            }
        }
        if problems.is_empty() {
            Ok(FileSettings {
                path: path.to_path_buf(),
                entries,
            })
        } else {
            Err(invalid(problems))
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many settings the file holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The configuration these settings give under the command line `args`
    /// (program name first): a flag given there wins over the file.
    pub fn under(&self, args: &[OsString]) -> Result<Config, clap::Error> {
        let given = schema::lenient_command().try_get_matches_from(args)?;
        let mut merged: Vec<OsString> = args.iter().take(1).cloned().collect();
        if merged.is_empty() {
            merged.push("confab-server".into());
        }
        for (id, flags) in &self.entries {
            if given.value_source(id) != Some(ValueSource::CommandLine) {
                merged.extend(flags.iter().cloned());
            }
        }
        merged.extend(args.iter().skip(1).cloned());
        Config::try_parse_from(&merged)
    }

    /// The configuration of the file alone, as `check-config` sees it.
    pub fn alone(&self) -> Result<Config, clap::Error> {
        self.under(&[])
    }
}

/// The flag arguments that say what `item` says for `key`, each checked by
/// the flag's own parser.
fn setting(
    command: &mut Command,
    key: &Key,
    item: &toml_edit::Item,
) -> Result<Vec<OsString>, ProblemKind> {
    let wrong_type = || ProblemKind::WrongType {
        key: key.name().to_string(),
        expected: key.kind.expected(),
        found: item.type_name(),
    };
    let value = item.as_value().ok_or_else(wrong_type)?;
    let texts: Vec<String> = match (key.kind, value) {
        // A switch has no "off" flag: false is its default, said by omission.
        (Kind::Switch, toml_edit::Value::Boolean(on)) => {
            return Ok(if *on.value() {
                vec![format!("--{}", key.name()).into()]
            } else {
                Vec::new()
            })
        }
        (Kind::Integer, toml_edit::Value::Integer(n)) => vec![n.value().to_string()],
        (Kind::Text, toml_edit::Value::String(s)) => vec![s.value().clone()],
        (Kind::List { delimiter }, toml_edit::Value::Array(array)) => {
            let mut texts = Vec::new();
            for element in array.iter() {
                let text = element.as_str().ok_or_else(wrong_type)?;
                if let Some(d) = delimiter.filter(|d| text.contains(*d)) {
                    return Err(ProblemKind::BadValue {
                        key: key.name().to_string(),
                        message: format!("{text:?}: an entry cannot contain {d:?}"),
                    });
                }
                texts.push(text.to_string());
            }
            texts
        }
        _ => return Err(wrong_type()),
    };
    let flags: Vec<OsString> = texts
        .iter()
        .map(|text| format!("--{}={text}", key.name()).into())
        .collect();
    for flag in &flags {
        command
            .try_get_matches_from_mut([OsString::from("confab-server"), flag.clone()])
            .map_err(|error| ProblemKind::BadValue {
                key: key.name().to_string(),
                message: summary(&error),
            })?;
    }
    // An empty list is the flag given nothing, as `--reserved-names ""`:
    // one empty entry, which matches no name.
    if flags.is_empty() {
        return Ok(vec![format!("--{}=", key.name()).into()]);
    }
    Ok(flags)
}

/// A clap error in one line, without its usage text: the value parser's own
/// message when there is one (`invalid digit found in string`).
pub fn summary(error: &clap::Error) -> String {
    if let Some(source) = std::error::Error::source(error) {
        return source.to_string();
    }
    let text = error.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    let text = text.split("\n\nUsage:").next().unwrap_or(text);
    let text = text
        .split("\n\nFor more information")
        .next()
        .unwrap_or(text);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The 1-based line of `span`'s start (1 when the parser gave no span).
fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> usize {
    let start = span.map_or(0, |span| span.start).min(text.len());
    text.as_bytes()[..start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Why the server did not start from its command line and file.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The command line itself (clap prints and exits).
    #[error(transparent)]
    Usage(#[from] clap::Error),
    #[error(transparent)]
    File(#[from] FileError),
    /// The file and the command line together, e.g. a flag that needs
    /// another one neither gives.
    #[error("{} and the command line: {}", .0.display(), summary(.1))]
    Merged(PathBuf, clap::Error),
}

/// A configuration file that could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: cannot read it: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", Lines(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

/// One error in a file, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    #[error("{0}")]
    Syntax(String),
    #[error("unknown key {key:?}{}", Suggestion(suggestion))]
    Unknown {
        key: String,
        suggestion: Option<String>,
    },
    #[error("{key}: expected {expected}, found {found}")]
    WrongType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("{key}: {message}")]
    BadValue { key: String, message: String },
    #[error("config: a configuration file cannot name another one")]
    Nested,
    #[error("unknown table {0:?}: settings are keys at the top of the file")]
    Table(String),
}

/// `path:line: problem`, one a line.
struct Lines<'a>(&'a Path, &'a [Problem]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.1.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}: {}", self.0.display(), problem.line, problem.kind)?;
        }
        Ok(())
    }
}

struct Suggestion<'a>(&'a Option<String>);

impl fmt::Display for Suggestion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(f, " (did you mean {key:?}?)"),
            None => Ok(()),
        }
    }
}
