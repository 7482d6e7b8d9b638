//! Every request of the adapter, through the shared `Transport`: Basic `API_TOKEN:<app
//! password>`, the timeweave User-Agent, the account id in the path, form-encoded bodies, and
//! each answer read by `errors` (most errors arrive inside an HTTP 200).

use std::sync::atomic::Ordering;

use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use reqwest::Method;
use serde_json::Value;
use timeweave_contract::ProviderError;
use timeweave_http::Repeat;

use super::TrackingTimeAdapter;
use crate::errors::{self, Body, EnvelopeError};

/// One request, before the account prefix is added.
pub(super) struct Call {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Vec<(String, String)>,
    pub(super) body: Option<Value>,
    /// `/me` and `/teams` live outside the account prefix.
    pub(super) global: bool,
}

impl Call {
    pub(super) fn get(path: impl Into<String>) -> Call {
        Call {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            global: false,
        }
    }
    pub(super) fn with(method: Method, path: impl Into<String>, body: Option<Value>) -> Call {
        Call {
            body,
            method,
            ..Call::get(path)
        }
    }
    pub(super) fn q(mut self, k: &str, v: impl ToString) -> Call {
        self.query.push((k.to_owned(), v.to_string()));
        self
    }
}

/// A JSON object as form parameters: text as is, numbers and flags written out, arrays
/// and objects as JSON strings (how TrackingTime reads `custom_fields` in forms, spec
/// §3); nulls are left out (T4: never sent as empty).
pub(super) fn form_encode(body: &Value) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    if let Value::Object(map) = body {
        for (k, v) in map {
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                Value::Array(_) | Value::Object(_) => v.to_string(),
            };
            out.append_pair(k, &text);
        }
    }
    out.finish()
}

pub(super) fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(200).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

impl TrackingTimeAdapter {
    /// Sends one call. In-envelope errors whose status is in `keep` come back as
    /// `Ok(Err(..))` for the caller to judge; every other error is typed (and retried by
    /// the transport when `repeat` and the error allow it).
    pub(super) async fn send(
        &self,
        what: &str,
        repeat: Repeat,
        call: &Call,
        keep: &[i64],
    ) -> Result<Result<Body, EnvelopeError>, ProviderError> {
        let url = if call.global {
            format!("{}/{}", self.base, call.path)
        } else {
            let s = self.session().await?;
            format!("{}/{}/{}", self.base, s.account_id, call.path)
        };
        let as_form = self.form_bodies.load(Ordering::Relaxed);
        let mut keep_all = keep.to_vec();
        keep_all.push(500);
        let mut result = self
            .send_to(&url, what, repeat, call, &keep_all, as_form)
            .await?;
        // Spec §3: a server that does not read JSON bodies answers a generic error (the
        // parameters seem missing); the same call with form parameters then works. An
        // error envelope means nothing was written, so sending again is safe.
        if let Err(e) = &result {
            let fallback = e.status == 500
                && call.body.is_some()
                && !as_form
                && errors::to_error(e.clone(), what).class() != "conflict";
            if fallback {
                let again = self
                    .send_to(&url, what, repeat, call, &keep_all, true)
                    .await?;
                if again.is_ok() {
                    tracing::info!(
                        call = what,
                        "TrackingTime ignored the JSON body; sending form parameters from now on"
                    );
                    self.form_bodies.store(true, Ordering::Relaxed);
                }
                result = again;
            }
        }
        match result {
            Err(e) if !keep.contains(&e.status) => Err(errors::to_error(e, what)),
            other => Ok(other),
        }
    }

    /// `send` with the URL already made (no session needed: `/me` goes through here).
    pub(super) async fn send_to(
        &self,
        url: &str,
        what: &str,
        repeat: Repeat,
        call: &Call,
        keep: &[i64],
        as_form: bool,
    ) -> Result<Result<Body, EnvelopeError>, ProviderError> {
        let form = match (&call.body, as_form) {
            (Some(body), true) => Some(form_encode(body)),
            _ => None,
        };
        self.transport
            .execute(
                what,
                repeat,
                |c| {
                    let mut rb = c
                        .request(call.method.clone(), url)
                        .basic_auth("API_TOKEN", Some(self.password.expose()))
                        .header(USER_AGENT, &self.user_agent)
                        .header(ACCEPT, "application/json");
                    if !call.query.is_empty() {
                        rb = rb.query(&call.query);
                    }
                    match (&form, &call.body) {
                        (Some(f), _) => {
                            rb = rb
                                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                                .body(f.clone())
                        }
                        (None, Some(body)) => rb = rb.json(body),
                        (None, None) => {}
                    }
                    rb
                },
                |raw| match errors::read(&raw, what)? {
                    Ok(body) => Ok(Ok(body)),
                    Err(e) if keep.contains(&e.status) => Ok(Err(e)),
                    Err(e) => Err(errors::to_error(e, what)),
                },
            )
            .await
    }

    pub(super) async fn send_ok(
        &self,
        what: &str,
        repeat: Repeat,
        call: &Call,
    ) -> Result<Body, ProviderError> {
        match self.send(what, repeat, call, &[]).await? {
            Ok(b) => Ok(b),
            Err(e) => Err(errors::to_error(e, what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies() {
        let body = serde_json::json!({"name": "A&B", "n": 3, "b": true, "gone": null,
                                      "custom_fields": [{"slug": "X", "value": "1"}]});
        let form = form_encode(&body);
        let pairs: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(form.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(pairs["name"], "A&B");
        assert_eq!(pairs["n"], "3");
        assert_eq!(pairs["b"], "true");
        assert!(!pairs.contains_key("gone"), "nulls are left out (T4)");
        assert_eq!(pairs["custom_fields"], r#"[{"slug":"X","value":"1"}]"#);
    }
}
