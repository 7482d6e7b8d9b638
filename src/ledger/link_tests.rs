//! Link store tests, every one on both backends: each `LinkStore` method reads back what
//! the others wrote (lookups by remote and canonical id, a page's upsert and its revival of
//! a deleted link, learned incarnations, the hash and deletion updates, live counts and
//! windows).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use timeweave_contract::{CanonicalId, ContentHash, Kind, RemoteId};

use super::tests::temp_ledger;
use super::{Link, LinkUpdate, Tx};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, 8, 0, 0).unwrap()
}

/// What one link is written from (owned, so a test can hold many).
struct Owned {
    provider: &'static str,
    kind: Kind,
    canonical_id: CanonicalId,
    remote_id: RemoteId,
    hash: ContentHash,
    started_at: Option<DateTime<Utc>>,
}

fn owned(provider: &'static str, kind: Kind, canonical: &str, remote: &str) -> Owned {
    Owned {
        provider,
        kind,
        canonical_id: CanonicalId::from(canonical),
        remote_id: RemoteId::from(remote),
        hash: ContentHash(format!("h-{canonical}")),
        started_at: None,
    }
}

fn entry(provider: &'static str, canonical: &str, remote: &str, start: DateTime<Utc>) -> Owned {
    Owned {
        started_at: Some(start),
        ..owned(provider, Kind::TimeEntry, canonical, remote)
    }
}

impl Owned {
    fn update(&self) -> LinkUpdate<'_> {
        LinkUpdate {
            provider: self.provider,
            kind: self.kind,
            canonical_id: &self.canonical_id,
            remote_id: &self.remote_id,
            remote_hash: &self.hash,
            canonical_hash: &self.hash,
            remote_version: Some("v1"),
            remote_updated_at: Some(day(1)),
            remote_started_at: self.started_at,
            remote_incarnation: None,
        }
    }
}

async fn write_links(tx: &mut Tx, links: &[Owned]) {
    let updates: Vec<LinkUpdate<'_>> = links.iter().map(Owned::update).collect();
    tx.upsert_links(&updates, now()).await.unwrap();
}

/// Writes `link` knowing its remote record's incarnation.
async fn write_incarnation(tx: &mut Tx, link: &Owned, incarnation: &str) {
    let mut u = link.update();
    u.remote_incarnation = Some(incarnation);
    tx.upsert_links(&[u], now()).await.unwrap();
}

async fn by_remote(tx: &mut Tx, provider: &str, kind: Kind, remote: &str) -> Option<Link> {
    tx.link_by_remote(provider, kind, &RemoteId::from(remote))
        .await
        .unwrap()
}

fn ids(list: Vec<RemoteId>) -> BTreeSet<String> {
    list.into_iter().map(|id| id.0).collect()
}

/// Writes `links` with every column its own value (canonical hash, version, update time
/// and incarnation told apart from the rest), so a column put in the wrong place shows.
async fn write_distinct(tx: &mut Tx, links: &[Owned]) {
    let canonical: Vec<ContentHash> = links
        .iter()
        .map(|l| ContentHash(format!("ledger-{}", l.hash.0)))
        .collect();
    let named: Vec<String> = links.iter().map(|l| format!("v-{}", l.remote_id)).collect();
    let updates: Vec<LinkUpdate<'_>> = links
        .iter()
        .zip(&canonical)
        .zip(&named)
        .map(|((l, c), n)| LinkUpdate {
            canonical_hash: c,
            remote_version: Some(n),
            remote_updated_at: Some(now()),
            remote_incarnation: Some(n),
            ..l.update()
        })
        .collect();
    tx.upsert_links(&updates, now()).await.unwrap();
}

crate::on_both_backends! {
#[tokio::test]
async fn links_are_found_by_remote_id_canonical_id_and_many_remote_ids() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    // More ids than one bound list used to take (500 per statement on SQLite).
    let many: Vec<Owned> = (0..1200)
        .map(|i| owned("tt", Kind::Person, &format!("c{i}"), &format!("r{i}")))
        .collect();
    write_links(&mut tx, &many).await;
    write_links(&mut tx, &[owned("tm", Kind::Person, "c7", "m7")]).await;

    let got = by_remote(&mut tx, "tt", Kind::Person, "r7").await.unwrap();
    assert_eq!(got.canonical_id, CanonicalId::from("c7"));
    assert_eq!(got.remote_hash, ContentHash("h-c7".into()));
    assert_eq!(got.remote_version.as_deref(), Some("v1"));
    assert_eq!(got.remote_updated_at, Some(day(1)));
    assert_eq!(got.synced_at, now());
    assert!(got.is_live());
    assert!(by_remote(&mut tx, "tt", Kind::Client, "r7").await.is_none());
    assert!(by_remote(&mut tx, "tm", Kind::Person, "r7").await.is_none());

    let by_canonical = tx
        .link_by_canonical("tm", Kind::Person, &CanonicalId::from("c7"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_canonical.remote_id, RemoteId::from("m7"));
    let across: Vec<(String, RemoteId)> = tx
        .links_of(&CanonicalId::from("c7"))
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.provider, l.remote_id))
        .collect();
    assert_eq!(
        across,
        [("tm".to_owned(), RemoteId::from("m7")), ("tt".to_owned(), RemoteId::from("r7"))]
    );

    let wanted: Vec<RemoteId> = (0..1300).map(|i| RemoteId::from(format!("r{i}"))).collect();
    let wanted: Vec<&RemoteId> = wanted.iter().collect();
    let found = tx.links_by_remote("tt", Kind::Person, &wanted).await.unwrap();
    assert_eq!(found.len(), 1200, "the ids without a link are simply absent");
    assert_eq!(found[&RemoteId::from("r1199")].canonical_id, CanonicalId::from("c1199"));
    assert!(tx.links_by_remote("tt", Kind::Person, &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_page_upsert_keeps_the_last_update_and_revives_a_deleted_link() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let first = owned("tt", Kind::Person, "a", "1");
    write_incarnation(&mut tx, &first, "i1").await;
    tx.mark_link_remote_deleted("tt", Kind::Person, &first.remote_id, now())
        .await
        .unwrap();
    assert!(!by_remote(&mut tx, "tt", Kind::Person, "1").await.unwrap().is_live());

    // One page, the same remote record twice: the last update stays.
    let newer = ContentHash("h-newer".into());
    let mut again = first.update();
    again.remote_hash = &newer;
    tx.upsert_links(&[first.update(), again], now() + Duration::hours(1))
        .await
        .unwrap();
    let got = by_remote(&mut tx, "tt", Kind::Person, "1").await.unwrap();
    assert_eq!(got.remote_hash, newer);
    assert!(got.is_live(), "written again: no longer deleted");
    assert_eq!(got.remote_incarnation.as_deref(), Some("i1"), "same record: kept");
    assert_eq!(got.synced_at, now() + Duration::hours(1));

    // Pointed at another canonical record, the link takes the update's incarnation.
    let moved = owned("tt", Kind::Person, "b", "1");
    write_links(&mut tx, &[moved]).await;
    let got = by_remote(&mut tx, "tt", Kind::Person, "1").await.unwrap();
    assert_eq!(got.canonical_id, CanonicalId::from("b"));
    assert_eq!(got.remote_incarnation, None);
    tx.upsert_links(&[], now()).await.unwrap();
}

/// Large pages of links (one statement each), with a remote id listed twice, then a large
/// page partly linked already, leave the same links as the same pages written ten links at
/// a time.
#[tokio::test]
async fn large_pages_leave_the_links_small_pages_leave() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    let first = |provider: &'static str| {
        let mut page: Vec<Owned> = (0..150)
            .map(|k| entry(provider, &format!("c{k}"), &format!("r{k}"), day(1 + k % 20)))
            .collect();
        page.push(entry(provider, "c-last", "r0", day(25)));
        page
    };
    let second = |provider: &'static str| {
        (100..250)
            .map(|k| {
                let mut link = entry(provider, &format!("c{k}"), &format!("r{k}"), day(3));
                link.hash = ContentHash(format!("h2-{k}"));
                link
            })
            .collect::<Vec<_>>()
    };
    write_distinct(&mut tx, &first("large")).await;
    write_distinct(&mut tx, &second("large")).await;
    for page in first("small").chunks(10).chain(second("small").chunks(10)) {
        write_distinct(&mut tx, page).await;
    }

    let remote_ids: Vec<RemoteId> = (0..260).map(|k| RemoteId(format!("r{k}"))).collect();
    let ids: Vec<&RemoteId> = remote_ids.iter().collect();
    let large = tx
        .links_by_remote("large", Kind::TimeEntry, &ids)
        .await
        .unwrap();
    let small = tx
        .links_by_remote("small", Kind::TimeEntry, &ids)
        .await
        .unwrap();
    assert_eq!(large.len(), 250);
    let r0 = &large[&RemoteId::from("r0")];
    assert_eq!((r0.canonical_id.as_str(), r0.remote_started_at), ("c-last", Some(day(25))));
    let r120 = &large[&RemoteId::from("r120")];
    assert_eq!((r120.remote_hash.as_str(), r120.remote_started_at), ("h2-120", Some(day(3))));
    for (id, link) in &large {
        let like = Link {
            provider: "large".into(),
            ..small[id].clone()
        };
        assert_eq!(link, &like, "{id}");
    }
}

#[tokio::test]
async fn learned_incarnations_fill_only_links_without_one() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    write_incarnation(&mut tx, &owned("tt", Kind::Person, "a", "1"), "kept").await;
    write_links(&mut tx, &[owned("tt", Kind::Person, "b", "2")]).await;
    write_links(&mut tx, &[owned("tm", Kind::Person, "b", "2")]).await;

    let (one, two, three) = (RemoteId::from("1"), RemoteId::from("2"), RemoteId::from("3"));
    let learned = [(&one, "new"), (&two, "learned"), (&three, "no such link")];
    tx.learn_incarnations("tt", Kind::Person, &learned).await.unwrap();
    tx.learn_incarnations("tt", Kind::Person, &[]).await.unwrap();

    let incarnation = |l: Option<Link>| l.unwrap().remote_incarnation;
    let got = by_remote(&mut tx, "tt", Kind::Person, "1").await;
    assert_eq!(incarnation(got).as_deref(), Some("kept"));
    let got = by_remote(&mut tx, "tt", Kind::Person, "2").await;
    assert_eq!(incarnation(got).as_deref(), Some("learned"));
    let got = by_remote(&mut tx, "tm", Kind::Person, "2").await;
    assert_eq!(incarnation(got), None, "another provider's link is not touched");
    assert!(by_remote(&mut tx, "tt", Kind::Person, "3").await.is_none());
}

#[tokio::test]
async fn hashes_deletion_marks_and_forgetting_change_the_one_link_named() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    write_links(
        &mut tx,
        &[owned("tt", Kind::Person, "a", "1"), owned("tt", Kind::Person, "b", "2")],
    )
    .await;
    let later = now() + Duration::minutes(5);
    let (one, two) = (RemoteId::from("1"), RemoteId::from("2"));

    let seen = ContentHash("h-seen".into());
    tx.set_link_remote_hash("tt", Kind::Person, &one, &seen, None, later)
        .await
        .unwrap();
    let got = by_remote(&mut tx, "tt", Kind::Person, "1").await.unwrap();
    assert_eq!((got.remote_hash, got.remote_version, got.synced_at), (seen, None, later));
    assert_eq!(got.canonical_hash, ContentHash("h-a".into()), "ledger side unchanged");

    let unsynced = ContentHash("unsynced".into());
    tx.set_link_canonical_hash("tt", Kind::Person, &CanonicalId::from("b"), &unsynced, later)
        .await
        .unwrap();
    let got = by_remote(&mut tx, "tt", Kind::Person, "2").await.unwrap();
    assert_eq!((got.canonical_hash, got.synced_at), (unsynced, later));
    assert_eq!(got.remote_hash, ContentHash("h-b".into()), "remote side unchanged");

    tx.mark_link_remote_deleted("tt", Kind::Person, &two, later)
        .await
        .unwrap();
    let got = by_remote(&mut tx, "tt", Kind::Person, "2").await.unwrap();
    assert_eq!((got.remote_deleted_at, got.synced_at), (Some(later), later));
    assert!(by_remote(&mut tx, "tt", Kind::Person, "1").await.unwrap().is_live());

    tx.delete_link("tt", Kind::Person, &one).await.unwrap();
    assert!(by_remote(&mut tx, "tt", Kind::Person, "1").await.is_none());
    assert!(by_remote(&mut tx, "tt", Kind::Person, "2").await.is_some());
}

#[tokio::test]
async fn live_links_are_counted_and_listed_by_window() {
    let (_d, ledger) = temp_ledger().await;
    let mut tx = ledger.write().await.unwrap();
    assert_eq!(tx.oldest_linked_start("tt").await.unwrap(), None);
    assert_eq!(tx.count_live_links("tt", Kind::TimeEntry).await.unwrap(), 0);
    write_links(
        &mut tx,
        &[
            entry("tt", "e1", "1", day(2)),
            entry("tt", "e2", "2", day(3)),
            entry("tt", "e3", "3", day(5)),
            entry("tt", "gone", "4", day(1)),
            entry("tm", "e0", "9", day(1) - Duration::days(1)),
            owned("tt", Kind::Person, "p", "1"),
        ],
    )
    .await;
    tx.mark_link_remote_deleted("tt", Kind::TimeEntry, &RemoteId::from("4"), now())
        .await
        .unwrap();

    assert_eq!(tx.count_live_links("tt", Kind::TimeEntry).await.unwrap(), 3);
    assert_eq!(tx.count_live_links("tt", Kind::Person).await.unwrap(), 1);
    assert_eq!(tx.oldest_linked_start("tt").await.unwrap(), Some(day(2)));
    // `[from, to)`: a start on `to` is outside.
    assert_eq!(tx.count_links_in_window("tt", day(1), day(5)).await.unwrap(), 2);
    assert_eq!(tx.count_links_in_window("tt", day(3), day(6)).await.unwrap(), 2);

    let window = Some((day(3), day(6)));
    let listed = tx.live_link_ids_in("tt", Kind::TimeEntry, window).await.unwrap();
    assert_eq!(ids(listed), BTreeSet::from(["2".into(), "3".into()]));
    let listed = tx.live_link_ids_in("tt", Kind::TimeEntry, None).await.unwrap();
    assert_eq!(ids(listed), BTreeSet::from(["1".into(), "2".into(), "3".into()]));
    let listed = tx.live_link_ids_in("tt", Kind::Person, None).await.unwrap();
    assert_eq!(ids(listed), BTreeSet::from(["1".into()]));
}
}
