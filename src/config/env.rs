//! The process environment as the config loader sees it: the `TIMEWEAVE_*` variables (a
//! figment provider that nests keys on `__` and names the exact variable in errors) and the
//! systemd directories (`STATE_DIRECTORY`, `CREDENTIALS_DIRECTORY`). Tests build one from
//! explicit pairs instead of touching the process environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// Prefix of every config variable: `TIMEWEAVE_LEDGER__PATH` sets `ledger.path`.
pub const PREFIX: &str = "TIMEWEAVE_";
/// Separator of nested keys inside a variable name.
pub const SEPARATOR: &str = "__";
/// Variables with the prefix that are not config keys: the config file's path, and the
/// test harness's PostgreSQL cluster (`scripts/test`), which every process the suite starts
/// inherits.
const NOT_KEYS: &[&str] = &[
    "TIMEWEAVE_CONFIG",
    "TIMEWEAVE_TEST_POSTGRES_URL",
    "TIMEWEAVE_REQUIRE_POSTGRES",
];

/// Name of the metadata attached to values that came from the environment.
pub(crate) const METADATA_NAME: &str = "environment variable";

/// A snapshot of the environment variables the config loader reads. Its `Debug` shows
/// variable names only: values may be secrets.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl Environment {
    /// The current process environment (variables that are not valid UTF-8 are skipped).
    pub fn from_process() -> Self {
        Environment {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// No variables at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Exactly these variables (for tests and embedding).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Environment {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// systemd's `StateDirectory=` path (the first one when several are listed).
    pub fn state_directory(&self) -> Option<PathBuf> {
        first_path(self.get("STATE_DIRECTORY")?)
    }

    /// systemd's `LoadCredential=` directory (`%d` in unit files).
    pub fn credentials_directory(&self) -> Option<PathBuf> {
        first_path(self.get("CREDENTIALS_DIRECTORY")?)
    }

    /// The figment provider for the `TIMEWEAVE_*` variables.
    pub fn provider(&self) -> EnvProvider {
        EnvProvider {
            vars: self
                .vars
                .iter()
                .filter(|(k, _)| k.starts_with(PREFIX) && !NOT_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

fn first_path(value: &str) -> Option<PathBuf> {
    value.split(':').find(|p| !p.is_empty()).map(PathBuf::from)
}

/// The name of the variable that sets the config key `keys` (e.g. `["ledger", "path"]` ->
/// `TIMEWEAVE_LEDGER__PATH`).
pub fn var_name<K: AsRef<str>>(keys: &[K]) -> String {
    let joined: Vec<String> = keys
        .iter()
        .map(|k| k.as_ref().to_ascii_uppercase())
        .collect();
    format!("{PREFIX}{}", joined.join(SEPARATOR))
}

/// `TIMEWEAVE_*` variables as a figment provider: the name after the prefix is lower-cased
/// and split on `__` into nested keys; values are parsed like figment's own `Env` provider
/// (numbers, booleans, `[a, b]` arrays, else strings).
#[derive(Clone)]
pub struct EnvProvider {
    vars: Vec<(String, String)>,
}

impl std::fmt::Debug for EnvProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.vars.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Provider for EnvProvider {
    fn metadata(&self) -> Metadata {
        Metadata::named(METADATA_NAME).interpolater(|_: &Profile, keys: &[&str]| var_name(keys))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut root = Dict::new();
        for (name, raw) in &self.vars {
            let rest = &name[PREFIX.len()..];
            let keys: Vec<String> = rest
                .split(SEPARATOR)
                .map(|k| k.to_ascii_lowercase())
                .collect();
            if keys.iter().any(|k| k.is_empty()) {
                return Err(Error::from(format!(
                    "environment variable {name}: empty key segment (nested keys are \
                     separated by exactly two underscores, e.g. TIMEWEAVE_LEDGER__PATH)"
                )));
            }
            let value: Value = raw.parse().unwrap_or_else(|_| Value::from(raw.clone()));
            insert(&mut root, &keys, value);
        }
        let mut map = Map::new();
        map.insert(Profile::Default, root);
        Ok(map)
    }
}

fn insert(dict: &mut Dict, keys: &[String], value: Value) {
    match keys {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if entry.as_dict().is_none() {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_names_nest_on_double_underscore() {
        assert_eq!(
            var_name(&["providers", "acme", "api_secret"]),
            "TIMEWEAVE_PROVIDERS__ACME__API_SECRET"
        );
    }

    #[test]
    fn provider_nests_and_skips_non_keys() {
        let env = Environment::from_pairs([
            ("TIMEWEAVE_PROVIDERS__ACME__API_SECRET", "s3"),
            ("TIMEWEAVE_SYNC__HOT_WINDOW_DAYS_BACK", "40"),
            ("TIMEWEAVE_CONFIG", "/x.toml"),
            ("TIMEWEAVE_TEST_POSTGRES_URL", "postgres://t@127.0.0.1/t"),
            ("TIMEWEAVE_REQUIRE_POSTGRES", "1"),
            ("HOME", "/root"),
        ]);
        let data = env.provider().data().unwrap();
        let root = &data[&Profile::Default];
        assert!(!root.contains_key("config"));
        assert!(!root.contains_key("test_postgres_url") && !root.contains_key("require_postgres"));
        let secret = root["providers"].as_dict().unwrap()["acme"]
            .as_dict()
            .unwrap()["api_secret"]
            .as_str()
            .unwrap();
        assert_eq!(secret, "s3");
        let days = root["sync"].as_dict().unwrap()["hot_window_days_back"].to_u128();
        assert_eq!(days, Some(40));
    }

    #[test]
    fn debug_never_shows_values() {
        let env = Environment::from_pairs([("TIMEWEAVE_PROVIDERS__A__API_SECRET", "hunter2")]);
        let shown = format!("{env:?} {:?}", env.provider());
        assert!(shown.contains("TIMEWEAVE_PROVIDERS__A__API_SECRET") && !shown.contains("hunter2"));
    }

    #[test]
    fn systemd_directories() {
        let env = Environment::from_pairs([
            ("STATE_DIRECTORY", "/var/lib/timeweave:/var/lib/other"),
            (
                "CREDENTIALS_DIRECTORY",
                "/run/credentials/timeweave.service",
            ),
        ]);
        assert_eq!(
            env.state_directory(),
            Some(PathBuf::from("/var/lib/timeweave"))
        );
        assert_eq!(
            env.credentials_directory(),
            Some(PathBuf::from("/run/credentials/timeweave.service"))
        );
    }
}
