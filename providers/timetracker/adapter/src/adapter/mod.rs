//! The TimeTracker v1 adapter: start-up checks (`/info`, `/users/me`), paged listings of every
//! kind, writes with the server's workarounds (create without `task_id` then PATCH it,
//! `if_updated_at` echoed verbatim, `Idempotency-Key` on creates), and the lookup that finds a
//! create whose answer was lost. All HTTP goes through the shared `Transport`.
//!
//! This module holds the adapter, its session (`connect`) and the `Provider` impl; the work
//! is in one module per job: `requests` (every HTTP call), `listing`, `lookup` (get by id,
//! lost creates), `writes`, `checks` (what a write may carry, no I/O), `versions` (the
//! `if_updated_at` tolerance) and `refs` (references a non-admin token cannot list).

mod checks;
mod listing;
mod lookup;
mod refs;
mod requests;
mod versions;
mod writes;

use std::sync::Mutex;

use async_trait::async_trait;
use reqwest::Method;
use timeweave_contract::{
    Capabilities, EntrySpan, Field, Kind, KindSupport, ListScope, Observation, Page, PageToken,
    Provider, ProviderError, ProviderInfo, Record, RemoteId, RemoteRecord, Rights, TrailPosition,
    TrailRead, UpdateTarget, WriteOp,
};
use timeweave_http::{Repeat, Transport};

use crate::mapping::Zone;
use crate::paging::{decode_token, PAGE_SIZE};
use crate::references::References;
use crate::time::parse_zone;
use crate::tolerance::YoungVersions;
use crate::trail::{self, Source, TRAIL_LIMIT};
use crate::wire;
use crate::{Settings, KIND};
use checks::check_entry;
use serde_json::Value;

/// What `connect` learned, used by every later call.
#[derive(Clone, Debug)]
struct Session {
    zone: Zone,
    me: i64,
    admin: bool,
    /// The account behind the token (`account_identity`).
    identity: String,
}

/// What `doctor` shows of a session: whose entries the token sees and writes, and the zone
/// naive times are read in.
fn observations_of(session: &Session) -> Vec<Observation> {
    let rights = if session.admin {
        Observation::new(
            "sees_all_users",
            "yes (admin)",
            "the token lists and writes every user's entries",
        )
    } else {
        Observation {
            limits_reading: true,
            limits_writing: true,
            ..Observation::new(
                "sees_all_users",
                format!("no: only user {}'s own entries", session.me),
                "other users' entries are neither listed nor written; use an admin's token \
                 (role admin, or an admin RBAC role) to sync everyone's",
            )
        }
    };
    let zone = Observation::new(
        "server_time_zone",
        session.zone.name.clone(),
        "the server's app time zone (GET /info): its naive times are read and written in it",
    );
    vec![rights, zone]
}

/// The server, the token's user and when that user was created: a server reinstalled at
/// the same URL (its ids starting over) has the "same" user, created anew.
fn identity_of(api: &str, user: &wire::User) -> String {
    let name = user.username.as_deref().unwrap_or("(no username)");
    match &user.created_at {
        Some(created) => format!(
            "TimeTracker at {api}, user {name} (id {}, created {created})",
            user.id
        ),
        None => format!("TimeTracker at {api}, user {name} (id {})", user.id),
    }
}

/// The TimeTracker v1 provider adapter.
pub struct TimeTrackerAdapter {
    api: String,
    settings: Settings,
    transport: Transport,
    session: Mutex<Option<Session>>,
    /// Whether `GET /users` works for this token (`admin:all`); learned on first use.
    users_listable: Mutex<Option<bool>>,
    /// Entries listed within the server's `if_updated_at` tolerance of their version.
    young: YoungVersions,
    /// Projects and clients the token lists, and those only its entries show.
    references: References,
}

/// Normalises the configured base URL to the API root (`…/api/v1`), accepting it with or
/// without the `/api/v1` suffix. HTTPS is required except for loopback hosts.
pub fn api_root(base_url: &str) -> Result<String, ProviderError> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let root = trimmed
        .strip_suffix("/api/v1")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    let url = url::Url::parse(root).map_err(|e| ProviderError::Setup {
        message: format!(
            "TimeTracker base_url {root:?} is not a URL ({e}); give the server root, e.g. \
             https://tt.example.com"
        ),
    })?;
    timeweave_http::check_scheme(&url).map_err(|m| ProviderError::Setup {
        message: format!("TimeTracker base_url {root:?} {m}"),
    })?;
    Ok(format!("{root}/api/v1"))
}

impl TimeTrackerAdapter {
    /// Builds the adapter (no I/O). Fails on a missing token or an unusable base URL.
    pub fn new(settings: Settings, transport: Transport) -> Result<Self, ProviderError> {
        if settings.api_token.is_empty() {
            return Err(ProviderError::Setup {
                message: "TimeTracker api_token is empty; create one in Admin → Security & \
                          Access → Api-tokens (it starts with tt_)"
                    .into(),
            });
        }
        if !settings.api_token.expose().starts_with("tt_") {
            return Err(ProviderError::Setup {
                message: "TimeTracker api_token must start with `tt_` (the server rejects \
                          other tokens as \"Invalid token format\")"
                    .into(),
            });
        }
        Ok(TimeTrackerAdapter {
            api: api_root(&settings.base_url)?,
            settings,
            transport,
            session: Mutex::new(None),
            users_listable: Mutex::new(None),
            young: YoungVersions::default(),
            references: References::default(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.api, path)
    }

    fn cached_session(&self) -> Option<Session> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    async fn session(&self) -> Result<Session, ProviderError> {
        if let Some(s) = self.cached_session() {
            return Ok(s);
        }
        self.connect().await?;
        self.cached_session()
            .ok_or_else(|| ProviderError::retryable("TimeTracker session was not established"))
    }
}

#[async_trait]
impl Provider for TimeTrackerAdapter {
    fn kind_name(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            person: KindSupport::READ_ONLY,
            client: KindSupport {
                list: true,
                create: true,
                update: false,
                delete: false,
                delete_archives: false,
            },
            project: KindSupport {
                delete_archives: true,
                ..KindSupport::FULL
            },
            task: KindSupport::FULL,
            time_entry: KindSupport::FULL,
            change_feed: false,
            entry_page_size: PAGE_SIZE as u32,
            // Time-entry creates are de-duplicated by `Idempotency-Key`, but client, project
            // and task creates are not: the engine must use `find_created` after an unknown
            // outcome.
            idempotent_create: false,
            unheld: Vec::new(),
            // Clients are created with a name and an e-mail only, and never updated: the
            // `description` the server lists (edited in its web app) is not ours to set.
            read_only: vec![Field::ClientNotes],
        }
    }

    async fn connect(&self) -> Result<ProviderInfo, ProviderError> {
        let info: wire::Info = self
            .call(
                "GET /info",
                Method::GET,
                "/info",
                &[],
                None,
                None,
                Repeat::Safe,
                false,
                timeweave_http::read_json,
            )
            .await
            .map_err(|e| match e {
                ProviderError::NotFound { .. } => ProviderError::Setup {
                    message: format!(
                        "no TimeTracker API at {}/info (HTTP 404); check base_url",
                        self.api
                    ),
                },
                other => other,
            })?;
        if info.setup_required {
            return Err(ProviderError::Setup {
                message: "the TimeTracker server reports setup_required: finish the setup \
                          wizard in its web app first (until then every API call is redirected \
                          to it)"
                    .into(),
            });
        }
        let tz_name = info.timezone.clone().unwrap_or_default();
        let tz = parse_zone(&tz_name).ok_or_else(|| ProviderError::Setup {
            message: format!(
                "the TimeTracker server's time zone {tz_name:?} (GET /info `timezone`) is not a \
                 known IANA zone; fix it in the server settings"
            ),
        })?;
        let me: wire::UserMe = self.get_json("GET /users/me", "/users/me", &[]).await?;
        let admin =
            me.user.role.as_deref() == Some("admin") || self.sees_others(me.user.id).await?;
        let server = format!(
            "TimeTracker {}",
            info.app_version
                .unwrap_or_else(|| "(unknown version)".into())
        );
        let account = me
            .user
            .username
            .clone()
            .unwrap_or_else(|| format!("user {}", me.user.id));
        let session = Session {
            zone: Zone {
                tz,
                name: tz.name().to_owned(),
            },
            me: me.user.id,
            admin,
            identity: identity_of(&self.api, &me.user),
        };
        if let Ok(mut g) = self.session.lock() {
            *g = Some(session);
        }
        // Scopes may have changed since the last cycle: learn again whether /users works.
        if let Ok(mut g) = self.users_listable.lock() {
            *g = None;
        }
        Ok(ProviderInfo {
            server,
            timezone: Some(tz.name().to_owned()),
            account: Some(account),
        })
    }

    async fn account_identity(&self) -> Result<String, ProviderError> {
        Ok(self.session().await?.identity)
    }

    async fn observations(&self) -> Result<Vec<Observation>, ProviderError> {
        Ok(observations_of(&self.session().await?))
    }

    /// The audit log when the token has `admin:all`, else the activity feed (`read:reports`);
    /// one request each (see `trail.rs`).
    async fn read_trail(&self, since: Option<&TrailPosition>) -> Result<TrailRead, ProviderError> {
        let session = self.session().await?;
        for source in [Source::AuditLogs, Source::Activities] {
            let query = [("limit", TRAIL_LIMIT.to_string())];
            let what = format!("GET {}", source.path());
            match self.get_json::<Value>(&what, source.path(), &query).await {
                Ok(body) => {
                    return Ok(match trail::read_rows(source, &body, session.zone.tz) {
                        Ok(rows) => trail::follow(source, &rows, TRAIL_LIMIT, since),
                        Err(why) => TrailRead::incomplete(format!("{}: {why}", source.path())),
                    })
                }
                Err(ProviderError::Forbidden { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(TrailRead::incomplete(
            "the token has neither admin:all (GET /audit-logs) nor read:reports (GET /activities)",
        ))
    }

    /// `/users/me`'s id.
    async fn own_person(&self) -> Result<Option<RemoteId>, ProviderError> {
        Ok(Some(RemoteId::from(self.session().await?.me)))
    }

    async fn rights(&self) -> Result<Rights, ProviderError> {
        self.session().await?;
        Ok(crate::observe::rights(
            self.scope_answer().await?,
            &self.capabilities(),
        ))
    }

    async fn list_page(
        &self,
        kind: Kind,
        scope: ListScope,
        token: Option<PageToken>,
    ) -> Result<Page, ProviderError> {
        let session = self.session().await?;
        let (page, seen) = decode_token(token.as_ref())?;
        match (kind, scope) {
            (_, ListScope::ChangedIn(_)) => Err(ProviderError::unsupported(
                "TimeTracker has no change feed (no updated_since filter); list by start window",
            )),
            (Kind::TimeEntry, ListScope::StartedIn(w)) => Ok(self
                .list_entries(Some(w), None, page, &seen, &session)
                .await?
                .0),
            (Kind::TimeEntry, ListScope::All) => Ok(self
                .list_entries(None, None, page, &seen, &session)
                .await?
                .0),
            (Kind::Person, ListScope::All) => self.list_people(page).await,
            (_, ListScope::All) => self.list_simple(kind, page, &session.zone).await,
            (_, ListScope::StartedIn(_)) => Err(ProviderError::unsupported(format!(
                "a start-window listing of {kind} (only time entries have start times)"
            ))),
        }
    }

    async fn entry_span(&self) -> Result<EntrySpan, ProviderError> {
        // The listing has no sort parameter but is always by start, newest first: the first
        // one-entry page holds the newest, page `total` the oldest (two requests). An entry
        // booked between the two shifts the oldest one page on: follow the new total.
        let session = self.session().await?;
        let (newest, mut total) = self.entry_at(1, &session.zone).await?;
        for _ in 0..3 {
            let (Some(newest), Some(last)) = (newest, total) else {
                break;
            };
            if last <= 0 {
                break; // an entry listed, yet a total of none: no telling
            }
            let (oldest, now_total) = self.entry_at(last, &session.zone).await?;
            if now_total == total {
                return Ok(match oldest {
                    Some(oldest) => EntrySpan::Between { oldest, newest },
                    None => EntrySpan::Unknown,
                });
            }
            total = now_total;
        }
        Ok(match (newest, total) {
            (None, Some(0)) => EntrySpan::Empty,
            _ => EntrySpan::Unknown,
        })
    }

    async fn get(&self, kind: Kind, id: &RemoteId) -> Result<Option<RemoteRecord>, ProviderError> {
        self.get_record(kind, id).await
    }

    async fn create(
        &self,
        record: &Record<RemoteId>,
        idempotency_key: &str,
    ) -> Result<RemoteRecord, ProviderError> {
        self.create_record(record, idempotency_key).await
    }

    async fn update(
        &self,
        target: &UpdateTarget,
        record: &Record<RemoteId>,
    ) -> Result<RemoteRecord, ProviderError> {
        self.update_record(target, record).await
    }

    async fn delete(&self, kind: Kind, id: &RemoteId) -> Result<(), ProviderError> {
        self.delete_record(kind, id).await
    }

    async fn find_created(
        &self,
        record: &Record<RemoteId>,
        _idempotency_key: &str,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        self.find_created_record(record, _idempotency_key).await
    }

    fn check_writable(&self, op: WriteOp, record: &Record<RemoteId>) -> Result<(), ProviderError> {
        let kind = record.kind();
        if !self.capabilities().support(kind).allows(op) {
            let why = match kind {
                Kind::Client => " (API v1 has no PUT/DELETE for clients: 405)",
                Kind::Person => " (API v1 has no user writes)",
                _ => "",
            };
            return Err(ProviderError::unsupported(format!(
                "TimeTracker cannot {} a {kind}{why}",
                op.as_str()
            )));
        }
        if op == WriteOp::Delete {
            return Ok(());
        }
        match record {
            Record::Project(p) if p.client.is_none() => Err(ProviderError::unsupported(
                "a TimeTracker project needs a client (client_id is required)",
            )),
            Record::Project(p) if p.name.trim().chars().count() > 200 => Err(
                ProviderError::unsupported("TimeTracker project names are at most 200 characters"),
            ),
            Record::Client(c) if c.name.trim().chars().count() > 200 => Err(
                ProviderError::unsupported("TimeTracker client names are at most 200 characters"),
            ),
            Record::TimeEntry(e) => {
                check_entry(op, e)?;
                if let Some(session) = self.cached_session() {
                    self.check_person(e, &session)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            api_root("https://tt.example.com").unwrap(),
            "https://tt.example.com/api/v1"
        );
        assert_eq!(
            api_root("https://tt.example.com/").unwrap(),
            "https://tt.example.com/api/v1"
        );
        assert_eq!(
            api_root("https://tt.example.com/api/v1/").unwrap(),
            "https://tt.example.com/api/v1"
        );
        assert_eq!(
            api_root("https://x.org/tt/api/v1").unwrap(),
            "https://x.org/tt/api/v1"
        );
        assert_eq!(
            api_root("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/api/v1"
        );
        assert!(matches!(
            api_root("http://tt.example.com"),
            Err(ProviderError::Setup { .. })
        ));
        assert!(matches!(
            api_root("tt.example.com"),
            Err(ProviderError::Setup { .. })
        ));
    }
}
