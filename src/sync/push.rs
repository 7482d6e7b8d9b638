//! The push half of a cycle: reconcile intents left open by a crash (look the record up
//! remotely before anything is sent again), then send ledger changes the provider has not
//! got — references first, oldest change first — each behind a committed intent, with the
//! provider's idempotency mechanism. Records the provider cannot take are recorded once
//! with the reason and skipped, not retried every cycle.

use timeweave_contract::fields::unkept;
use timeweave_contract::{
    content_hash, CanonicalId, ConflictReason, Kind, Provider, ProviderError, Record, RemoteId,
    RemoteRecord, UpdateTarget, WriteOp,
};

use super::claim;
use super::engine::{Abort, Cycle};
use super::plan::{plan_push, PushAction};
use super::refs;
use crate::describe::label;
use crate::ledger::{
    Claim, Direction, Link, LinkUpdate, NewIntent, NewIssue, PushOp, StoredRecord, Tx,
};

/// A record with its ledger ids standing in as remote ids (a delete intent's payload,
/// kept for the operator; deletes need none to reconcile).
fn ledger_refs_as_remote(r: &Record<timeweave_contract::CanonicalId>) -> Record<RemoteId> {
    match r
        .clone()
        .try_map_refs(|_, c| Ok::<_, std::convert::Infallible>(RemoteId(c.0)))
    {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// A create or update to send.
enum Write {
    Create {
        key: String,
        payload: Record<RemoteId>,
    },
    Update {
        target: UpdateTarget,
        payload: Record<RemoteId>,
    },
}

/// What `plan_push` decided to send for a record, with its payload in remote ids.
enum PlannedWrite {
    Create(Record<RemoteId>),
    /// The remote id to update, and the payload.
    Update(RemoteId, Record<RemoteId>),
    /// The remote id to delete.
    Delete(RemoteId),
}

impl PlannedWrite {
    fn op(&self) -> WriteOp {
        match self {
            PlannedWrite::Create(_) => WriteOp::Create,
            PlannedWrite::Update(..) => WriteOp::Update,
            PlannedWrite::Delete(_) => WriteOp::Delete,
        }
    }

    /// What a create or update sends.
    fn payload(&self) -> Option<&Record<RemoteId>> {
        match self {
            PlannedWrite::Create(p) | PlannedWrite::Update(_, p) => Some(p),
            PlannedWrite::Delete(_) => None,
        }
    }
}

/// A write whose intent is committed, waiting to be sent.
struct Prepared {
    rec: StoredRecord,
    write: Write,
    intent: i64,
}

/// Sends one prepared write.
async fn write_to(provider: &dyn Provider, p: &Prepared) -> Result<RemoteRecord, ProviderError> {
    match &p.write {
        Write::Create { key, payload } => provider.create(payload, key).await,
        Write::Update { target, payload } => provider.update(target, payload).await,
    }
}

/// Which records of a kind a pass of `push_all` sends.
#[derive(Clone, Copy)]
enum Pass {
    Live,
    Deleted,
    All,
}

impl Pass {
    fn takes(self, rec: &StoredRecord) -> bool {
        match self {
            Pass::Live => rec.is_live(),
            Pass::Deleted => !rec.is_live(),
            Pass::All => true,
        }
    }
}

/// The order of `push_all`. A reference is deleted after the entries: an entry moved off a
/// deleted task is updated while its version still holds (TimeTracker gives a deleted task's
/// entries a new `updated_at`, which would make every such update stale), and a provider
/// that keeps a project with entries finds them gone first.
const PASSES: [(Kind, Pass); 7] = [
    (Kind::Client, Pass::Live),
    (Kind::Project, Pass::Live),
    (Kind::Task, Pass::Live),
    (Kind::TimeEntry, Pass::All),
    (Kind::Task, Pass::Deleted),
    (Kind::Project, Pass::Deleted),
    (Kind::Client, Pass::Deleted),
];

/// Whether a failed create may have landed: it failed in transit (the transport does not
/// repeat such a create), so only a lookup can tell.
fn outcome_unknown(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::Retryable { .. }
            | ProviderError::Malformed { .. }
            | ProviderError::RateLimited { .. }
    )
}

/// Records read per push-scan query.
const PUSH_BATCH: i64 = 200;

/// The idempotency key of one intended create: the canonical id plus its content version
/// (at most 128 characters, the strictest provider limit).
pub(crate) fn idempotency_key(rec: &StoredRecord) -> String {
    format!(
        "tw-{}-{}",
        rec.id,
        &rec.hash.as_str()[..16.min(rec.hash.as_str().len())]
    )
}

impl Cycle<'_> {
    /// Open intents of this provider whose claimant is gone are from a cycle that died
    /// mid-write. Creates are looked up (by idempotency key or natural key) and linked if
    /// they landed; updates and deletes are idempotent and simply re-planned by this cycle.
    /// An intent whose claimant still runs (another process, another task) is in flight:
    /// left alone, and its record is not pushed by this cycle. Under a lease only this
    /// process's cycles still run (`claim::is_running_under_lease`).
    pub(crate) async fn reconcile_intents(&mut self) -> Result<(), Abort> {
        let intents = self
            .ledger
            .read()
            .await?
            .open_intents(&self.instance.name)
            .await?;
        for intent in intents {
            self.check_stop()?;
            let claimed_by = intent.claimed_by.as_deref();
            let running = if self.ledger.is_fenced() {
                claim::is_running_under_lease(claimed_by)
            } else {
                claim::is_running(claimed_by)
            };
            if running {
                tracing::info!(provider = %self.instance.name, kind = %intent.kind, record = %intent.canonical_id, "a write of another running cycle is in flight: left to it");
                self.blocked.insert(intent.canonical_id.clone());
                continue;
            }
            if intent.op != PushOp::Create {
                let mut tx = self.ledger.write().await?;
                tx.clear_intent(intent.id).await?;
                tx.commit().await?;
                continue;
            }
            match self
                .instance
                .provider
                .find_created(&intent.payload, &intent.idempotency_key)
                .await
            {
                Ok(Some(found)) => {
                    let mut tx = self.ledger.write().await?;
                    let remote_hash = content_hash(&found.record);
                    self.release_reused_id(&mut tx, &intent.canonical_id, &found)
                        .await?;
                    tx.upsert_link(
                        &LinkUpdate::of_remote(
                            &self.instance.name,
                            &found,
                            &remote_hash,
                            &intent.canonical_id,
                            &intent.canonical_hash,
                        ),
                        self.now,
                    )
                    .await?;
                    tx.clear_intent(intent.id).await?;
                    tx.commit().await?;
                    tracing::info!(provider = %self.instance.name, kind = %intent.kind, remote_id = %found.id, "an interrupted create had landed: linked");
                }
                Ok(None) => {
                    let mut tx = self.ledger.write().await?;
                    tx.clear_intent(intent.id).await?;
                    tx.commit().await?;
                }
                Err(e) => {
                    self.blocked.insert(intent.canonical_id.clone());
                    self.provider_error(
                        &format!(
                            "looking up an interrupted create of {} {}",
                            intent.kind, intent.canonical_id
                        ),
                        e,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Sends every pending ledger change to the provider: references first, then entries,
    /// then deletes of references (dependants first).
    pub(crate) async fn push_all(&mut self) -> Result<(), Abort> {
        // People are never pushed: they are matched by e-mail (or `[people]`), and an entry
        // of a person a provider does not know waits, with the reason on record.
        for (kind, pass) in PASSES {
            let mut after: Option<(
                chrono::DateTime<chrono::Utc>,
                timeweave_contract::CanonicalId,
            )> = None;
            loop {
                self.check_stop()?;
                let batch = self
                    .ledger
                    .read()
                    .await?
                    .push_candidates(
                        &self.instance.name,
                        kind,
                        PUSH_BATCH,
                        after.as_ref().map(|(t, id)| (*t, id)),
                        self.instance.propagate_deletes,
                    )
                    .await?;
                let Some((last, _)) = batch.last() else { break };
                after = Some((last.updated_at, last.id.clone()));
                let mut ready: Vec<Prepared> = Vec::new();
                for (rec, link) in batch {
                    if self.stop.is_stopped() {
                        break;
                    }
                    if !pass.takes(&rec) {
                        continue;
                    }
                    self.report_progress("pushing");
                    if let Err(abort) = self.push_one(rec, link, &mut ready).await {
                        // Nothing of `ready` was sent: its intents would only cost lookups.
                        self.abandon(ready).await;
                        return Err(abort);
                    }
                }
                // Writes whose intents are committed are sent before a stop takes effect.
                self.send(ready).await?;
                self.check_stop()?;
            }
        }
        self.note_held_unlisted();
        Ok(())
    }

    /// Says once per cycle how many new entries wait for this provider's first history
    /// scan, and where it has not looked yet; a warning when the scan made no progress.
    fn note_held_unlisted(&mut self) {
        if self.held_unlisted == 0 {
            return;
        }
        let (held, name) = (self.held_unlisted, self.instance.name.clone());
        let whereabouts = self.coverage.not_yet_below().unwrap_or_default();
        let waiting = format!(
            "{held} new entries wait to be created on {name}: its first history scan has not \
             yet listed entries dated {whereabouts}, where it may hold copies of them"
        );
        if self.history_stalled {
            self.warnings.push(format!(
                "{waiting}, and the scan made no progress this cycle (a listing failed, or \
                 the request budget went on the hot window): raise the instance's quota or \
                 its schedule interval, or run `timeweave --sync-once`"
            ));
        } else {
            tracing::info!(provider = %name, held, "{waiting}; they are matched or created once it has (`timeweave --sync-once` scans all history at once)");
        }
    }

    /// Plans one record and carries it out. A time-entry create or update is prepared (its
    /// intent committed) and joins `ready`, which is sent once it holds `push_concurrency`
    /// writes; `ready` is sent before a delete, so writes keep their order around it.
    async fn push_one(
        &mut self,
        rec: StoredRecord,
        link: Option<Link>,
        ready: &mut Vec<Prepared>,
    ) -> Result<(), Abort> {
        if self.blocked.contains(&rec.id) {
            return Ok(());
        }
        let Some(planned) = self.plan_write(&rec, link.as_ref()).await? else {
            return Ok(());
        };
        if matches!(planned, PlannedWrite::Create(_)) && !self.coverage.may_create(&rec.record) {
            // The provider may hold a copy its listings have not reached: wait for them.
            self.held_unlisted += 1;
            return Ok(());
        }
        if self.dry_run {
            return self.plan_dry_run(&rec, planned).await;
        }
        let write = match planned {
            PlannedWrite::Create(payload) => Write::Create {
                key: idempotency_key(&rec),
                payload,
            },
            PlannedWrite::Update(id, payload) => Write::Update {
                target: UpdateTarget {
                    id,
                    version: link.and_then(|l| l.remote_version),
                },
                payload,
            },
            PlannedWrite::Delete(target) => {
                self.send(std::mem::take(ready)).await?;
                return self.delete(&rec, &target, link.as_ref()).await;
            }
        };
        let Some(prepared) = self.prepare(rec, write).await? else {
            return Ok(());
        };
        if prepared.rec.record.kind() != Kind::TimeEntry {
            // References one at a time: providers that create them by name (TimeTrack's
            // global tasks) would race with themselves.
            return self.send(vec![prepared]).await;
        }
        ready.push(prepared);
        if ready.len() >= self.instance.push_concurrency.max(1) {
            self.send(std::mem::take(ready)).await?;
        }
        Ok(())
    }

    /// What to send for `rec` (`plan_push`), checked: `None` when nothing is to be sent
    /// (skipped with its reason, a delete held by the guard, or already there).
    async fn plan_write(
        &mut self,
        rec: &StoredRecord,
        link: Option<&Link>,
    ) -> Result<Option<PlannedWrite>, Abort> {
        let mapped = if rec.is_live() {
            refs::to_remote(
                &mut self.ledger.read().await?,
                &self.instance.name,
                &rec.record,
            )
            .await?
        } else {
            Err(String::new())
        };
        let action = plan_push(
            rec.record.kind(),
            !rec.is_live(),
            link.map(|l| &l.remote_id),
            self.instance.propagate_deletes,
            mapped.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        let planned = match (action, mapped) {
            (PushAction::Skip { reason } | PushAction::Wait { reason }, _) => {
                return self.skip(rec, &reason).await.map(|()| None);
            }
            // The mass-delete guard tripped: no delete leaves this cycle.
            (PushAction::Delete { .. }, _) if self.deletes_held => return Ok(None),
            (PushAction::Delete { target }, _) => return Ok(Some(PlannedWrite::Delete(target))),
            (PushAction::Create, Ok(p)) => PlannedWrite::Create(p.normalised()),
            (PushAction::Update { target }, Ok(p)) => PlannedWrite::Update(target, p.normalised()),
            (_, Err(reason)) => return self.skip(rec, &reason).await.map(|()| None),
        };
        if let Some(payload) = planned.payload() {
            if let Err(e) = self.instance.provider.check_writable(planned.op(), payload) {
                return self.skip(rec, &e.to_string()).await.map(|()| None);
            }
        }
        if let (PlannedWrite::Update(_, p), Some(l)) = (&planned, link) {
            // The provider already holds everything of this record it can hold: the change
            // was in a field it has no place for (or was made there too). Nothing to send.
            if content_hash(&p.clone().forget_unheld(&self.caps.not_writable())) == l.remote_hash {
                return self.already_there(rec).await.map(|()| None);
            }
        }
        Ok(Some(planned))
    }

    /// A dry run's line for a planned write. The dry run works on a throwaway copy of the
    /// ledger: a create gets a stand-in link, so the records that reference it are planned
    /// too.
    async fn plan_dry_run(
        &mut self,
        rec: &StoredRecord,
        planned: PlannedWrite,
    ) -> Result<(), Abort> {
        let kind = rec.record.kind();
        let verb = planned.op().as_str();
        let line = format!(
            "{verb} {kind} '{}' in {}",
            label(&rec.record),
            self.instance.name
        );
        self.plan.push(line);
        let PlannedWrite::Create(payload) = planned else {
            return Ok(());
        };
        let stand_in = RemoteRecord {
            id: RemoteId(format!("dry-run-{}", rec.id)),
            modified_at: None,
            version: None,
            incarnation: None,
            record: payload,
        };
        if let Some(intent) = self
            .intent(rec, PushOp::Create, None, "dry-run", &stand_in.record)
            .await?
        {
            self.landed(rec, intent, &stand_in).await?;
            self.counts.pushed -= 1;
        }
        Ok(())
    }

    /// Drops prepared writes that were never sent, with their intents.
    async fn abandon(&mut self, prepared: Vec<Prepared>) {
        for p in prepared {
            if let Err(e) = self.clear(p.intent).await {
                tracing::warn!(provider = %self.instance.name, "an unsent write's intent stays open (reconciled next cycle): {e}");
            }
        }
    }

    /// Tallies the fields the provider's answer holds otherwise than `payload` sent them
    /// (beyond those it declares it cannot hold), for the cycle's warnings.
    fn note_unkept(
        &mut self,
        rec: &StoredRecord,
        payload: &Record<RemoteId>,
        answer: &RemoteRecord,
    ) {
        let expected = payload.clone().forget_unheld(&self.caps.not_writable());
        for u in unkept(&expected, &answer.record) {
            let example = || {
                format!(
                    "{} '{}': sent {}, holds {}",
                    rec.record.kind(),
                    label(&rec.record),
                    u.sent,
                    u.kept
                )
            };
            let slot = self.unkept.entry(u.field).or_insert_with(|| (0, example()));
            slot.0 += 1;
        }
    }

    /// The provider holds this version already: the link remembers it as synced.
    async fn already_there(&mut self, rec: &StoredRecord) -> Result<(), Abort> {
        if self.dry_run {
            return Ok(());
        }
        let kind = rec.record.kind();
        let mut tx = self.ledger.write().await?;
        tx.set_link_canonical_hash(&self.instance.name, kind, &rec.id, &rec.hash, self.now)
            .await?;
        tx.clear_issue(&self.instance.name, Direction::Push, kind, rec.id.as_str())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records why a record is not sent (once per content version).
    async fn skip(&mut self, rec: &StoredRecord, reason: &str) -> Result<(), Abort> {
        if self.dry_run {
            if !reason.starts_with("waiting:") {
                self.plan.push(format!(
                    "skip {} '{}' for {}: {reason}",
                    rec.record.kind(),
                    label(&rec.record),
                    self.instance.name
                ));
            }
            return Ok(());
        }
        let mut tx = self.ledger.write().await?;
        let fresh = tx
            .record_issue(
                &NewIssue {
                    provider: &self.instance.name,
                    direction: Direction::Push,
                    kind: rec.record.kind(),
                    record_id: rec.id.as_str(),
                    content_hash: rec.hash.as_str(),
                    reason,
                },
                self.now,
            )
            .await?;
        tx.commit().await?;
        if fresh {
            self.counts.skipped += 1;
            tracing::info!(provider = %self.instance.name, kind = %rec.record.kind(), record = %label(&rec.record), "not sent: {reason}");
        }
        Ok(())
    }

    /// Claims the write of `rec` for this cycle (the intent committed): `None` when
    /// another claimant holds it or, for a create, it is linked there by now; the record
    /// then waits for a later cycle.
    async fn intent(
        &mut self,
        rec: &StoredRecord,
        op: PushOp,
        remote_id: Option<&RemoteId>,
        key: &str,
        payload: &Record<RemoteId>,
    ) -> Result<Option<i64>, Abort> {
        let mut tx = self.ledger.write().await?;
        let claim = tx
            .claim_intent(
                &NewIntent {
                    provider: &self.instance.name,
                    canonical_id: &rec.id,
                    op,
                    remote_id,
                    idempotency_key: key,
                    payload,
                    canonical_hash: &rec.hash,
                    claimed_by: self.claimant.name(),
                },
                self.now,
            )
            .await?;
        tx.commit().await?;
        match claim {
            Claim::Granted(id) => Ok(Some(id)),
            Claim::Held(by) => {
                tracing::info!(provider = %self.instance.name, kind = %rec.record.kind(), record = %rec.record.label(), claimant = by.as_deref().unwrap_or("unknown"), "not sent: another cycle's write of it is in flight");
                self.blocked.insert(rec.id.clone());
                Ok(None)
            }
            Claim::Linked => {
                tracing::info!(provider = %self.instance.name, kind = %rec.record.kind(), record = %rec.record.label(), "not sent: another cycle created it meanwhile");
                self.blocked.insert(rec.id.clone());
                Ok(None)
            }
        }
    }

    /// A write was answered with an id the ledger links to another record, as a later
    /// record: the provider gave out the id of a deleted record again (TimeTracker on
    /// SQLite), so that record is settled as gone before the id is linked anew.
    async fn release_reused_id(
        &mut self,
        tx: &mut Tx,
        canonical_id: &CanonicalId,
        remote: &RemoteRecord,
    ) -> Result<(), Abort> {
        if remote.incarnation.is_none() {
            return Ok(()); // a provider that never reuses ids: no query
        }
        let old = tx
            .link_by_remote(&self.instance.name, remote.kind(), &remote.id)
            .await?;
        if let Some(old) = old.filter(|l| l.canonical_id != *canonical_id && l.is_reused_by(remote))
        {
            self.settle_reused(tx, &old).await?;
        }
        Ok(())
    }

    /// Links the record as the provider now holds it and clears the intent, in one
    /// transaction.
    async fn landed(
        &mut self,
        rec: &StoredRecord,
        intent: i64,
        remote: &RemoteRecord,
    ) -> Result<(), Abort> {
        let mut tx = self.ledger.write().await?;
        let remote_hash = content_hash(&remote.record);
        self.release_reused_id(&mut tx, &rec.id, remote).await?;
        let linked = tx
            .upsert_link(
                &LinkUpdate::of_remote(
                    &self.instance.name,
                    remote,
                    &remote_hash,
                    &rec.id,
                    &rec.hash,
                ),
                self.now,
            )
            .await;
        if let Err(e) = linked {
            drop(tx);
            self.error(format!(
                "{} answered a write of {} '{}' with {} {}, which is already linked to another record: {e}",
                self.instance.name,
                rec.record.kind(),
                label(&rec.record),
                rec.record.kind(),
                remote.id
            ));
            let mut tx = self.ledger.write().await?;
            tx.clear_intent(intent).await?;
            tx.commit().await?;
            return Ok(());
        }
        tx.clear_intent(intent).await?;
        tx.clear_issue(
            &self.instance.name,
            Direction::Push,
            rec.record.kind(),
            rec.id.as_str(),
        )
        .await?;
        tx.commit().await?;
        self.counts.pushed += 1;
        Ok(())
    }

    /// Claims the write of a create or update (its intent committed): from here a crash is
    /// reconciled. `None`: claimed elsewhere, not to be sent.
    async fn prepare(
        &mut self,
        rec: StoredRecord,
        write: Write,
    ) -> Result<Option<Prepared>, Abort> {
        let intent = match &write {
            Write::Create { key, payload } => {
                self.intent(&rec, PushOp::Create, None, key, payload)
                    .await?
            }
            Write::Update { target, payload } => {
                let key = idempotency_key(&rec);
                self.intent(&rec, PushOp::Update, Some(&target.id), &key, payload)
                    .await?
            }
        };
        Ok(intent.map(|intent| Prepared { rec, write, intent }))
    }

    /// Sends prepared writes, all at once (the transport's quotas pace them), then settles
    /// each answer in order. Every answer is settled even when one of them aborts the
    /// cycle; the first abort is returned.
    async fn send(&mut self, prepared: Vec<Prepared>) -> Result<(), Abort> {
        if prepared.is_empty() {
            return Ok(());
        }
        let provider = self.instance.provider.clone();
        let together = prepared.len() > 1;
        let answers =
            futures::future::join_all(prepared.iter().map(|p| write_to(provider.as_ref(), p)))
                .await;
        let mut first_abort = None;
        let mut again = Vec::new();
        for (p, answer) in prepared.into_iter().zip(answers) {
            // Sent one at a time, in order, this write might have found the slot it takes
            // already vacated (an entry moved away by another write of the same batch):
            // an overlap or duplicate refusal from a batch is retried alone, after it.
            let refused_for_order = matches!(
                &answer,
                Err(ProviderError::Conflict {
                    reason: ConflictReason::Overlap | ConflictReason::Duplicate,
                    ..
                })
            );
            if together && refused_for_order {
                again.push(p);
                continue;
            }
            if let Err(abort) = self.settle(p, answer).await {
                first_abort.get_or_insert(abort);
            }
        }
        for p in again {
            let answer = write_to(provider.as_ref(), &p).await;
            if let Err(abort) = self.settle(p, answer).await {
                first_abort.get_or_insert(abort);
            }
        }
        first_abort.map_or(Ok(()), Err)
    }

    /// What a create's or update's answer means for the ledger.
    async fn settle(
        &mut self,
        p: Prepared,
        answer: Result<RemoteRecord, ProviderError>,
    ) -> Result<(), Abort> {
        let Prepared { rec, write, intent } = p;
        match (write, answer) {
            (Write::Create { payload, .. } | Write::Update { payload, .. }, Ok(remote)) => {
                self.note_unkept(&rec, &payload, &remote);
                self.landed(&rec, intent, &remote).await
            }
            (Write::Create { key, payload }, Err(e)) if outcome_unknown(&e) => {
                self.settle_lost_create(rec, intent, &key, &payload).await
            }
            (Write::Create { .. }, Err(e)) => {
                self.clear(intent).await?;
                self.refused(&rec, "create", e).await
            }
            (Write::Update { target, .. }, Err(ProviderError::NotFound { .. })) => {
                // Deleted remotely while edited in the ledger: the edit wins; it is sent
                // again as a new record on the next pass.
                let mut tx = self.ledger.write().await?;
                tx.delete_link(&self.instance.name, rec.record.kind(), &target.id)
                    .await?;
                tx.clear_intent(intent).await?;
                tx.commit().await?;
                Ok(())
            }
            (Write::Update { .. }, Err(e)) => {
                self.clear(intent).await?;
                self.refused(&rec, "update", e).await
            }
        }
    }

    /// A create whose answer was lost: looked up at once (by the provider's idempotency
    /// mechanism or natural key), so what references it still goes out in this cycle. Found:
    /// linked. Certainly absent: sent once more. Still unknown: the intent stays for the
    /// next cycle's reconciliation, and the record waits until then.
    async fn settle_lost_create(
        &mut self,
        rec: StoredRecord,
        intent: i64,
        key: &str,
        payload: &Record<RemoteId>,
    ) -> Result<(), Abort> {
        let provider = self.instance.provider.clone();
        let answer = match provider.find_created(payload, key).await {
            Ok(Some(found)) => {
                tracing::info!(provider = %self.instance.name, kind = %rec.record.kind(), remote_id = %found.id, "a create whose answer was lost had landed: linked");
                Ok(found)
            }
            Ok(None) => provider.create(payload, key).await,
            Err(e) => return self.unknown_create(&rec, e),
        };
        match answer {
            Ok(remote) => {
                self.note_unkept(&rec, payload, &remote);
                self.landed(&rec, intent, &remote).await
            }
            Err(e) if outcome_unknown(&e) => self.unknown_create(&rec, e),
            Err(e) => {
                self.clear(intent).await?;
                self.refused(&rec, "create", e).await
            }
        }
    }

    /// The create's outcome stays unknown: its intent is kept for the next cycle, which
    /// looks before re-sending, and the record waits.
    fn unknown_create(&mut self, rec: &StoredRecord, e: ProviderError) -> Result<(), Abort> {
        self.blocked.insert(rec.id.clone());
        self.provider_error(
            &format!(
                "creating {} '{}' (outcome unknown; checked next cycle)",
                rec.record.kind(),
                label(&rec.record)
            ),
            e,
        )
    }

    async fn delete(
        &mut self,
        rec: &StoredRecord,
        target: &RemoteId,
        link: Option<&Link>,
    ) -> Result<(), Abort> {
        let kind = rec.record.kind();
        if let Some(link) = link.filter(|l| l.remote_incarnation.is_some()) {
            // A provider that gives ids out again: the id may name a later record by now
            // (ours deleted there too, another booked since, outside the windows listed).
            // A delete by id would take that one; look first.
            match self.instance.provider.get(kind, target).await {
                Ok(Some(now)) if link.is_reused_by(&now) => {
                    let mut tx = self.ledger.write().await?;
                    self.settle_reused(&mut tx, link).await?;
                    tx.commit().await?;
                    return Ok(());
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    let mut tx = self.ledger.write().await?;
                    tx.mark_link_remote_deleted(&self.instance.name, kind, target, self.now)
                        .await?;
                    tx.commit().await?;
                    return Ok(());
                }
                // The record at that id cannot be read (e.g. booked on neither a project
                // nor a client): whether it is still ours is unknown, so it is not deleted,
                // and that is recorded once rather than failing every cycle.
                Err(e @ ProviderError::Malformed { .. }) => {
                    let reason = format!(
                        "delete of {kind} '{}' not sent: {} {target} can no longer be read to check it is still this record ({e})",
                        label(&rec.record),
                        kind
                    );
                    return self.skip(rec, &reason).await;
                }
                Err(e) => return self.refused(rec, "delete", e).await,
            }
        }
        let key = idempotency_key(rec);
        // The intent of a delete needs no payload to reconcile; the record is kept for the
        // operator's benefit (its references stay ledger ids).
        let placeholder = ledger_refs_as_remote(&rec.record);
        let Some(intent) = self
            .intent(rec, PushOp::Delete, Some(target), &key, &placeholder)
            .await?
        else {
            return Ok(());
        };
        match self.instance.provider.delete(kind, target).await {
            Ok(()) | Err(ProviderError::NotFound { .. }) => {
                let mut tx = self.ledger.write().await?;
                tx.mark_link_remote_deleted(&self.instance.name, kind, target, self.now)
                    .await?;
                tx.clear_intent(intent).await?;
                tx.commit().await?;
                self.counts.pushed += 1;
                Ok(())
            }
            Err(e) => {
                self.clear(intent).await?;
                self.refused(rec, "delete", e).await
            }
        }
    }

    async fn clear(&mut self, intent: i64) -> Result<(), Abort> {
        let mut tx = self.ledger.write().await?;
        tx.clear_intent(intent).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A write the provider refused: permanent refusals are recorded once per content
    /// version; passing ones are errors of this cycle (tried again next cycle).
    async fn refused(
        &mut self,
        rec: &StoredRecord,
        verb: &str,
        e: ProviderError,
    ) -> Result<(), Abort> {
        let what = format!("{verb} of {} '{}'", rec.record.kind(), label(&rec.record));
        match e {
            ProviderError::Unsupported { .. }
            | ProviderError::Rejected { .. }
            | ProviderError::Forbidden { .. }
            | ProviderError::Conflict {
                reason:
                    timeweave_contract::ConflictReason::Overlap
                    | timeweave_contract::ConflictReason::Duplicate
                    | timeweave_contract::ConflictReason::Other,
                ..
            } => {
                let reason = format!("{what} refused: {e}");
                self.skip(rec, &reason).await
            }
            // Stale: the remote changed since we read it; the next pull settles it.
            other => self.provider_error(&what, other),
        }
    }
}
