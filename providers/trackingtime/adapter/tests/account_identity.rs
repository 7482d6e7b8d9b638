//! The account identity the engine binds an instance to: the account (workspace) id.

mod common;

use timeweave_contract::Provider;

#[tokio::test]
async fn the_identity_is_the_account_id() {
    let (sim, a) = common::setup().await;
    assert!(
        a.account_identity().await.is_err(),
        "unknown before connecting"
    );
    a.connect().await.unwrap();
    assert_eq!(
        a.account_identity().await.unwrap(),
        format!("TrackingTime account {}", sim.account_id())
    );
}
