//! The webhook registration calls: register, list and delete the hooks that tell timeweave to
//! sync sooner.

use serde_json::Value;
use timeweave_contract::{ProviderError, Secret};
use timeweave_http::Repeat;

use super::requests::Call;
use super::TrackingTimeAdapter;
use crate::wire;

/// A webhook as `register_webhook` created it.
#[derive(Clone, Debug)]
pub struct WebhookRegistration {
    pub id: i64,
    /// The secret TrackingTime returns (how it signs callbacks is undocumented).
    pub secret: Option<Secret>,
}

/// A webhook as `list_webhooks` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookInfo {
    pub id: i64,
    pub url: Option<String>,
    pub events: Option<String>,
}

impl TrackingTimeAdapter {
    /// Registers a callback for `event.created` and `event.updated` (spec §10, the official
    /// n8n trigger's call). Returns the webhook id and secret.
    pub async fn register_webhook(&self, url: &str) -> Result<WebhookRegistration, ProviderError> {
        let call = Call::get("webhooks/add")
            .q("url", url)
            .q("events", "event.created,event.updated")
            .q("grouped", "false");
        let what = "GET webhooks/add";
        let body = self.send_ok(what, Repeat::OnlyIfNotReceived, &call).await?;
        let id = Self::id_in(&body, what)?;
        let secret = body
            .data()
            .get("secret")
            .and_then(Value::as_str)
            .map(Secret::new);
        Ok(WebhookRegistration { id, secret })
    }

    /// The account's webhooks. Reads both `data: [...]` and the `{webhooks: {data: [...]}}`
    /// shape the n8n node expects.
    pub async fn list_webhooks(&self) -> Result<Vec<WebhookInfo>, ProviderError> {
        let call = Call::get("webhooks").q("filter", "ALL");
        let body = self.send_ok("GET webhooks", Repeat::Safe, &call).await?;
        let data = body.data();
        let nested = |v: &Value| v.get("webhooks").and_then(|w| w.get("data")).cloned();
        let list = match data {
            Value::Array(_) => data.clone(),
            _ => nested(data)
                .or_else(|| nested(&body.0))
                .unwrap_or(Value::Null),
        };
        let text = |v: &Value, keys: &[&str]| {
            keys.iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str))
                .map(str::to_owned)
        };
        Ok(list
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| {
                Some(WebhookInfo {
                    id: wire::id_of(v)?,
                    url: text(v, &["url", "callback_url"]),
                    events: text(v, &["events", "event_name"]),
                })
            })
            .collect())
    }

    /// Deletes a webhook (`GET webhooks/{id}/delete`, the official n8n call).
    pub async fn delete_webhook(&self, id: i64) -> Result<(), ProviderError> {
        let path = format!("webhooks/{id}/delete");
        let what = format!("GET {path}");
        self.send_ok(&what, Repeat::Safe, &Call::get(path))
            .await
            .map(|_| ())
    }
}
