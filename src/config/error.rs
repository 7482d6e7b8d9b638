//! What can go wrong loading the config, as messages an operator can act on: each
//! [`Problem`] names the key, where its value came from (file, environment variable or
//! default) and what is expected.

use std::fmt;
use std::path::PathBuf;

use figment::error::Kind;
use figment::Source;

use super::env::{var_name, METADATA_NAME};

/// Where the config file path came from, for the "not found" message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathOrigin {
    /// `--config PATH`.
    Flag,
    /// The `TIMEWEAVE_CONFIG` environment variable.
    EnvVar,
    /// The built-in default, `/etc/timeweave/config.toml`.
    Default,
}

impl fmt::Display for PathOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathOrigin::Flag => "given with --config",
            PathOrigin::EnvVar => "given by the TIMEWEAVE_CONFIG environment variable",
            PathOrigin::Default => {
                "the default location; no --config flag or TIMEWEAVE_CONFIG variable was given"
            }
        })
    }
}

/// One thing wrong with the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key, e.g. `providers.acme.schedule` (empty for whole-file problems).
    pub key: String,
    /// Where the value came from: a file path, `environment variable TIMEWEAVE_...`, or
    /// `default`.
    pub origin: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.key.is_empty(), self.origin.is_empty()) {
            (true, true) => write!(f, "{}", self.message),
            (true, false) => write!(f, "{}: {}", self.origin, self.message),
            (false, true) => write!(f, "{}: {}", self.key, self.message),
            (false, false) => write!(f, "{} (from {}): {}", self.key, self.origin, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no config file at {path} ({origin}).\n\
         To start, copy the commented example and edit it:\n    \
         install -D -m 0644 config.example.toml {path}\n\
         (config.example.toml is in the source tree and in /usr/share/doc/timeweave/; keep \
         secrets out of the file, see its header), or point to another file with \
         --config PATH or TIMEWEAVE_CONFIG=PATH."
    )]
    NotFound { path: PathBuf, origin: PathOrigin },

    #[error("cannot read config file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}", render_problems(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The individual problems (empty for `NotFound`/`Unreadable`).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(p) => p,
            _ => &[],
        }
    }
}

fn render_problems(problems: &[Problem]) -> String {
    let mut out = match problems.len() {
        1 => "invalid configuration:".to_string(),
        n => format!("invalid configuration ({n} problems):"),
    };
    for p in problems {
        out.push_str("\n  - ");
        out.push_str(&p.to_string().replace('\n', "\n    "));
    }
    out
}

/// Describes where a value with this metadata came from.
pub(crate) fn describe_origin(md: &figment::Metadata, keys: &[&str]) -> String {
    if md.name == METADATA_NAME {
        return format!("environment variable {}", var_name(keys));
    }
    match &md.source {
        Some(Source::File(path)) => path.display().to_string(),
        Some(other) => other.to_string(),
        None => md.name.to_string(),
    }
}

/// Turns figment's (serde's) errors into problems: key, origin and a plain message, with a
/// "did you mean" for a misspelt key.
pub(crate) fn from_figment(err: figment::Error) -> Vec<Problem> {
    err.into_iter()
        .map(|e| {
            // For an unknown field, figment's path already ends with the field's name.
            let keys: Vec<String> = e.path.clone();
            let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let origin = e
                .metadata
                .as_ref()
                .map(|md| describe_origin(md, &key_refs))
                .unwrap_or_default();
            Problem {
                key: keys.join("."),
                origin,
                message: describe_kind(&e.kind),
            }
        })
        .collect()
}

fn describe_kind(kind: &Kind) -> String {
    match kind {
        Kind::UnknownField(field, expected) => {
            let mut msg = format!("unknown option `{field}`");
            if let Some(best) = closest(field, expected) {
                msg.push_str(&format!("; did you mean `{best}`?"));
            }
            if !expected.is_empty() {
                msg.push_str(&format!(" (valid here: {})", expected.join(", ")));
            }
            msg
        }
        Kind::UnknownVariant(value, expected) => format!(
            "unknown value `{value}`; expected one of: {}",
            expected
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Kind::InvalidType(actual, expected) => {
            format!("wrong type: found {actual}, expected {expected}")
        }
        Kind::InvalidValue(actual, expected) => {
            format!("invalid value: found {actual}, expected {expected}")
        }
        other => other.to_string(),
    }
}

/// The candidate nearest to `word` by edit distance, if it is close enough to be a typo.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_keys_only() {
        let keys = ["schedule", "base_url", "kind"];
        assert_eq!(closest("scheduel", &keys), Some("schedule"));
        assert_eq!(closest("baseurl", &keys), Some("base_url"));
        assert_eq!(closest("colour", &keys), None);
    }

    #[test]
    fn problem_display_names_key_and_origin() {
        let p = Problem {
            key: "providers.acme.schedule".into(),
            origin: "/etc/timeweave/config.toml".into(),
            message: "bad".into(),
        };
        assert_eq!(
            p.to_string(),
            "providers.acme.schedule (from /etc/timeweave/config.toml): bad"
        );
    }
}
