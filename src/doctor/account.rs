//! Account identity: the account the instance reaches, and whether it is the one the ledger
//! is bound to (the engine refuses to sync another one; see `sync::binding`).

use timeweave_contract::Provider;

use super::{Finding, Verdict};
use crate::ledger::Ledger;

pub(super) async fn findings(
    name: &str,
    provider: &dyn Provider,
    ledger: Result<Option<&Ledger>, &String>,
) -> Vec<Finding> {
    let identity = match provider.account_identity().await {
        Ok(identity) => identity,
        Err(e) => {
            return vec![Finding::new(
                "account",
                Verdict::Error,
                format!("the account could not be identified: {e}"),
            )]
        }
    };
    let bound = match ledger {
        Ok(None) => return vec![not_bound(&identity, "no ledger yet")],
        Err(e) => Err(format!("the ledger could not be opened: {e}")),
        Ok(Some(ledger)) => bound_identity(ledger, name).await,
    };
    vec![match bound {
        Err(e) => Finding::new(
            "account",
            Verdict::Warning,
            format!("reaches \"{identity}\"; its binding is unknown: {e}"),
        )
        .private(&identity),
        Ok(None) => not_bound(&identity, "this instance has not synced yet"),
        Ok(Some(b)) if b == identity => Finding::new(
            "account",
            Verdict::Ok,
            format!("reaches \"{identity}\", the account the ledger is bound to"),
        )
        .private(&identity),
        Ok(Some(b)) => Finding::new(
            "account",
            Verdict::Error,
            format!("reaches \"{identity}\", but the ledger is bound to \"{b}\": sync refuses it"),
        )
        .fix(format!(
            "if the new account is meant, run `timeweave rebind {name}`; otherwise fix base_url or the credentials of [providers.{name}]"
        ))
        .private(&identity)
        .private(&b),
    }]
}

fn not_bound(identity: &str, why: &str) -> Finding {
    Finding::new(
        "account",
        Verdict::Ok,
        format!("reaches \"{identity}\"; not bound yet ({why}): the first sync binds it"),
    )
    .private(identity)
}

async fn bound_identity(ledger: &Ledger, name: &str) -> Result<Option<String>, String> {
    let mut tx = ledger.read().await.map_err(|e| e.to_string())?;
    let binding = tx.account_binding(name).await.map_err(|e| e.to_string())?;
    Ok(binding.map(|b| b.identity))
}
