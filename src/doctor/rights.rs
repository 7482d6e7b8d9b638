//! Rights: what the credentials may read and write (`Provider::rights`), weighed against
//! the configured mode. A right the mode needs and the token lacks is an error; where the
//! provider cannot tell what a token may write without a write, a writing mode is a warning
//! that names `--write-probe`.

use timeweave_contract::{KnownRights, Provider, Rights};

use super::{Finding, Verdict};
use crate::config::ProviderConfig;

const CHECK: &str = "rights";

pub(super) async fn finding(p: &ProviderConfig, provider: &dyn Provider, probed: bool) -> Finding {
    match provider.rights().await {
        Ok(Rights::Known(known)) => weighed(p, &known),
        Ok(Rights::Unknown(why)) => unknown(p, &why, probed),
        Err(e) => Finding::new(
            CHECK,
            Verdict::Warning,
            format!("the credentials' rights could not be read: {e}"),
        ),
    }
}

fn weighed(p: &ProviderConfig, known: &KnownRights) -> Finding {
    let mode = p.mode.as_str();
    let held = &known.held;
    if !known.missing_to_read.is_empty() {
        return Finding::new(
            CHECK,
            Verdict::Error,
            format!(
                "the credentials hold {held}; to list what timeweave syncs they also need {}",
                known.missing_to_read.join(", ")
            ),
        )
        .fix(&known.grant);
    }
    match (known.missing_to_write.is_empty(), p.mode.pushes()) {
        (true, _) => Finding::new(
            CHECK,
            Verdict::Ok,
            format!("the credentials hold {held}: every right mode = \"{mode}\" needs"),
        ),
        (false, true) => Finding::new(
            CHECK,
            Verdict::Error,
            format!(
                "the credentials hold {held}, but mode = \"{mode}\" writes to this account and \
                 they lack {}",
                known.missing_to_write.join(", ")
            ),
        )
        .fix(format!(
            "{}; or set mode = \"pull\" if this account is only read",
            known.grant
        )),
        (false, false) => Finding::new(
            CHECK,
            Verdict::Ok,
            format!(
                "the credentials hold {held}: enough for mode = \"{mode}\", which never writes \
                 (they lack {})",
                known.missing_to_write.join(", ")
            ),
        ),
    }
}

fn unknown(p: &ProviderConfig, why: &str, probed: bool) -> Finding {
    let mode = p.mode.as_str();
    match (p.mode.pushes(), probed) {
        (false, _) => Finding::new(
            CHECK,
            Verdict::Ok,
            format!("{why}; mode = \"{mode}\" never writes"),
        ),
        (true, true) => Finding::new(
            CHECK,
            Verdict::Ok,
            format!("{why}: the probe entry below tries it"),
        ),
        (true, false) => Finding::new(
            CHECK,
            Verdict::Warning,
            format!(
                "{why}: whether mode = \"{mode}\" may write here shows only on a write (the \
                 reading check above covers what it may read)"
            ),
        )
        .fix(format!(
            "run `timeweave doctor --write-probe --provider {}` (one probe entry, created and \
             deleted again)",
            p.name
        )),
    }
}
