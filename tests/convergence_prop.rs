//! Property: random sequences of creates, edits, deletes and project renames across three
//! providers, interleaved with sync cycles in random order, always converge — after two
//! quiet rounds every provider holds the same entries, none twice, and every entry that was
//! never deleted survives. Against in-memory providers (many cases; `PROPTEST_CASES` raises
//! it) and against the three real simulators (fewer cases: each starts three servers;
//! `TIMEWEAVE_SIM_CASES` raises it).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, DurationRound, Utc};
use proptest::prelude::*;
use timeweave::config::{self, Environment, Mode, PathOrigin};
use timeweave::ledger::Ledger;
use timeweave::sync::plan::MassDeleteGuard;
use timeweave::sync::{CycleOptions, Engine, ProviderHandle, StopFlag, SyncSettings};
use timeweave_contract::{
    Client, EntryKind, Kind, ListScope, Person, Project, Record, RemoteId, TimeEntry, Window,
};
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::list_all;
use timeweave_testsupport::memory::MemoryProvider;

#[derive(Clone, Debug)]
enum Op {
    /// A new entry in provider `p`, in its own time slot.
    Create {
        p: usize,
    },
    /// New notes on the `nth` entry provider `p` holds (modulo its count).
    Edit {
        p: usize,
        nth: usize,
    },
    Delete {
        p: usize,
        nth: usize,
    },
    /// Renames provider `p`'s first project.
    Rename {
        p: usize,
    },
    Sync {
        p: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize).prop_map(|p| Op::Create { p }),
        2 => (0..3usize, 0..20usize).prop_map(|(p, nth)| Op::Edit { p, nth }),
        1 => (0..3usize, 0..20usize).prop_map(|(p, nth)| Op::Delete { p, nth }),
        1 => (0..3usize).prop_map(|p| Op::Rename { p }),
        3 => (0..3usize).prop_map(|p| Op::Sync { p }),
    ]
}

/// What the operations need from a provider, in memory or simulated.
trait Target {
    fn seed(&self) -> (RemoteId, RemoteId);
    fn add(&self, e: &TimeEntry<RemoteId>) -> RemoteId;
    fn edit(&self, id: &RemoteId, r: &Record<RemoteId>) -> bool;
    fn remove(&self, id: &RemoteId) -> bool;
    fn rename(&self, project: &RemoteId, name: &str) -> bool;
}

fn person() -> Person {
    Person {
        display_name: "Ada".into(),
        email: Some("ada@example.com".into()),
        username: Some("ada".into()),
    }
}

fn project(client: RemoteId, name: &str) -> Project<RemoteId> {
    Project {
        client: Some(client),
        name: name.into(),
        billable: true,
        hourly_rate_cents: None,
        archived: false,
    }
}

fn client() -> Client {
    Client {
        name: "Acme".into(),
        email: None,
        notes: None,
        archived: false,
    }
}

impl Target for MemoryProvider {
    fn seed(&self) -> (RemoteId, RemoteId) {
        let p = self.put(Record::Person(person()));
        let c = self.put(Record::Client(client()));
        (p, self.put(Record::Project(project(c, "Website"))))
    }
    fn add(&self, e: &TimeEntry<RemoteId>) -> RemoteId {
        self.put(Record::TimeEntry(e.clone()))
    }
    fn edit(&self, id: &RemoteId, r: &Record<RemoteId>) -> bool {
        MemoryProvider::edit(self, id, r.clone())
    }
    fn remove(&self, id: &RemoteId) -> bool {
        MemoryProvider::remove(self, Kind::TimeEntry, id)
    }
    fn rename(&self, project: &RemoteId, name: &str) -> bool {
        match self.get_now(Kind::Project, project) {
            Some(r) => {
                let mut rec = r.record;
                if let Record::Project(p) = &mut rec {
                    p.name = name.into();
                }
                MemoryProvider::edit(self, project, rec)
            }
            None => false,
        }
    }
}

struct Sim<'a>(&'a dyn SimulatorControl);

impl Target for Sim<'_> {
    fn seed(&self) -> (RemoteId, RemoteId) {
        let p = self.0.add_person(&person());
        let c = self.0.add_client(&client());
        (p, self.0.add_project(&project(c, "Website")))
    }
    fn add(&self, e: &TimeEntry<RemoteId>) -> RemoteId {
        self.0.add_entry(e)
    }
    fn edit(&self, id: &RemoteId, r: &Record<RemoteId>) -> bool {
        self.0.edit(id, r)
    }
    fn remove(&self, id: &RemoteId) -> bool {
        self.0.remove(Kind::TimeEntry, id)
    }
    fn rename(&self, project: &RemoteId, name: &str) -> bool {
        self.0.rename(Kind::Project, project, name)
    }
}

fn window() -> Window {
    Window::new(
        Utc::now() - Duration::days(300),
        Utc::now() + Duration::days(30),
    )
}

/// Runs the operations, then two quiet rounds, and checks convergence.
async fn check(
    ops: &[Op],
    targets: &[&dyn Target],
    engine: &Engine,
    handles: &[ProviderHandle],
) -> Result<(), String> {
    let base = (Utc::now() - Duration::days(20))
        .duration_trunc(Duration::days(1))
        .unwrap();
    let seeded: Vec<(RemoteId, RemoteId)> = targets.iter().map(|t| t.seed()).collect();
    // Entries each provider created, by our own label (the notes' first word).
    let mut created: BTreeSet<String> = BTreeSet::new();
    let mut deleted: BTreeSet<String> = BTreeSet::new();
    let mut slot = 0i64;
    let list = |p: usize| {
        let provider = handles[p].provider.clone();
        async move {
            list_all(
                provider.as_ref(),
                Kind::TimeEntry,
                ListScope::StartedIn(window()),
            )
            .await
        }
    };
    let clean = |r: &timeweave::sync::CycleReport| {
        if r.errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: {:?}", r.provider, r.errors))
        }
    };
    for op in ops {
        match op {
            Op::Create { p } => {
                slot += 1;
                let label = format!("e{slot}");
                let start = base + Duration::minutes(90 * slot);
                let (person, project) = &seeded[*p];
                targets[*p].add(&TimeEntry {
                    person: person.clone(),
                    project: Some(project.clone()),
                    task: None,
                    client: None,
                    started_at: start,
                    ended_at: Some(start + Duration::minutes(60)),
                    break_seconds: 0,
                    duration_seconds: Some(3600),
                    source_tz: None,
                    notes: Some(label.clone()),
                    tags: BTreeSet::new(),
                    billable: true,
                    kind: EntryKind::Work,
                });
                created.insert(label);
            }
            Op::Edit { p, nth } | Op::Delete { p, nth } => {
                let held = list(*p).await;
                if held.is_empty() {
                    continue;
                }
                let r = &held[nth % held.len()];
                let label = match &r.record {
                    Record::TimeEntry(e) => e
                        .notes
                        .clone()
                        .unwrap_or_default()
                        .split(' ')
                        .next()
                        .unwrap_or("")
                        .to_owned(),
                    _ => continue,
                };
                if let Op::Edit { .. } = op {
                    let mut rec = r.record.clone();
                    if let Record::TimeEntry(e) = &mut rec {
                        e.notes = Some(format!("{label} edited-{slot}"));
                    }
                    slot += 1;
                    targets[*p].edit(&r.id, &rec);
                } else {
                    targets[*p].remove(&r.id);
                    deleted.insert(label);
                }
            }
            Op::Rename { p } => {
                slot += 1;
                targets[*p].rename(&seeded[*p].1, &format!("Website {slot}"));
            }
            Op::Sync { p } => {
                let r = engine
                    .run_cycle(&handles[*p], CycleOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
                clean(&r)?;
            }
        }
    }
    for _ in 0..2 {
        for h in handles {
            let r = engine
                .run_cycle(h, CycleOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            clean(&r)?;
        }
    }
    // Same content everywhere, nothing twice.
    let mut views: Vec<BTreeMap<String, String>> = Vec::new();
    for p in 0..handles.len() {
        let mut by_start = BTreeMap::new();
        for r in list(p).await {
            if let Record::TimeEntry(e) = r.record {
                let key = e.started_at.to_rfc3339();
                if by_start
                    .insert(key.clone(), e.notes.unwrap_or_default())
                    .is_some()
                {
                    return Err(format!("provider {p} holds two entries starting {key}"));
                }
            }
        }
        views.push(by_start);
    }
    for (p, v) in views.iter().enumerate().skip(1) {
        if *v != views[0] {
            return Err(format!(
                "provider {p} differs from provider 0:\n{v:?}\n{:?}",
                views[0]
            ));
        }
    }
    // Every entry never deleted anywhere survives (with some version of its notes).
    let labels: BTreeSet<String> = views[0]
        .values()
        .map(|n| n.split(' ').next().unwrap_or("").to_owned())
        .collect();
    for label in created.difference(&deleted) {
        if !labels.contains(label) {
            return Err(format!("entry {label} was never deleted but is gone"));
        }
    }
    let mut tx = engine.ledger().read().await.map_err(|e| e.to_string())?;
    let in_ledger = tx
        .count_live(Kind::TimeEntry)
        .await
        .map_err(|e| e.to_string())?;
    if in_ledger != views[0].len() as i64 {
        return Err(format!(
            "ledger holds {in_ledger}, providers {}",
            views[0].len()
        ));
    }
    Ok(())
}

fn memory_settings() -> SyncSettings {
    SyncSettings {
        guard: MassDeleteGuard {
            max_fraction: 1.0,
            min_count: 1000,
        },
        ..SyncSettings::defaults(Utc::now() - Duration::days(300))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn memory_providers_always_converge(ops in prop::collection::vec(op(), 1..40)) {
        let rt = runtime();
        let outcome: Result<(), String> = rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let ledger = Ledger::open(&dir.path().join("l.db")).await.unwrap();
            let engine = Engine::new(ledger, memory_settings(), StopFlag::new());
            let mems: Vec<Arc<MemoryProvider>> = (0..3).map(|_| Arc::new(MemoryProvider::new(5))).collect();
            let handles: Vec<ProviderHandle> = mems.iter().enumerate().map(|(i, m)| ProviderHandle::new(format!("m{i}"), m.clone(), Mode::Both)).collect();
            let targets: Vec<&dyn Target> = mems.iter().map(|m| m.as_ref() as &dyn Target).collect();
            check(&ops, &targets, &engine, &handles).await
        });
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

fn sim_cases() -> u32 {
    std::env::var("TIMEWEAVE_SIM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: sim_cases(), ..ProptestConfig::default() })]

    #[test]
    fn simulated_providers_always_converge(ops in prop::collection::vec(op(), 1..25)) {
        let rt = runtime();
        let outcome: Result<(), String> = rt.block_on(async {
            let tt = timeweave_timetrack_sim::SimServer::start(Default::default()).await;
            let tg = timeweave_trackingtime_sim::SimServer::start(Default::default()).await.unwrap();
            let tm = timeweave_timetracker_sim::SimServer::start(Default::default()).await;
            let sims: [(&str, &str, &dyn SimulatorControl); 3] =
                [("timetrack", "timetrack", &tt), ("trackingtime", "trackingtime", &tg), ("timetracker", "timetracker", &tm)];
            for (_, _, s) in &sims {
                s.set_rate_limiting(false);
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("timeweave.toml");
            let toml = timeweave::demo::config_for_simulators(dir.path(), &sims)
                .replace("[sync]\n", "[sync]\nmass_delete_min_count = 1000\n");
            std::fs::write(&path, toml).unwrap();
            let cfg = config::load_file(&path, PathOrigin::Flag, &Environment::empty()).unwrap();
            let handles: Vec<ProviderHandle> = ["timetrack", "trackingtime", "timetracker"]
                .iter()
                .map(|n| timeweave::registry::build(&cfg.providers[*n]).unwrap())
                .collect();
            let ledger = Ledger::open(&cfg.ledger.path).await.unwrap();
            let engine = Engine::new(ledger, SyncSettings::from_config(&cfg), StopFlag::new());
            let wrapped: Vec<Sim> = sims.iter().map(|(_, _, s)| Sim(*s)).collect();
            let targets: Vec<&dyn Target> = wrapped.iter().map(|s| s as &dyn Target).collect();
            check(&ops, &targets, &engine, &handles).await
        });
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}
