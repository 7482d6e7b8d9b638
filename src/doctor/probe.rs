//! `--write-probe`: the one write `doctor` ever makes, only when asked. Creates a ten-minute
//! time entry with a two-minute break, named `timeweave doctor probe <time>`, yesterday at
//! 03:00 UTC for the first listed person and project (and the project's first task, if any;
//! billable, tag `timeweave-probe`), looks it up as after a lost answer (`find_created`),
//! updates its notes, takes it off its task (evidence T4) and deletes it; compares what each
//! write answers with (what the account now holds) with what was sent, beyond the fields
//! the adapter declares it cannot write, and checks the delete by a get.

use std::collections::BTreeSet;

use chrono::{Duration, DurationRound, Utc};
use timeweave_contract::fields::unkept;
use timeweave_contract::{
    EntryKind, Kind, ListScope, PageItem, Provider, ProviderError, Record, RemoteId, TimeEntry,
    UpdateTarget,
};

use super::{Finding, Verdict};

const CHECK: &str = "write probe";

pub(super) async fn findings(provider: &dyn Provider) -> Vec<Finding> {
    let entry = match probe_entry(provider).await {
        Ok(Some(entry)) => entry,
        Ok(None) => {
            return vec![Finding::new(
                CHECK,
                Verdict::Warning,
                "not made: the account lists no person or no project to book it on",
            )]
        }
        Err(e) => return vec![failed("preparing it (listing people and projects)", &e)],
    };
    let mut out = Vec::new();
    let sent = Record::TimeEntry(entry);
    let key = probe_key(&sent);
    let created = match provider.create(&sent, &key).await {
        Ok(created) => created,
        Err(e) => return vec![failed("create", &e)],
    };
    out.push(kept_as_written(provider, "create", &sent, &created.record));
    out.push(found_again(provider, &sent, &key, &created.id).await);
    let mut target = UpdateTarget {
        id: created.id.clone(),
        version: created.version.clone(),
    };
    let changed = with_notes(&sent);
    out.push(update_step(provider, &mut target, "update", &changed).await);
    if let Some(off_task) = without_task(&changed) {
        out.push(
            update_step(
                provider,
                &mut target,
                "update taking it off its task",
                &off_task,
            )
            .await,
        );
    }
    out.push(deleted(provider, &created.id).await);
    out
}

/// `sent` with its notes changed.
fn with_notes(sent: &Record<RemoteId>) -> Record<RemoteId> {
    let mut changed = sent.clone();
    if let Record::TimeEntry(e) = &mut changed {
        e.notes = Some(format!("{} (updated)", e.notes.clone().unwrap_or_default()));
    }
    changed
}

/// `sent` taken off its task (evidence T4: can an update clear it?); `None` without one.
fn without_task(sent: &Record<RemoteId>) -> Option<Record<RemoteId>> {
    let mut changed = sent.clone();
    match &mut changed {
        Record::TimeEntry(e) if e.task.is_some() => {
            e.task = None;
            Some(changed)
        }
        _ => None,
    }
}

/// One update of the probe entry, compared with what it answers; `target` takes the new
/// version for the next one.
async fn update_step(
    provider: &dyn Provider,
    target: &mut UpdateTarget,
    step: &str,
    changed: &Record<RemoteId>,
) -> Finding {
    match provider.update(target, changed).await {
        Ok(updated) => {
            target.version = updated.version.clone();
            kept_as_written(provider, step, changed, &updated.record)
        }
        Err(e) => failed(step, &e),
    }
}

/// The probe entry, on the first listed person and project (and the project's first task,
/// if it lists one); `None` when a person or project is missing.
async fn probe_entry(
    provider: &dyn Provider,
) -> Result<Option<TimeEntry<RemoteId>>, ProviderError> {
    let Some(person) = first_id(provider, Kind::Person).await? else {
        return Ok(None);
    };
    let Some(project) = first_id(provider, Kind::Project).await? else {
        return Ok(None);
    };
    let task = task_of(provider, &project).await;
    let now = Utc::now();
    let day = now.duration_trunc(Duration::days(1)).unwrap_or(now);
    let start = day - Duration::days(1) + Duration::hours(3);
    Ok(Some(TimeEntry {
        person,
        project: Some(project),
        task,
        client: None,
        started_at: start,
        ended_at: Some(start + Duration::minutes(10)),
        // A break, so that a provider dropping it without declaring so is named.
        break_seconds: 120,
        duration_seconds: Some(480),
        source_tz: None,
        notes: Some(format!(
            "timeweave doctor probe {}",
            now.format("%Y-%m-%d %H:%M:%S UTC")
        )),
        tags: BTreeSet::from(["timeweave-probe".to_owned()]),
        billable: true,
        kind: EntryKind::Work,
    }))
}

async fn first_id(provider: &dyn Provider, kind: Kind) -> Result<Option<RemoteId>, ProviderError> {
    let page = provider.list_page(kind, ListScope::All, None).await?;
    Ok(page.items.into_iter().find_map(|item| match item {
        PageItem::Record(r) if !archived(&r.record) => Some(r.id),
        _ => None,
    }))
}

/// The first open task of `project` the first page of tasks lists; none where tasks are
/// not listed or the listing fails (the probe then books on the project alone).
async fn task_of(provider: &dyn Provider, project: &RemoteId) -> Option<RemoteId> {
    if !provider.capabilities().support(Kind::Task).list {
        return None;
    }
    let page = provider
        .list_page(Kind::Task, ListScope::All, None)
        .await
        .ok()?;
    page.items.into_iter().find_map(|item| match item {
        PageItem::Record(r) => match &r.record {
            Record::Task(t) if &t.project == project && !t.archived => Some(r.id),
            _ => None,
        },
        PageItem::Invalid(_) => None,
    })
}

fn archived(record: &Record<RemoteId>) -> bool {
    matches!(record, Record::Project(p) if p.archived)
}

fn probe_key(sent: &Record<RemoteId>) -> String {
    format!(
        "timeweave-doctor-probe-{}",
        sent.started_at().map(|t| t.timestamp()).unwrap_or(0)
    )
}

fn kept_as_written(
    provider: &dyn Provider,
    step: &str,
    sent: &Record<RemoteId>,
    answer: &Record<RemoteId>,
) -> Finding {
    let expected = sent
        .clone()
        .forget_unheld(&provider.capabilities().not_writable());
    let lost: Vec<String> = unkept(&expected, answer)
        .into_iter()
        .map(|u| format!("{} (sent {}, holds {})", u.field, u.sent, u.kept))
        .collect();
    if lost.is_empty() {
        Finding::new(
            CHECK,
            Verdict::Ok,
            format!("{step}: every writable field read back as written"),
        )
    } else {
        Finding::new(
            CHECK,
            Verdict::Warning,
            format!("{step}: not kept as written: {}", lost.join("; ")),
        )
    }
}

/// Whether `find_created`, the look-up after a create whose answer was lost, finds the
/// probe entry: if not, such a create would be sent a second time.
async fn found_again(
    provider: &dyn Provider,
    sent: &Record<RemoteId>,
    key: &str,
    id: &RemoteId,
) -> Finding {
    match provider.find_created(sent, key).await {
        Ok(Some(found)) if &found.id == id => Finding::new(
            CHECK,
            Verdict::Ok,
            "look-up: found again as a create whose answer was lost would be",
        ),
        Ok(other) => Finding::new(
            CHECK,
            Verdict::Warning,
            format!(
                "look-up: {} instead of the probe entry: a create whose answer is lost would \
                 be sent again",
                match other {
                    Some(r) => format!("found {}", r.id),
                    None => "found nothing".to_owned(),
                }
            ),
        ),
        Err(e) => failed("look-up", &e),
    }
}

async fn deleted(provider: &dyn Provider, id: &RemoteId) -> Finding {
    match provider.delete(Kind::TimeEntry, id).await {
        Ok(()) | Err(ProviderError::NotFound { .. }) => {
            match provider.get(Kind::TimeEntry, id).await {
                Ok(None) | Err(ProviderError::NotFound { .. }) => {
                    Finding::new(CHECK, Verdict::Ok, "delete: the probe entry is gone")
                }
                Ok(Some(_)) => Finding::new(
                    CHECK,
                    Verdict::Warning,
                    format!("delete: time entry {id} is still listed"),
                )
                .fix(format!(
                "delete the entry named `timeweave doctor probe …` (id {id}) in the provider's app"
            )),
                Err(e) => failed("reading back the delete", &e),
            }
        }
        Err(e) => failed("delete", &e).fix(format!(
            "delete the entry named `timeweave doctor probe …` (id {id}) in the provider's app"
        )),
    }
}

fn failed(step: &str, e: &ProviderError) -> Finding {
    let verdict = match e {
        ProviderError::Auth { .. } | ProviderError::Forbidden { .. } => Verdict::Error,
        _ => Verdict::Warning,
    };
    Finding::new(CHECK, verdict, format!("{step} failed: {e}"))
}

#[cfg(test)]
mod tests {
    use timeweave_contract::{Field, Person, Project};

    use super::*;
    use timeweave_testsupport::memory::{MemoryFault, MemoryProvider};

    fn seeded(provider: MemoryProvider) -> MemoryProvider {
        provider.put(Record::Person(Person {
            display_name: "Ada".into(),
            email: None,
            username: None,
        }));
        provider.put(Record::Project(Project {
            client: None,
            name: "Web".into(),
            billable: true,
            hourly_rate_cents: None,
            archived: false,
        }));
        provider
    }

    #[tokio::test]
    async fn a_field_the_account_drops_silently_is_named_and_the_entry_is_deleted() {
        let provider =
            seeded(MemoryProvider::new(10).with_silently_dropped(vec![Field::EntryTags]));
        let seen = findings(&provider).await;
        assert_eq!(seen.len(), 4, "{seen:#?}");
        assert_eq!(seen[0].verdict, Verdict::Warning);
        assert!(
            seen[0]
                .seen
                .starts_with("create: not kept as written: time_entry.tags"),
            "{}",
            seen[0].seen
        );
        assert!(
            seen[1].seen.starts_with("look-up: found again"),
            "{seen:#?}"
        );
        assert_eq!(seen[3].seen, "delete: the probe entry is gone");
        assert!(provider.all(Kind::TimeEntry).is_empty());
    }

    #[tokio::test]
    async fn a_declared_unheld_field_is_no_warning_and_a_refused_create_is_an_error() {
        let provider = seeded(MemoryProvider::new(10).with_unheld(vec![Field::EntryTags]));
        let seen = findings(&provider).await;
        assert!(seen.iter().all(|f| f.verdict == Verdict::Ok), "{seen:#?}");

        let provider = seeded(MemoryProvider::new(10));
        provider.inject(vec![MemoryFault::Fail(ProviderError::Forbidden {
            message: "read-only token".into(),
        })]);
        let seen = findings(&provider).await;
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].verdict, Verdict::Error);
        assert!(seen[0].seen.contains("read-only token"), "{}", seen[0].seen);
    }
}
