//! Username and room-name rules (`[SEC-3]`, `[SEC-4]`, `[SEC-8]`), shared by
//! server and client so both judge a name the same way.

use unicode_normalization::UnicodeNormalization;
use unicode_security::general_security_profile::IdentifierType;
use unicode_security::GeneralSecurityProfile;

/// Why a name is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is {len} bytes long; the limit is {max}")]
    TooLong { len: usize, max: usize },
    #[error("the name contains the character U+{:04X}, which names may not contain", u32::from(*.0))]
    ForbiddenChar(char),
    #[error("a name may not start with '/', '@' or '#'")]
    LeadingSigil,
}

/// Bidirectional formatting characters (`[SEC-4]`).
const BIDI: &[char] = &[
    '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

/// Zero-width and invisible characters (`[SEC-4]`).
const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{2061}', '\u{2062}', '\u{2063}', '\u{2064}',
    '\u{FEFF}',
];

/// `[TYPES-5]`: white space is the Unicode White_Space property, which is
/// exactly what `char::is_whitespace` tests (25 code points; not U+200B).
pub fn is_white_space(ch: char) -> bool {
    ch.is_whitespace()
}

/// `[TYPES-5]`: characters that show nothing: white space, bidirectional
/// formatting, zero-width and invisible characters.
pub fn is_invisible(ch: char) -> bool {
    is_white_space(ch) || BIDI.contains(&ch) || INVISIBLE.contains(&ch)
}

/// Characters that render as nothing or as blank space without being white
/// space or default-ignorable (`[SEC-4]`): the Braille blank, the Hangul fillers.
const BLANK: &[char] = &['\u{2800}', '\u{115F}', '\u{1160}', '\u{3164}', '\u{FFA0}'];

fn forbidden(ch: char) -> bool {
    ch.is_control()
        || is_invisible(ch)
        || BLANK.contains(&ch)
        // Soft hyphen, combining grapheme joiner, variation selectors, tags…
        || ch.identifier_type() == Some(IdentifierType::Default_Ignorable)
}

/// The NFC form of `raw` if it is a valid name of at most `max_bytes` bytes.
pub fn normalize_name(raw: &str, max_bytes: usize) -> Result<String, NameError> {
    // spec: SEC-3 — normalise first, then judge the normalised form.
    let name: String = raw.nfc().collect();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > max_bytes {
        return Err(NameError::TooLong {
            len: name.len(),
            max: max_bytes,
        });
    }
    // spec: SEC-4
    if let Some(ch) = name.chars().find(|&ch| forbidden(ch)) {
        return Err(NameError::ForbiddenChar(ch));
    }
    if name.starts_with(['/', '@', '#']) {
        return Err(NameError::LeadingSigil);
    }
    Ok(name)
}

/// The key under which a normalised name is unique: case-insensitive (`[SEC-3]`).
pub fn name_key(normalized: &str) -> String {
    normalized.to_lowercase()
}

/// The key under which look-alike usernames collide (`[SEC-8]`): the
/// Unicode TR39 skeleton of the lower-cased NFKC form, so that `ａｄｍｉｎ`
/// (fullwidth), `аdmin` (Cyrillic а) and `ſerver` (long s) are taken or
/// reserved whenever `admin` or `server` is.
pub fn user_key(normalized: &str) -> String {
    let folded = normalized.nfkc().collect::<String>().to_lowercase();
    unicode_security::skeleton(&folded).collect()
}

/// Whether a message body is blank: empty, or nothing but characters that
/// show nothing (`[MSG-6]`, `[TYPES-5]`).
pub fn is_blank(body: &str) -> bool {
    body.chars().all(is_invisible)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_checked() {
        // spec: SEC-3
        let decomposed = "e\u{0301}mile";
        assert_eq!(normalize_name(decomposed, 32).unwrap(), "\u{00E9}mile");
        assert_eq!(name_key("Émile"), name_key("éMILE"));
        // spec: SEC-4
        assert_eq!(normalize_name("", 32), Err(NameError::Empty));
        assert_eq!(
            normalize_name("a b", 32),
            Err(NameError::ForbiddenChar(' '))
        );
        assert_eq!(
            normalize_name("evil\u{202E}txt", 32),
            Err(NameError::ForbiddenChar('\u{202E}'))
        );
        assert_eq!(
            normalize_name("zero\u{200B}width", 32),
            Err(NameError::ForbiddenChar('\u{200B}'))
        );
        assert_eq!(
            normalize_name("bell\u{7}", 32),
            Err(NameError::ForbiddenChar('\u{7}'))
        );
        assert_eq!(normalize_name("#room", 32), Err(NameError::LeadingSigil));
        assert_eq!(
            normalize_name(&"a".repeat(33), 32),
            Err(NameError::TooLong { len: 33, max: 32 })
        );
        assert_eq!(normalize_name("日本語", 32).unwrap(), "日本語");
    }

    #[test]
    fn invisible_and_blank_characters_are_refused() {
        // spec: SEC-4
        for (name, ch) in [
            ("ad\u{00AD}min", '\u{00AD}'),
            ("admin\u{034F}", '\u{034F}'),
            ("\u{3164}", '\u{3164}'),
            ("\u{2800}", '\u{2800}'),
            ("a\u{FE0F}", '\u{FE0F}'),
            ("a\u{E0041}", '\u{E0041}'),
            ("a\u{180E}b", '\u{180E}'),
        ] {
            assert_eq!(
                normalize_name(name, 32),
                Err(NameError::ForbiddenChar(ch)),
                "{name:?}"
            );
        }
        // Visible letters of every script stay allowed.
        for name in ["аня", "ſerver", "ａｄｍｉｎ", "日本語", "émile", "a-b_c.d"] {
            assert!(normalize_name(name, 32).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn look_alike_names_share_a_key() {
        // spec: SEC-8
        let admin = user_key("admin");
        for name in [
            "ａｄｍｉｎ",
            "\u{0430}dmin",
            "ADMIN",
            "Admin",
            "\u{0410}DMIN",
        ] {
            assert_eq!(user_key(name), admin, "{name:?}");
        }
        assert_eq!(user_key("ſerver"), user_key("server"));
        assert_eq!(user_key("\u{0430}lice"), user_key("alice"));
        assert_eq!(user_key("Émile"), user_key("e\u{0301}mile"));
        assert_ne!(user_key("alice"), user_key("alicia"));
        assert_ne!(user_key("bob"), user_key("rob"));
    }

    #[test]
    fn blank_bodies_are_detected() {
        // spec: MSG-6, TYPES-5
        assert!(is_blank(""));
        assert!(is_blank(" \t\n\u{3000}"));
        assert!(!is_blank(" hi "));
        // Zero-width, invisible and bidi formatting characters show nothing.
        assert!(is_blank("\u{200B}"));
        assert!(is_blank("\u{FEFF} \u{2060}\u{200E}\u{202E}"));
        // Not White_Space since Unicode 6.3, and not in the lists: a body.
        assert!(!is_blank("\u{180E}"));
        assert!(!is_blank("\u{7}"));
    }

    #[test]
    fn white_space_is_the_unicode_property_exactly() {
        // spec: TYPES-5
        let white_space: Vec<u32> = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| is_white_space(c))
            .map(u32::from)
            .collect();
        let mut expected: Vec<u32> = (0x09..=0x0D).chain(0x2000..=0x200A).collect();
        expected.extend([
            0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
        ]);
        expected.sort_unstable();
        assert_eq!(white_space, expected);
    }
}
