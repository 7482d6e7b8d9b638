//! Account discovery (`GET /me`): the workspace every call is scoped to (refusing to guess
//! among several), the zone `/me` names, and whether the account answers for the user.

use serde_json::Value;
use timeweave_contract::ProviderError;
use timeweave_http::Repeat;

use super::requests::Call;
use super::{Session, TrackingTimeAdapter};
use crate::errors::{self};
use crate::wire;
use crate::zone::Zone;

/// The caller's workspaces: `/me` `teams`, and `data.account_id` (the selected one),
/// which `teams` may leave out (T7).
pub(super) fn workspaces(me: &wire::Me) -> Vec<(i64, Option<String>)> {
    let mut out: Vec<(i64, Option<String>)> = me
        .teams
        .iter()
        .map(|t| (t.account_id, t.company.clone()))
        .collect();
    if let Some(a) = me.account_id.filter(|a| out.iter().all(|(id, _)| id != a)) {
        out.push((a, None));
    }
    out
}

/// The account's zone from `/me` (T3): an IANA name, an offset or a city label. One that
/// cannot be read is a warning naming it, and no zone (never UTC by default): events then
/// need their own `timezone`.
pub(super) fn account_zone(me: &wire::Me) -> Option<Zone> {
    let Some(label) = me.zone_label() else {
        tracing::warn!(
            "TrackingTime GET /me names no time zone: events without their own timezone \
             will be skipped; set the user's time zone in TrackingTime"
        );
        return None;
    };
    match Zone::parse(label) {
        Ok(zone) => Some(zone),
        Err(e) => {
            tracing::warn!(
                timezone = label,
                "TrackingTime account time zone cannot be read ({e}): events without their \
                 own timezone will be skipped; set the user's time zone in TrackingTime"
            );
            None
        }
    }
}

impl TrackingTimeAdapter {
    /// `GET /me`: the caller, their workspaces and zone; picks the account (spec §1).
    pub(super) async fn discover(&self) -> Result<Session, ProviderError> {
        let call = Call {
            global: true,
            ..Call::get("me")
        };
        let url = format!("{}/me", self.base);
        let body = match self
            .send_to(&url, "GET /me", Repeat::Safe, &call, &[], false)
            .await?
        {
            Ok(b) => b,
            Err(e) => return Err(errors::to_error(e, "GET /me")),
        };
        let me: wire::Me = timeweave_http::from_json_value(body.data()).map_err(|why| {
            ProviderError::malformed(format!("TrackingTime GET /me could not be read: {why}"))
        })?;
        let version = body
            .0
            .get("response")
            .and_then(|r| r.get("version"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (account_id, company) = self.pick_account(&me).await?;
        let zone = account_zone(&me);
        let team = me
            .teams
            .iter()
            .find(|t| t.account_id == account_id)
            .map(|t| crate::observe::TeamRights {
                role: t.role.clone(),
                flags: t.permissions(),
            });
        Ok(Session {
            account_id,
            company,
            user_id: me.id,
            zone,
            zone_label: me.zone_label().map(str::to_owned),
            team,
            version,
        })
    }

    /// The workspace to work in (spec §1, T7): the configured one when `/me` lists it, lists
    /// no teams, or leaves it out but a probe there answers; unconfigured, the caller's one
    /// workspace, refusing to guess among several.
    pub(super) async fn pick_account(
        &self,
        me: &wire::Me,
    ) -> Result<(i64, Option<String>), ProviderError> {
        let known = workspaces(me);
        let choices = || {
            known
                .iter()
                .map(|(id, company)| {
                    format!("{id} ({})", company.as_deref().unwrap_or("unnamed company"))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let setup = |message: String| Err(ProviderError::Setup { message });
        match self.configured_account {
            Some(a) => match me.teams.iter().find(|t| t.account_id == a) {
                Some(t) => Ok((a, t.company.clone())),
                // `teams` may leave out the account itself (T7): only an account that
                // refuses a read is not this user's.
                None if me.teams.is_empty() || self.account_answers(a, me.id).await? => {
                    Ok((a, None))
                }
                None => setup(format!(
                    "trackingtime account_id {a} is not one of this user's workspaces and \
                     refuses its requests; set account_id to one of: {}",
                    choices()
                )),
            },
            None => match known.as_slice() {
                [(id, company)] => Ok((*id, company.clone())),
                [] => setup(
                    "TrackingTime GET /me names no workspace; set trackingtime account_id \
                     in the config"
                        .into(),
                ),
                _ => setup(format!(
                    "this TrackingTime user belongs to {} workspaces and timeweave will not \
                     guess which one to sync; set trackingtime account_id to one of: {}",
                    known.len(),
                    choices()
                )),
            },
        }
    }

    /// Whether `account` answers a read of the caller there (`GET {account}/users/{me}`):
    /// the probe that settles a configured account `/me` does not list (T7). An error
    /// envelope is a refusal; transport failures are errors.
    pub(super) async fn account_answers(
        &self,
        account: i64,
        me: i64,
    ) -> Result<bool, ProviderError> {
        let url = format!("{}/{account}/users/{me}", self.base);
        let what = format!("GET {account}/users/{me}");
        let call = Call::get(format!("users/{me}"));
        let answer = self
            .send_to(
                &url,
                &what,
                Repeat::Safe,
                &call,
                &[401, 402, 403, 404, 500],
                false,
            )
            .await?;
        Ok(answer.is_ok())
    }
}
