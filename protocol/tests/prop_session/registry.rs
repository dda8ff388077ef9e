//! The model name registry: what the spec says of a requested name.

use super::*;

// ------------------------------------------------------------ the registry

/// Names already logged in on other connections.
pub(crate) const TAKEN: &[&str] = &["Alice", "Émile", "日本"];

/// What the spec says about a requested name with `max_username` 32
/// (`[HANDSHAKE-5]`, `[SEC-3]`, `[SEC-4]`), given `TAKEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameStatus {
    Free,
    Taken,
    Invalid,
}

pub(crate) const POOL: &[(&str, NameStatus)] = &[
    ("bob", NameStatus::Free),
    ("Bob", NameStatus::Free),
    ("carol", NameStatus::Free),
    ("zoë", NameStatus::Free),
    ("x#y", NameStatus::Free),
    ("日本語", NameStatus::Free),
    ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NameStatus::Free), // 32 bytes
    // 16 decomposed é: 48 bytes raw, 32 after NFC.
    (
        "e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}",
        NameStatus::Free,
    ),
    ("alice", NameStatus::Taken),
    ("ALICE", NameStatus::Taken),
    ("Alice", NameStatus::Taken),
    ("émile", NameStatus::Taken),
    ("e\u{301}mile", NameStatus::Taken),
    ("E\u{301}MILE", NameStatus::Taken),
    ("日本", NameStatus::Taken),
    ("", NameStatus::Invalid),
    (" ", NameStatus::Invalid),
    ("a b", NameStatus::Invalid),
    ("a\u{3000}b", NameStatus::Invalid),
    ("tab\t", NameStatus::Invalid),
    ("bell\u{7}", NameStatus::Invalid),
    ("nel\u{85}", NameStatus::Invalid),
    ("evil\u{202E}txt", NameStatus::Invalid),
    ("rlm\u{200F}", NameStatus::Invalid),
    ("zero\u{200B}w", NameStatus::Invalid),
    ("\u{FEFF}bom", NameStatus::Invalid),
    ("#room", NameStatus::Invalid),
    ("@bob", NameStatus::Invalid),
    ("/me", NameStatus::Invalid),
    ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NameStatus::Invalid), // 33 bytes
    ("日日日日日日日日日日日", NameStatus::Invalid),             // 33 bytes
];

/// The model registry: the verdict `normalize_name` and `name_key` give.
pub(crate) struct Registry {
    pub(crate) max_username: usize,
    pub(crate) taken: BTreeSet<String>,
}

impl Registry {
    pub(crate) fn new(max_username: usize) -> Self {
        let taken = TAKEN
            .iter()
            .map(|name| name_key(&normalize_name(name, 255).expect("taken names are valid")))
            .collect();
        Registry {
            max_username,
            taken,
        }
    }

    /// `Ok(stored name)` or the rejection code.
    pub(crate) fn judge(&self, username: &str) -> Result<String, ErrorCode> {
        match normalize_name(username, self.max_username) {
            Err(_) => Err(ErrorCode::NAME_INVALID),
            Ok(name) if self.taken.contains(&name_key(&name)) => Err(ErrorCode::NAME_TAKEN),
            Ok(name) => Ok(name),
        }
    }
}

pub(crate) fn username() -> BoxedStrategy<Str8> {
    prop_oneof![
        1 => prop::sample::select(POOL)
            .prop_filter("free", |(_, v)| *v == NameStatus::Free)
            .prop_map(|(name, _)| Str8::new(name).expect("pool names fit")),
        3 => prop::sample::select(POOL).prop_map(|(name, _)| Str8::new(name).expect("pool names fit")),
        1 => s::str8(),
    ]
    .boxed()
}
