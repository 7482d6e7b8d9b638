//! Every HTTP call of the adapter, through the shared `Transport`: the bearer token, JSON
//! bodies, non-2xx answers mapped by `errors`, the `Idempotency-Key` (hashed down to what the
//! server keeps), listings by page and the one probe of whether the token sees other users.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use timeweave_contract::ProviderError;
use timeweave_http::{RawResponse, Repeat};

use super::TimeTrackerAdapter;
use crate::errors::{malformed, map_error};
use crate::observe::ScopeAnswer;
use crate::wire;

/// One request of `call_raw`.
pub(super) struct Request<'a> {
    pub(super) method: Method,
    pub(super) path: &'a str,
    pub(super) query: &'a [(&'a str, String)],
    pub(super) body: Option<Value>,
    pub(super) idempotency_key: Option<&'a str>,
    pub(super) repeat: Repeat,
    pub(super) auth: bool,
}

impl<'a> Request<'a> {
    /// A GET with the token, safe to repeat.
    pub(super) fn get(path: &'a str, query: &'a [(&'a str, String)]) -> Self {
        Request {
            method: Method::GET,
            path,
            query,
            body: None,
            idempotency_key: None,
            repeat: Repeat::Safe,
            auth: true,
        }
    }
}

/// The key actually sent: the engine's key, or its SHA-256 when longer than the server keeps.
pub fn idempotency_header(key: &str) -> String {
    if key.len() <= MAX_IDEMPOTENCY_KEY && key.is_ascii() {
        key.to_owned()
    } else {
        format!("sha256-{}", hex::encode(Sha256::digest(key.as_bytes())))
    }
}

/// The longest `Idempotency-Key` the server honours; longer keys are silently ignored, so
/// the adapter hashes them down.
pub(super) const MAX_IDEMPOTENCY_KEY: usize = 128;

impl TimeTrackerAdapter {
    /// One API call: sends `body` as JSON, maps non-2xx to `ProviderError`, parses 2xx with
    /// `parse` (a parse failure is `Malformed`).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn call<T>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
        idempotency_key: Option<&str>,
        repeat: Repeat,
        auth: bool,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, ProviderError> {
        let request = Request {
            method,
            path,
            query,
            body,
            idempotency_key,
            repeat,
            auth,
        };
        self.call_raw(what, request, |raw| parse(&raw.body)).await
    }

    /// `call` with a parser that also sees the answer's headers.
    pub(super) async fn call_raw<T>(
        &self,
        what: &str,
        request: Request<'_>,
        parse: impl Fn(&RawResponse) -> Result<T, String>,
    ) -> Result<T, ProviderError> {
        self.exchange(what, request, |raw| {
            if !(200..300).contains(&raw.status) {
                return Err(map_error(what, &raw));
            }
            parse(&raw).map_err(|e| malformed(what, &raw, &e))
        })
        .await
    }

    /// One request through the transport; `interpret` sees every answer, errors included.
    pub(super) async fn exchange<T>(
        &self,
        what: &str,
        request: Request<'_>,
        interpret: impl Fn(RawResponse) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let url = self.url(request.path);
        let token = self.settings.api_token.clone();
        let r = &request;
        self.transport
            .execute(
                what,
                r.repeat,
                |client| {
                    let mut rb = client
                        .request(r.method.clone(), &url)
                        .header(reqwest::header::ACCEPT, "application/json");
                    if !r.query.is_empty() {
                        rb = rb.query(r.query);
                    }
                    if r.auth {
                        rb = rb.bearer_auth(token.expose());
                    }
                    if let Some(k) = r.idempotency_key {
                        rb = rb.header("Idempotency-Key", k);
                    }
                    if let Some(b) = &r.body {
                        rb = rb.json(b);
                    }
                    rb
                },
                interpret,
            )
            .await
    }

    /// What `GET /users?per_page=1`, which only `admin:all` may call, tells of the token:
    /// a 2xx means every scope, a 403 lists the scopes it holds (spec §2). Read-only.
    pub(super) async fn scope_answer(&self) -> Result<ScopeAnswer, ProviderError> {
        let what = "GET /users (scope check)";
        let query = [("per_page", "1".to_owned())];
        self.exchange(what, Request::get("/users", &query), |raw| {
            match raw.status {
                200..=299 => Ok(ScopeAnswer::Everything),
                403 => Ok(ScopeAnswer::Listed(
                    crate::errors::error_body(&raw).and_then(|b| b.available_scopes),
                )),
                _ => Err(map_error(what, &raw)),
            }
        })
        .await
    }

    /// Whether the token's user sees other users' entries: an admin by RBAC role (`admin`,
    /// `super_admin`) while `role` says otherwise, which `/users/me` does not show (§1). A
    /// non-admin asking for another user's entries gets 403; an admin gets a (maybe empty)
    /// list, whether or not that user exists.
    pub(super) async fn sees_others(&self, me: i64) -> Result<bool, ProviderError> {
        let other = if me == 1 { 2 } else { 1 };
        let probe = self
            .get_json::<Value>(
                "GET /time-entries (admin check)",
                "/time-entries",
                &[("user_id", other.to_string()), ("per_page", "1".into())],
            )
            .await;
        match probe {
            Ok(_) => Ok(true),
            Err(ProviderError::Forbidden { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        self.call(
            what,
            Method::GET,
            path,
            query,
            None,
            None,
            Repeat::Safe,
            true,
            |b| timeweave_http::read_json::<T>(b),
        )
        .await
    }

    pub(super) async fn list_raw(
        &self,
        what: &str,
        path: &str,
        key: &'static str,
        query: Vec<(&str, String)>,
    ) -> Result<wire::ListPage, ProviderError> {
        self.call(
            what,
            Method::GET,
            path,
            &query,
            None,
            None,
            Repeat::Safe,
            true,
            |b| wire::ListPage::parse(b, key),
        )
        .await
    }

    /// A write whose 2xx body holds the record under `key`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write<T: DeserializeOwned, B: Serialize>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        key: &'static str,
        body: &B,
        idempotency_key: Option<&str>,
        repeat: Repeat,
    ) -> Result<T, ProviderError> {
        let body = serde_json::to_value(body)
            .map_err(|e| ProviderError::rejected(format!("{what}: cannot encode body: {e}")))?;
        self.call(
            what,
            method,
            path,
            &[],
            Some(body),
            idempotency_key,
            repeat,
            true,
            |b| {
                let v: Value = timeweave_http::read_json(b)?;
                let inner = v
                    .get(key)
                    .ok_or_else(|| format!("no `{key}` in the response"))?;
                timeweave_http::from_json_value(inner).map_err(|why| format!("`{key}`: {why}"))
            },
        )
        .await
    }

    pub(super) async fn delete_call(&self, what: &str, path: &str) -> Result<(), ProviderError> {
        self.call(
            what,
            Method::DELETE,
            path,
            &[],
            None,
            None,
            Repeat::Safe,
            true,
            |_| Ok(()),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_idempotency_keys_are_hashed_to_fit() {
        assert_eq!(idempotency_header("abc"), "abc");
        let long = "k".repeat(300);
        let h = idempotency_header(&long);
        assert!(h.len() <= MAX_IDEMPOTENCY_KEY);
        assert_eq!(h, idempotency_header(&long), "stable");
    }
}
