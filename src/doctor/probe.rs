//! `--write-probe`: the one write `doctor` ever makes, only when asked. Creates a ten-minute
//! time entry with a two-minute break, named `timeweave doctor probe <time>`, yesterday at
//! 03:00 UTC for the token's own user (where the provider tells whom it acts as; else the
//! first listed person) on the first open project (its first task, if any; its client, else
//! the first listed client; billable, tag `timeweave-probe`), looks it up as after a lost
//! answer (`find_created`), updates its notes, takes it off its task (evidence T4) and
//! deletes it. After each write an independent `get` reads the entry back, and that (not
//! the write's own answer) is compared with what was sent, beyond the fields the adapter
//! declares it cannot hold. A create whose outcome is unknown is looked up and undone.

use std::collections::BTreeSet;

use chrono::{Duration, DurationRound, Utc};
use timeweave_contract::fields::unkept;
use timeweave_contract::{
    EntryKind, Field, Kind, ListScope, PageItem, Provider, ProviderError, Record, RemoteId,
    TimeEntry, UpdateTarget,
};

use super::{Finding, Verdict};

const CHECK: &str = "write probe";

pub(super) async fn findings(provider: &dyn Provider) -> Vec<Finding> {
    let (entry, on_whom) = match probe_entry(provider).await {
        Ok(Some(prepared)) => prepared,
        Ok(None) => {
            return vec![Finding::new(
                CHECK,
                Verdict::Warning,
                "not made: the account lists no person or no project to book it on",
            )]
        }
        Err(e) => return vec![failed("preparing it (listing people and projects)", &e)],
    };
    let sent = Record::TimeEntry(entry);
    let key = probe_key(&sent);
    let created = match provider.create(&sent, &key).await {
        Ok(created) => created,
        Err(e) => return vec![create_failed(provider, &sent, &key, &e).await],
    };
    let mut out =
        vec![read_back(provider, &format!("create ({on_whom})"), &sent, &created.id).await];
    out.push(found_again(provider, &sent, &key, &created.id).await);
    let mut target = UpdateTarget {
        id: created.id.clone(),
        version: created.version.clone(),
    };
    let changed = with_notes(&sent);
    out.push(update_step(provider, &mut target, "update", &changed).await);
    if let Some(off_task) = without_task(&changed) {
        let step = "update taking it off its task";
        out.push(update_step(provider, &mut target, step, &off_task).await);
    }
    out.push(deleted(provider, &created.id).await);
    out.push(not_probed());
    out
}

/// The fields the issue asks about that a time entry does not carry.
fn not_probed() -> Finding {
    Finding::new(
        CHECK,
        Verdict::Ok,
        "e-mail and rates: not probed: a time entry carries neither (they belong to people, \
         clients and projects, which doctor never writes)",
    )
}

/// A create that failed: where its outcome is unknown (a timeout, a lost or broken
/// answer), the entry may exist: it is looked up as the engine would and deleted.
async fn create_failed(
    provider: &dyn Provider,
    sent: &Record<RemoteId>,
    key: &str,
    e: &ProviderError,
) -> Finding {
    let outcome_unknown = matches!(
        e,
        ProviderError::Retryable { .. } | ProviderError::Malformed { .. }
    );
    if !outcome_unknown {
        return failed("create", e);
    }
    match provider.find_created(sent, key).await {
        Ok(Some(found)) => match provider.delete(Kind::TimeEntry, &found.id).await {
            Ok(()) | Err(ProviderError::NotFound { .. }) => failed("create", e)
                .also("; it had landed all the same: found again by the look-up and deleted"),
            Err(de) => failed("create", e)
                .also(&format!("; it had landed, but its delete failed: {de}"))
                .fix(delete_by_hand(Some(&found.id))),
        },
        Ok(None) => failed("create", e)
            .also("; the look-up finds no probe entry")
            .fix(delete_by_hand(None)),
        Err(le) => failed("create", e)
            .also(&format!("; the look-up for it failed too: {le}"))
            .fix(delete_by_hand(None)),
    }
}

/// The fix for a probe entry doctor could not remove.
fn delete_by_hand(id: Option<&RemoteId>) -> String {
    let id = id.map(|id| format!(" (id {id})")).unwrap_or_default();
    format!(
        "if it exists, delete the time entry named `timeweave doctor probe …`{id}, \
         yesterday at 03:00 UTC, in the provider's app"
    )
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

/// One update of the probe entry, read back and compared; `target` takes the new version
/// for the next one.
async fn update_step(
    provider: &dyn Provider,
    target: &mut UpdateTarget,
    step: &str,
    changed: &Record<RemoteId>,
) -> Finding {
    match provider.update(target, changed).await {
        Ok(updated) => {
            target.version = updated.version.clone();
            read_back(provider, step, changed, &target.id).await
        }
        Err(e) => failed(step, &e),
    }
}

/// The probe entry and on whom it is booked: the token's own user (else the first listed
/// person), the first open project (its first task, its client or else the first listed
/// client); `None` when a person or project is missing.
async fn probe_entry(
    provider: &dyn Provider,
) -> Result<Option<(TimeEntry<RemoteId>, &'static str)>, ProviderError> {
    let (person, on_whom) = match provider.own_person().await? {
        Some(own) => (own, "on the token's own user"),
        None => match first_id(provider, Kind::Person).await? {
            Some(first) => (
                first,
                "on the first listed person: the provider names no user",
            ),
            None => return Ok(None),
        },
    };
    let Some((project, project_client)) = first_project(provider).await? else {
        return Ok(None);
    };
    let task = task_of(provider, &project).await;
    let client = match project_client {
        Some(client) => Some(client),
        None => first_id(provider, Kind::Client).await.ok().flatten(),
    };
    let now = Utc::now();
    let day = now.duration_trunc(Duration::days(1)).unwrap_or(now);
    let start = day - Duration::days(1) + Duration::hours(3);
    let entry = TimeEntry {
        person,
        project: Some(project),
        task,
        client,
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
    };
    Ok(Some((entry, on_whom)))
}

/// The first open project the first page lists, with its client.
async fn first_project(
    provider: &dyn Provider,
) -> Result<Option<(RemoteId, Option<RemoteId>)>, ProviderError> {
    let page = provider
        .list_page(Kind::Project, ListScope::All, None)
        .await?;
    Ok(page.items.into_iter().find_map(|item| match item {
        PageItem::Record(r) => match r.record {
            Record::Project(p) if !p.archived => Some((r.id, p.client)),
            _ => None,
        },
        PageItem::Invalid(_) => None,
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
    matches!(record, Record::Client(c) if c.archived)
}

fn probe_key(sent: &Record<RemoteId>) -> String {
    format!(
        "timeweave-doctor-probe-{}",
        sent.started_at().map(|t| t.timestamp()).unwrap_or(0)
    )
}

/// Reads the probe entry back with an independent `get` after `step` and compares it with
/// what was sent, beyond the fields the adapter declares it cannot hold; the line names
/// which fields were checked and which are declared unheld.
async fn read_back(
    provider: &dyn Provider,
    step: &str,
    sent: &Record<RemoteId>,
    id: &RemoteId,
) -> Finding {
    let held = match provider.get(Kind::TimeEntry, id).await {
        Ok(Some(held)) => held.record,
        Ok(None) => {
            return Finding::new(
                CHECK,
                Verdict::Warning,
                format!("{step}: reading it back found no entry {id}"),
            )
        }
        Err(e) => return failed(&format!("{step}: reading it back"), &e),
    };
    let unheld = provider.capabilities().not_writable();
    let expected = sent.clone().forget_unheld(&unheld);
    let lost: Vec<String> = unkept(&expected, &held)
        .into_iter()
        .map(|u| format!("{} (sent {}, holds {})", u.field, u.sent, u.kept))
        .collect();
    let fields = fields_named(sent, &unheld);
    match lost.is_empty() {
        true => Finding::new(
            CHECK,
            Verdict::Ok,
            format!("{step}: read back as written: {fields}"),
        ),
        false => Finding::new(
            CHECK,
            Verdict::Warning,
            format!("{step}: not kept as written: {}; {fields}", lost.join("; ")),
        ),
    }
}

/// `checked a, b, c; declared unheld: d` for the probe entry's fields.
fn fields_named(sent: &Record<RemoteId>, unheld: &[Field]) -> String {
    let Record::TimeEntry(e) = sent else {
        return String::new();
    };
    let entry_fields = [
        (Some(Field::EntryBreak), "break", true),
        (Some(Field::EntryBillable), "billable", true),
        (None, "client", e.client.is_some()),
        (Some(Field::EntryTags), "tags", true),
        (Some(Field::EntryNotes), "notes", true),
        (None, "task", e.task.is_some()),
        (None, "person, project, start, end", true),
    ];
    let is_unheld = |f: &Option<Field>| f.is_some_and(|f| unheld.contains(&f));
    let named = |want_unheld: bool| -> Vec<&str> {
        entry_fields
            .iter()
            .filter(|(f, _, carried)| *carried && is_unheld(f) == want_unheld)
            .map(|(_, name, _)| *name)
            .collect()
    };
    let declared = named(true);
    match declared.is_empty() {
        true => format!("checked {}", named(false).join(", ")),
        false => format!(
            "checked {}; declared unheld: {}",
            named(false).join(", "),
            declared.join(", ")
        ),
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
                .fix(delete_by_hand(Some(id))),
                Err(e) => failed("reading back the delete", &e),
            }
        }
        Err(e) => failed("delete", &e).fix(delete_by_hand(Some(id))),
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
    use timeweave_contract::{Client, Person, Project};

    use super::*;
    use timeweave_testsupport::memory::{MemoryFault, MemoryProvider};

    fn seeded(provider: MemoryProvider) -> MemoryProvider {
        provider.put(Record::Person(Person {
            display_name: "Ada".into(),
            email: None,
            username: None,
        }));
        provider.put(Record::Client(Client {
            name: "Acme".into(),
            email: None,
            notes: None,
            archived: false,
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
    async fn a_field_the_account_drops_silently_is_named_from_its_read_back() {
        // The writes answer with what was sent: only the read-back shows the loss.
        let provider = seeded(
            MemoryProvider::new(10)
                .with_silently_dropped(vec![Field::EntryTags])
                .with_echoed_writes(),
        );
        let seen = findings(&provider).await;
        assert_eq!(seen.len(), 5, "{seen:#?}");
        assert_eq!(seen[0].verdict, Verdict::Warning);
        assert!(
            seen[0].seen.starts_with(
                "create (on the first listed person: the provider names no user): \
                              not kept as written: time_entry.tags"
            ),
            "{}",
            seen[0].seen
        );
        assert!(
            seen[0]
                .seen
                .contains("checked break, billable, client, tags"),
            "{seen:#?}"
        );
        assert!(
            seen[1].seen.starts_with("look-up: found again"),
            "{seen:#?}"
        );
        assert!(seen[2]
            .seen
            .starts_with("update: not kept as written: time_entry.tags"));
        assert_eq!(seen[3].seen, "delete: the probe entry is gone");
        assert!(
            seen[4].seen.starts_with("e-mail and rates: not probed"),
            "{seen:#?}"
        );
        assert!(provider.all(Kind::TimeEntry).is_empty());
    }

    #[tokio::test]
    async fn the_lines_name_the_fields_checked_and_those_declared_unheld() {
        let provider = seeded(MemoryProvider::new(10).with_unheld(vec![Field::EntryTags]));
        let seen = findings(&provider).await;
        assert!(seen.iter().all(|f| f.verdict == Verdict::Ok), "{seen:#?}");
        assert!(
            seen[0].seen.ends_with(
                "read back as written: checked break, billable, client, notes, person, \
                 project, start, end; declared unheld: tags"
            ),
            "{}",
            seen[0].seen
        );
    }

    /// `fault` for the create: the four listings before it (people, projects, tasks,
    /// clients) each take one, and pass over a lost answer.
    fn at_create(fault: MemoryFault) -> Vec<MemoryFault> {
        let mut faults: Vec<MemoryFault> = (0..4).map(|_| MemoryFault::LoseAnswer).collect();
        faults.push(fault);
        faults
    }

    #[tokio::test]
    async fn a_create_whose_answer_is_lost_is_found_and_deleted() {
        let provider = seeded(MemoryProvider::new(10));
        provider.inject(at_create(MemoryFault::LoseAnswer));
        let seen = findings(&provider).await;
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert!(
            seen[0]
                .seen
                .contains("it had landed all the same: found again by the look-up and deleted"),
            "{}",
            seen[0].seen
        );
        assert!(provider.all(Kind::TimeEntry).is_empty());
    }

    #[tokio::test]
    async fn a_refused_create_is_an_error() {
        let provider = seeded(MemoryProvider::new(10));
        provider.inject(at_create(MemoryFault::Fail(ProviderError::Forbidden {
            message: "read-only token".into(),
        })));
        let seen = findings(&provider).await;
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].verdict, Verdict::Error);
        assert!(
            seen[0]
                .seen
                .starts_with("create failed: permission denied: read-only token"),
            "{}",
            seen[0].seen
        );
    }
}
