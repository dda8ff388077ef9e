//! The rule a new account's password must pass (`[AUTH-3]`): at least
//! `--min-password-length` characters. Only registrations are judged; a
//! login never is, so raising the minimum locks no one out.

/// A password shorter than the server's minimum; says the minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("passwords on this server have at least {min} characters")]
pub struct TooShort {
    pub min: u16,
}

/// Whether `password` may be a new account's password under `min`.
/// Characters are Unicode scalar values, as `[AUTH-3]` counts them: a
/// password of eight accented letters is eight characters, not sixteen bytes.
pub fn check_new(password: &str, min: u16) -> Result<(), TooShort> {
    if password.chars().count() < usize::from(min) {
        Err(TooShort { min })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        // spec: AUTH-3
        assert_eq!(check_new("x", 8), Err(TooShort { min: 8 }));
        assert_eq!(check_new("1234567", 8), Err(TooShort { min: 8 }));
        assert_eq!(check_new("12345678", 8), Ok(()));
        assert_eq!(check_new("éééé", 5), Err(TooShort { min: 5 }));
        assert_eq!(check_new("ééééé", 5), Ok(()));
    }
}
