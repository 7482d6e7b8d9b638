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

#[tokio::test]
async fn observations_tell_an_admin_token_from_one_that_sees_only_its_own_entries() {
    let (sim, a) = common::sim().await;
    a.connect().await.unwrap();
    let seen = a.observations().await.unwrap();
    let rights = seen.iter().find(|o| o.key == "sees_all_users").unwrap();
    assert_eq!(rights.value, "yes (admin)");
    assert!(!rights.limits_reading && !rights.limits_writing);
    let zone = seen.iter().find(|o| o.key == "server_time_zone").unwrap();
    assert_eq!(zone.value, "Europe/Rome");

    let bob = sim.add_user("bob", None, None, "user");
    let token = sim.add_token(bob, &["read:*", "write:*"]);
    let b = common::adapter(sim.settings_with_token(&token));
    b.connect().await.unwrap();
    let seen = b.observations().await.unwrap();
    let rights = seen.iter().find(|o| o.key == "sees_all_users").unwrap();
    assert_eq!(rights.value, format!("no: only user {bob}'s own entries"));
    assert!(rights.limits_reading && rights.limits_writing);
}

#[tokio::test]
async fn rights_come_from_the_scopes_a_403_lists_and_an_admin_scope_passes_users() {
    use timeweave_contract::Rights;
    let (sim, a) = common::sim().await;
    a.connect().await.unwrap();
    let Rights::Known(admin) = a.rights().await.unwrap() else {
        panic!("known")
    };
    assert!(admin.held.starts_with("an admin scope"), "{}", admin.held);
    assert!(admin.missing_to_read.is_empty() && admin.missing_to_write.is_empty());

    let bob = sim.add_user("bob", None, None, "user");
    let token = sim.add_token(bob, &["read:*", " write:time_entries"]);
    let b = common::adapter(sim.settings_with_token(&token));
    b.connect().await.unwrap();
    let Rights::Known(r) = b.rights().await.unwrap() else {
        panic!("known")
    };
    assert_eq!(r.held, "scopes read:*, write:time_entries");
    assert!(r.missing_to_read.is_empty());
    assert_eq!(
        r.missing_to_write,
        ["write:clients", "write:projects", "write:tasks"]
    );

    // `admin:*` grants `admin:all` (the server's family match), so GET /users answers it.
    let family = sim.add_token(bob, &["read:*", "admin:*"]);
    let c = common::adapter(sim.settings_with_token(&family));
    c.connect().await.unwrap();
    let Rights::Known(r) = c.rights().await.unwrap() else {
        panic!("known")
    };
    assert!(r.held.starts_with("an admin scope"), "{}", r.held);
}
