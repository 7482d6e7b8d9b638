//! The account identity the engine binds an instance to: the subdomain (or host) and the
//! API key, named by its fingerprint only (TimeTrack has no "who am I" call).

mod common;

use timeweave_contract::{Provider, Secret};
use timeweave_timetrack_sim::{SimOptions, SimServer};

#[tokio::test]
async fn the_identity_names_the_host_and_the_key_without_showing_it() {
    let sim = SimServer::start(SimOptions::unthrottled()).await;
    let settings = sim.settings();
    let a = common::adapter_for(settings.clone(), vec![]);
    let id = a.account_identity().await.unwrap();
    assert!(id.contains("127.0.0.1"), "{id}");
    assert!(id.contains(&settings.api_key.fingerprint()), "{id}");
    assert!(!id.contains(settings.api_key.expose()), "{id}");
    assert!(!id.contains(settings.api_secret.expose()), "{id}");

    let mut other_key = settings.clone();
    other_key.api_key = Secret::new("another-users-key");
    let b = common::adapter_for(other_key, vec![]);
    assert_ne!(b.account_identity().await.unwrap(), id);
}
