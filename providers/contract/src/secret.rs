//! A secret string (API secret, token, app password) that never prints: its `Debug` and
//! `Display` show `***`, so a secret cannot reach a log line or an error by accident.

use std::fmt;

/// The shortest secret [`Secret::redact_in`] looks for.
pub const MIN_REDACTED_LEN: usize = 4;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it (a request header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Replaces every occurrence of the secret in `text` with `[redacted]` (a provider's
    /// answer that quotes the credentials back). A secret shorter than
    /// [`MIN_REDACTED_LEN`] characters is left alone: it would blank out ordinary words.
    pub fn redact_in(&self, text: &mut String) {
        let value = self.0.trim();
        if value.chars().count() >= MIN_REDACTED_LEN && text.contains(value) {
            *text = text.replace(value, "[redacted]");
        }
    }

    /// A short, one-way name for the secret (`sha256:` and 12 hex digits of its SHA-256),
    /// to tell two credentials apart in an account's identity without revealing either.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.0.trim().as_bytes());
        format!("sha256:{}", &hex::encode(digest)[..12])
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn never_prints() {
        let s = super::Secret::new("tt_abcdef");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "tt_abcdef");
    }

    #[test]
    fn redacting_blanks_every_occurrence_and_leaves_short_secrets_alone() {
        let mut text = "invalid token tt_abcdef (tt_abcdef)".to_owned();
        super::Secret::new(" tt_abcdef\n").redact_in(&mut text);
        assert_eq!(text, "invalid token [redacted] ([redacted])");
        let mut text = "a bad answer".to_owned();
        super::Secret::new("bad").redact_in(&mut text);
        assert_eq!(text, "a bad answer");
    }

    #[test]
    fn a_fingerprint_tells_secrets_apart_without_showing_them() {
        let a = super::Secret::new("tt_abcdef").fingerprint();
        assert_eq!(a, super::Secret::new(" tt_abcdef\n").fingerprint());
        assert_ne!(a, super::Secret::new("tt_abcdeg").fingerprint());
        assert!(
            a.starts_with("sha256:") && a.len() == 19 && !a.contains("abcdef"),
            "{a}"
        );
    }
}
