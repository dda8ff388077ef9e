//! The keys a configuration file may hold, read from the clap definition of
//! [`Config`](crate::Config): one key per long flag, spelled as the flag
//! (kebab-case), so `--help`, the file and the example share one source.

use std::any::TypeId;

use clap::{Arg, ArgAction, Command, CommandFactory};

/// The flag that names the file itself: a file cannot name another.
pub(crate) const CONFIG_FLAG: &str = "config";

/// What a key's TOML value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A flag without a value (`--in-memory`): `true` or `false`.
    Switch,
    /// A number: a TOML integer, checked by the flag's own parser.
    Integer,
    /// Any other single value (address, path, name): a TOML string.
    Text,
    /// A flag given a list (`--reserved-names a,b`): an array of strings.
    List { delimiter: Option<char> },
}

impl Kind {
    /// The expected TOML type, for error messages.
    pub(crate) fn expected(self) -> &'static str {
        match self {
            Kind::Switch => "true or false",
            Kind::Integer => "an integer",
            Kind::Text => "a string",
            Kind::List { .. } => "an array of strings",
        }
    }
}

/// One setting of the file: the flag it stands for and its value's kind.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) arg: Arg,
    pub(crate) kind: Kind,
}

impl Key {
    /// The key as written in the file: the long flag's name.
    pub(crate) fn name(&self) -> &str {
        self.arg.get_long().unwrap_or_default()
    }

    /// clap's id, as `ArgMatches` knows it.
    pub(crate) fn id(&self) -> &str {
        self.arg.get_id().as_str()
    }
}

/// The command line's definition with the requirements between flags left
/// out: one value is checked alone, and the file may supply a flag another
/// one requires. The full definition checks them once everything is merged.
pub(crate) fn lenient_command() -> Command {
    crate::Config::command()
        .mut_args(|arg| arg.requires(clap::builder::Resettable::<clap::Id>::Reset))
}

/// Every setting of `command`, in `--help` order: each long flag that takes
/// a value or is a switch, but not help, version or `--config`.
pub(crate) fn keys(command: &Command) -> Vec<Key> {
    command
        .get_arguments()
        .filter(|arg| arg.get_long().is_some() && arg.get_id() != CONFIG_FLAG)
        .filter_map(|arg| {
            let kind = match arg.get_action() {
                ArgAction::SetTrue => Kind::Switch,
                ArgAction::Append => Kind::List {
                    delimiter: arg.get_value_delimiter(),
                },
                ArgAction::Set if is_integer(arg) => Kind::Integer,
                ArgAction::Set => Kind::Text,
                _ => return None,
            };
            Some(Key {
                arg: arg.clone(),
                kind,
            })
        })
        .collect()
}

fn is_integer(arg: &Arg) -> bool {
    let parsed = arg.get_value_parser().type_id();
    [
        TypeId::of::<u8>(),
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
        TypeId::of::<i8>(),
        TypeId::of::<i16>(),
        TypeId::of::<i32>(),
        TypeId::of::<i64>(),
        TypeId::of::<isize>(),
    ]
    .iter()
    .any(|integer| parsed == *integer)
}

/// The known key `unknown` was most likely meant to be: the same words with
/// `_` for `-`, or a near spelling (at most two edits, more for long keys).
pub(crate) fn suggest<'k>(unknown: &str, keys: &'k [Key]) -> Option<&'k str> {
    let kebab = unknown.replace('_', "-").to_lowercase();
    if let Some(key) = keys.iter().find(|key| key.name() == kebab) {
        return Some(key.name());
    }
    keys.iter()
        .map(|key| (edit_distance(&kebab, key.name()), key.name()))
        .filter(|&(distance, name)| distance <= 2 || (distance <= 4 && distance * 4 <= name.len()))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, name)| name)
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_long_flag_but_config_is_a_key() {
        let command = lenient_command();
        let keys = keys(&command);
        let flags: Vec<&str> = command
            .get_arguments()
            .filter_map(Arg::get_long)
            .filter(|long| *long != CONFIG_FLAG)
            .collect();
        let names: Vec<&str> = keys.iter().map(Key::name).collect();
        assert_eq!(names, flags);
        let kind = |name: &str| keys.iter().find(|k| k.name() == name).unwrap().kind;
        assert_eq!(kind("max-connections"), Kind::Integer);
        assert_eq!(kind("listen"), Kind::Text);
        assert_eq!(kind("in-memory"), Kind::Switch);
        assert_eq!(
            kind("reserved-names"),
            Kind::List {
                delimiter: Some(',')
            }
        );
    }

    #[test]
    fn suggestions_are_near_spellings() {
        let keys = keys(&lenient_command());
        assert_eq!(suggest("max-conections", &keys), Some("max-connections"));
        assert_eq!(suggest("max_per_ip", &keys), Some("max-per-ip"));
        assert_eq!(suggest("Listen", &keys), Some("listen"));
        assert_eq!(suggest("colour", &keys), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
