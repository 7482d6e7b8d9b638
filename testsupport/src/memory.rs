//! An in-process provider that keeps records in memory: the engine's test double and the
//! benchmarks' in-process source. It honours the whole `Provider` contract (pages, windows,
//! get/NotFound, idempotency keys) and can be told to fail, lose answers, or change records
//! "out of band" like a provider's web app.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use timeweave_contract::{
    Capabilities, EntrySpan, Field, Kind, KindSupport, ListScope, Page, PageItem, PageToken,
    Provider, ProviderError, ProviderInfo, Record, RemoteId, RemoteRecord, UpdateTarget,
};

/// What the next calls should do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryFault {
    /// Fail with this error without acting.
    Fail(ProviderError),
    /// Act (create/update/delete), then fail as if the answer was lost.
    LoseAnswer,
    /// Panic with this message (a bug on the provider path, as a worker would meet it; a
    /// hostile `Retry-After` once did this in the transport).
    Panic(&'static str),
}

#[derive(Default)]
struct State {
    records: BTreeMap<(Kind, RemoteId), RemoteRecord>,
    /// Time entries by start, for window listings without a scan.
    by_start: std::collections::BTreeSet<(DateTime<Utc>, RemoteId)>,
    by_key: HashMap<String, RemoteId>,
    next_id: u64,
    faults: Vec<MemoryFault>,
    clock: i64,
}

/// An in-memory provider.
pub struct MemoryProvider {
    kind_name: &'static str,
    page_size: usize,
    caps: Capabilities,
    state: Mutex<State>,
    requests: AtomicU64,
    latency: std::time::Duration,
    /// Fields it loses without declaring them (a provider that ignores a parameter).
    silently_dropped: Vec<Field>,
    /// Per kind: creates and updates in progress now, and the most at once so far.
    in_flight: Mutex<BTreeMap<Kind, (usize, usize)>>,
    /// The account it stands for (`account_identity`): unique per provider unless set.
    identity: Mutex<String>,
}

/// Counts one write in progress until dropped.
struct InFlight<'a> {
    provider: &'a MemoryProvider,
    kind: Kind,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut m = self
            .provider
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = m.get_mut(&self.kind) {
            slot.0 = slot.0.saturating_sub(1);
        }
    }
}

impl MemoryProvider {
    pub fn new(page_size: usize) -> MemoryProvider {
        MemoryProvider {
            kind_name: "memory",
            page_size: page_size.max(1),
            caps: Capabilities {
                person: KindSupport::READ_ONLY,
                client: KindSupport::FULL,
                project: KindSupport::FULL,
                task: KindSupport::FULL,
                time_entry: KindSupport::FULL,
                change_feed: false,
                entry_page_size: page_size.max(1) as u32,
                idempotent_create: true,
                unheld: Vec::new(),
                read_only: Vec::new(),
            },
            state: Mutex::new(State {
                next_id: 1000,
                ..State::default()
            }),
            requests: AtomicU64::new(0),
            latency: std::time::Duration::ZERO,
            silently_dropped: Vec::new(),
            in_flight: Mutex::new(BTreeMap::new()),
            identity: Mutex::new(format!("memory account {}", uuid::Uuid::now_v7())),
        }
    }

    /// Makes it stand for another account from now on (a URL or token pointing elsewhere).
    pub fn set_identity(&self, identity: &str) {
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = identity.to_owned();
    }

    /// Every call takes this long (a slow provider).
    pub fn with_latency(mut self, latency: std::time::Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Declares `fields` unheld (`Capabilities::unheld`) and reads them back as constants.
    pub fn with_unheld(mut self, fields: Vec<Field>) -> Self {
        self.caps.unheld = fields;
        self
    }

    /// Loses `fields` on every write without declaring them in its capabilities, as a
    /// provider that silently ignores a parameter does.
    pub fn with_silently_dropped(mut self, fields: Vec<Field>) -> Self {
        self.silently_dropped = fields;
        self
    }

    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.caps = caps;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stamp(state: &mut State) -> DateTime<Utc> {
        state.clock += 1;
        DateTime::<Utc>::from_timestamp(1_700_000_000 + state.clock, 0).unwrap_or_default()
    }

    /// Seeds or changes a record out of band; returns its id.
    pub fn put(&self, record: Record<RemoteId>) -> RemoteId {
        let mut s = self.lock();
        s.next_id += 1;
        let id = RemoteId(s.next_id.to_string());
        let at = Self::stamp(&mut s);
        // What it cannot hold reads back as a constant, as a real provider's would.
        let record = self.stored_form(record);
        if let Some(t) = record.started_at() {
            s.by_start.insert((t, id.clone()));
        }
        s.records.insert(
            (record.kind(), id.clone()),
            RemoteRecord {
                id: id.clone(),
                modified_at: Some(at),
                version: Some(at.to_rfc3339()),
                incarnation: None,
                record,
            },
        );
        id
    }

    /// A record as this provider stores it: normalised, and without what it cannot hold
    /// (declared or not), as a real provider would read it back.
    fn stored_form(&self, record: Record<RemoteId>) -> Record<RemoteId> {
        record
            .normalised()
            .forget_unheld(&self.caps.unheld)
            .forget_unheld(&self.silently_dropped)
    }

    /// Changes a record out of band.
    pub fn edit(&self, id: &RemoteId, record: Record<RemoteId>) -> bool {
        let mut s = self.lock();
        let at = Self::stamp(&mut s);
        let record = self.stored_form(record);
        let Some(r) = s.records.get_mut(&(record.kind(), id.clone())) else {
            return false;
        };
        let old_start = r.record.started_at();
        let new_start = record.started_at();
        r.record = record;
        r.modified_at = Some(at);
        r.version = Some(at.to_rfc3339());
        if let Some(t) = old_start {
            s.by_start.remove(&(t, id.clone()));
        }
        if let Some(t) = new_start {
            s.by_start.insert((t, id.clone()));
        }
        true
    }

    /// Deletes a record out of band.
    pub fn remove(&self, kind: Kind, id: &RemoteId) -> bool {
        let mut s = self.lock();
        match s.records.remove(&(kind, id.clone())) {
            Some(r) => {
                if let Some(t) = r.record.started_at() {
                    s.by_start.remove(&(t, id.clone()));
                }
                true
            }
            None => false,
        }
    }

    pub fn all(&self, kind: Kind) -> Vec<RemoteRecord> {
        self.lock()
            .records
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub fn get_now(&self, kind: Kind, id: &RemoteId) -> Option<RemoteRecord> {
        self.lock().records.get(&(kind, id.clone())).cloned()
    }

    /// The next calls (any operation) behave as listed, in order.
    pub fn inject(&self, faults: Vec<MemoryFault>) {
        self.lock().faults = faults;
    }

    /// The most creates and updates of `kind` that were in progress at once.
    pub fn max_writes_at_once(&self, kind: Kind) -> usize {
        let m = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&kind).map_or(0, |slot| slot.1)
    }

    fn writing(&self, kind: Kind) -> InFlight<'_> {
        let mut m = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let slot = m.entry(kind).or_default();
        slot.0 += 1;
        slot.1 = slot.1.max(slot.0);
        InFlight {
            provider: self,
            kind,
        }
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    async fn take_fault(&self) -> Option<MemoryFault> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let fault = {
            let mut s = self.lock();
            if s.faults.is_empty() {
                None
            } else {
                Some(s.faults.remove(0))
            }
        };
        if let Some(MemoryFault::Panic(message)) = fault {
            panic!("{message}");
        }
        fault
    }

    fn lost() -> ProviderError {
        ProviderError::retryable("connection closed before the answer (simulated)")
    }
}

fn in_scope(r: &RemoteRecord, scope: &ListScope) -> bool {
    match (scope, &r.record) {
        (ListScope::All, _) => true,
        (ListScope::StartedIn(w), Record::TimeEntry(e)) => w.contains(e.started_at),
        (ListScope::ChangedIn(w), _) => r.modified_at.is_some_and(|t| w.contains(t)),
        _ => false,
    }
}

#[async_trait]
impl Provider for MemoryProvider {
    fn kind_name(&self) -> &'static str {
        self.kind_name
    }

    fn capabilities(&self) -> Capabilities {
        self.caps.clone()
    }

    async fn connect(&self) -> Result<ProviderInfo, ProviderError> {
        if let Some(MemoryFault::Fail(e)) = self.take_fault().await {
            return Err(e);
        }
        Ok(ProviderInfo {
            server: "memory".into(),
            timezone: None,
            account: None,
        })
    }

    /// From the start index. Injected faults are left for the calls they were meant for.
    async fn entry_span(&self) -> Result<EntrySpan, ProviderError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let s = self.lock();
        Ok(match (s.by_start.first(), s.by_start.last()) {
            (Some((oldest, _)), Some((newest, _))) => EntrySpan::Between {
                oldest: *oldest,
                newest: *newest,
            },
            _ => EntrySpan::Empty,
        })
    }

    async fn account_identity(&self) -> Result<String, ProviderError> {
        Ok(self
            .identity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    async fn list_page(
        &self,
        kind: Kind,
        scope: ListScope,
        token: Option<PageToken>,
    ) -> Result<Page, ProviderError> {
        // As a real adapter's transport logs each request.
        tracing::trace!(kind = kind.as_str(), "memory: list page");
        if let Some(MemoryFault::Fail(e)) = self.take_fault().await {
            return Err(e);
        }
        let s = self.lock();
        if let (Kind::TimeEntry, ListScope::StartedIn(w)) = (kind, scope) {
            // Keyset paging over the start index: the token is the last (start, id).
            let after = match &token {
                Some(t) => {
                    let (secs, id) =
                        t.0.split_once('|')
                            .ok_or_else(|| ProviderError::malformed("bad page token"))?;
                    let secs: i64 = secs
                        .parse()
                        .map_err(|_| ProviderError::malformed("bad page token"))?;
                    let at = DateTime::<Utc>::from_timestamp(secs, 0)
                        .ok_or_else(|| ProviderError::malformed("bad page token"))?;
                    std::ops::Bound::Excluded((at, RemoteId(id.to_owned())))
                }
                None => std::ops::Bound::Included((w.from, RemoteId(String::new()))),
            };
            let keys: Vec<&(DateTime<Utc>, RemoteId)> = s
                .by_start
                .range((
                    after,
                    std::ops::Bound::Excluded((w.to, RemoteId(String::new()))),
                ))
                .take(self.page_size + 1)
                .collect();
            let more = keys.len() > self.page_size;
            let items: Vec<PageItem> = keys
                .iter()
                .take(self.page_size)
                .filter_map(|(_, id)| s.records.get(&(Kind::TimeEntry, id.clone())))
                .map(|r| PageItem::Record(r.clone()))
                .collect();
            let next = if more {
                keys.get(self.page_size - 1)
                    .map(|(t, id)| PageToken(format!("{}|{}", t.timestamp(), id)))
            } else {
                None
            };
            return Ok(Page { items, next });
        }
        let offset: usize = match token {
            Some(t) => {
                t.0.parse()
                    .map_err(|_| ProviderError::malformed("bad page token"))?
            }
            None => 0,
        };
        let matching: Vec<&RemoteRecord> = s
            .records
            .iter()
            .filter(|((k, _), r)| *k == kind && in_scope(r, &scope))
            .map(|(_, r)| r)
            .collect();
        let items: Vec<PageItem> = matching
            .iter()
            .skip(offset)
            .take(self.page_size)
            .map(|r| PageItem::Record((*r).clone()))
            .collect();
        let next = (offset + self.page_size < matching.len())
            .then(|| PageToken((offset + self.page_size).to_string()));
        Ok(Page { items, next })
    }

    async fn get(&self, kind: Kind, id: &RemoteId) -> Result<Option<RemoteRecord>, ProviderError> {
        if let Some(MemoryFault::Fail(e)) = self.take_fault().await {
            return Err(e);
        }
        Ok(self.get_now(kind, id))
    }

    async fn create(
        &self,
        record: &Record<RemoteId>,
        key: &str,
    ) -> Result<RemoteRecord, ProviderError> {
        let _writing = self.writing(record.kind());
        let fault = self.take_fault().await;
        if let Some(MemoryFault::Fail(e)) = fault {
            return Err(e);
        }
        let existing = self.lock().by_key.get(key).cloned();
        if let Some(id) = existing {
            if let Some(r) = self.get_now(record.kind(), &id) {
                return Ok(r);
            }
        }
        let id = self.put(record.clone());
        self.lock().by_key.insert(key.to_owned(), id.clone());
        if fault == Some(MemoryFault::LoseAnswer) {
            return Err(Self::lost());
        }
        self.get_now(record.kind(), &id)
            .ok_or_else(|| ProviderError::retryable("vanished"))
    }

    async fn update(
        &self,
        target: &UpdateTarget,
        record: &Record<RemoteId>,
    ) -> Result<RemoteRecord, ProviderError> {
        let _writing = self.writing(record.kind());
        let fault = self.take_fault().await;
        if let Some(MemoryFault::Fail(e)) = fault {
            return Err(e);
        }
        if !self.edit(&target.id, record.clone()) {
            return Err(ProviderError::not_found(format!(
                "{} {}",
                record.kind(),
                target.id
            )));
        }
        if fault == Some(MemoryFault::LoseAnswer) {
            return Err(Self::lost());
        }
        self.get_now(record.kind(), &target.id)
            .ok_or_else(|| ProviderError::retryable("vanished"))
    }

    async fn delete(&self, kind: Kind, id: &RemoteId) -> Result<(), ProviderError> {
        let fault = self.take_fault().await;
        if let Some(MemoryFault::Fail(e)) = fault {
            return Err(e);
        }
        if !self.remove(kind, id) {
            return Err(ProviderError::not_found(format!("{kind} {id}")));
        }
        if fault == Some(MemoryFault::LoseAnswer) {
            return Err(Self::lost());
        }
        Ok(())
    }

    async fn find_created(
        &self,
        record: &Record<RemoteId>,
        key: &str,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        if let Some(MemoryFault::Fail(e)) = self.take_fault().await {
            return Err(e);
        }
        let id = self.lock().by_key.get(key).cloned();
        Ok(id.and_then(|id| self.get_now(record.kind(), &id)))
    }
}
