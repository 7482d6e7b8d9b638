//! Soft delete: TimeTrack marks records deleted and answers 404 code 15020 afterwards; the
//! adapter reports such entries as gone, and a deleted entry is never listed as live.

mod common;

use timeweave_contract::{Kind, ListScope, Provider, ProviderError};
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::{is_gone, list_all, list_entries, sample_entry};
use timeweave_timetrack_sim::SimOptions;

#[tokio::test]
async fn soft_deleted_entries_are_detected_as_deleted() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "sd");
    let keep = sim.add_entry(&sample_entry(&s.person, Some(&s.project), 0, 30, "keep"));
    let doomed = sim.add_entry(&sample_entry(&s.person, Some(&s.project), 60, 30, "doomed"));
    assert!(sim.remove(Kind::TimeEntry, &doomed));
    assert!(sim.is_soft_deleted(&doomed), "kept and flagged, not erased");

    // Absent from the complete window listing ...
    let listed = list_entries(&adapter).await;
    let ids: Vec<_> = listed.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, vec![keep.clone()]);
    // ... and confirmed gone by id (404 code 15020), so the engine may tombstone it.
    assert!(is_gone(&adapter, Kind::TimeEntry, &doomed).await);
    assert!(adapter.get(Kind::TimeEntry, &keep).await.unwrap().is_some());

    // The raw answer is the documented one.
    let settings = sim.settings();
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/project_time_entries/{doomed}",
            settings.base_url
        ))
        .header("X-TimeTrack-Api-Key", settings.api_key.expose())
        .header("X-TimeTrack-Api-Secret", settings.api_secret.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], 15020);
    assert_eq!(
        body["errors"][0]["title"],
        "TimeEntry exist but it is deleted"
    );

    // Update or delete of a deleted entry: NotFound.
    assert!(matches!(
        adapter.delete(Kind::TimeEntry, &doomed).await,
        Err(ProviderError::NotFound { .. })
    ));
}

#[tokio::test]
async fn deleted_records_flagged_in_lists_are_not_live() {
    // (A) switch: the server lists soft-deleted records with a flag.
    let opts = SimOptions {
        deleted_listed: true,
        ..SimOptions::unthrottled()
    };
    let (sim, adapter) = common::setup(opts, false).await;
    let s = common::seed(&sim, "fl");
    let doomed = sim.add_entry(&sample_entry(&s.person, Some(&s.project), 0, 30, "doomed"));
    sim.remove(Kind::TimeEntry, &doomed);
    let dead_client = common::seed(&sim, "fl2").client;
    sim.remove(Kind::Client, &dead_client);
    let listed = list_entries(&adapter).await;
    assert!(listed.is_empty(), "{listed:?}");
    let clients = list_all(&adapter, Kind::Client, ListScope::All).await;
    assert!(clients.iter().all(|c| c.id != dead_client));
}

#[tokio::test]
async fn a_404_without_the_envelope_is_not_proof_of_deletion() {
    // A wrong base path (a proxy's 404 page) must not make every entry look deleted.
    let sim = timeweave_timetrack_sim::SimServer::start(SimOptions::unthrottled()).await;
    let mut settings = sim.settings();
    settings.base_url = format!("http://{}/api/v1/ext", sim.addr());
    let adapter = common::adapter_for(settings, vec![]);
    let err = adapter.get(Kind::TimeEntry, &"1".into()).await.unwrap_err();
    assert!(matches!(err, ProviderError::NotFound { .. }), "{err}");
}
