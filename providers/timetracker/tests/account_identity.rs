//! The account identity the engine binds an instance to: the server, the token's user and
//! when that user was created (so a server reinstalled at the same URL is another account);
//! stable across cycles, and never the token.

mod common;

use timeweave_contract::Provider;

#[tokio::test]
async fn the_identity_is_stable_names_the_user_and_tells_servers_apart() {
    let (sim, a) = common::sim().await;
    a.connect().await.unwrap();
    let first = a.account_identity().await.unwrap();
    a.connect().await.unwrap();
    assert_eq!(a.account_identity().await.unwrap(), first);
    assert!(first.contains(&sim.url()), "{first}");
    assert!(first.contains("user admin (id 1, created "), "{first}");
    let token = sim.settings().api_token;
    assert!(!first.contains(token.expose()), "{first}");

    let (_other_sim, other) = common::sim().await;
    other.connect().await.unwrap();
    assert_ne!(other.account_identity().await.unwrap(), first);
}
