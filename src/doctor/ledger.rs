//! The PostgreSQL ledger's findings (`[ledger] url`): the server is reachable with the
//! configured role and password, runs version 14 or later, and the role may migrate the
//! ledger; then who holds each instance's lease. Read-only, like every check of `doctor`.

use crate::config::PostgresLedger;
use crate::ledger::postgres::{connect, describe_url, holders, inspect, ServerFacts};

use super::{Finding, InstanceReport, Verdict};

/// The ledger's report, headed `ledger (postgresql)`.
pub async fn report(pg: &PostgresLedger) -> InstanceReport {
    InstanceReport {
        name: "ledger".to_owned(),
        kind: "postgresql",
        findings: findings(pg).await,
    }
}

async fn findings(pg: &PostgresLedger) -> Vec<Finding> {
    let target = describe_url(&pg.url);
    let pool = match connect(&pg.url, pg.password.as_ref()).await {
        Ok(pool) => pool,
        Err(e) => {
            return vec![Finding::new("reach", Verdict::Error, e.to_string()).fix(
                "check ledger.url (host, port, database, role) and the password \
                 (ledger.password_file); the server must listen there and let this host in \
                 (pg_hba.conf)",
            )]
        }
    };
    let facts = match inspect(&pool).await {
        Ok(facts) => facts,
        Err(e) => return vec![Finding::new("reach", Verdict::Error, e.to_string())],
    };
    let mut out = vec![
        Finding::new(
            "reach",
            Verdict::Ok,
            format!("connected to {target} as {}", facts.role),
        ),
        version(&facts),
        rights(&facts),
    ];
    if facts.pending_migrations == 0 {
        out.extend(leases(&pool).await);
    }
    pool.close().await;
    out
}

fn version(facts: &ServerFacts) -> Finding {
    if facts.supported() {
        Finding::new(
            "version",
            Verdict::Ok,
            format!("PostgreSQL {}", facts.version),
        )
    } else {
        Finding::new(
            "version",
            Verdict::Error,
            format!("PostgreSQL {}, older than 14", facts.version),
        )
        .fix("timeweave needs PostgreSQL 14 or later: upgrade the server, or keep the ledger in SQLite (ledger.path)")
    }
}

fn rights(facts: &ServerFacts) -> Finding {
    let schema = facts
        .schema
        .as_deref()
        .unwrap_or("(none: the search_path names no schema)");
    let pending = facts.pending_migrations;
    if pending == 0 {
        Finding::new("migrate", Verdict::Ok, "the ledger's schema is up to date")
    } else if facts.can_migrate() {
        Finding::new(
            "migrate",
            Verdict::Ok,
            format!(
                "{pending} migration(s) to apply, applied at start: role {} may create tables in schema {schema}",
                facts.role
            ),
        )
    } else {
        Finding::new(
            "migrate",
            Verdict::Error,
            format!(
                "{pending} migration(s) to apply, but role {} may not create tables in schema {schema}",
                facts.role
            ),
        )
        .fix(format!(
            "as the schema's owner: GRANT CREATE ON SCHEMA {schema} TO {}; or point ledger.url at a database the role owns",
            facts.role
        ))
    }
}

async fn leases(pool: &sqlx::PgPool) -> Vec<Finding> {
    match holders(pool).await {
        Err(e) => vec![Finding::new("leases", Verdict::Warning, e.to_string())],
        Ok(all) if all.is_empty() => vec![Finding::new(
            "leases",
            Verdict::Ok,
            "no instance has been worked from this ledger yet",
        )],
        Ok(all) => all
            .iter()
            .map(|h| {
                let seen = match (&h.owner, h.live) {
                    (Some(owner), true) => {
                        format!(
                            "{} held by {owner} until {} (token {})",
                            h.provider, h.expires_at, h.token.0
                        )
                    }
                    (Some(owner), false) => {
                        format!(
                            "{} free: {owner}'s lease ran out at {}",
                            h.provider, h.expires_at
                        )
                    }
                    (None, _) => format!("{} free (released)", h.provider),
                };
                Finding::new("leases", Verdict::Ok, seen)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::postgres::testing::{cluster_url, scratch_database};
    use crate::ledger::postgres::{acquire, migrate};

    fn ledger_at(url: url::Url) -> PostgresLedger {
        PostgresLedger {
            url,
            password: None,
            password_origin: None,
        }
    }

    fn verdicts(findings: &[Finding]) -> Vec<(&str, Verdict)> {
        findings.iter().map(|f| (f.check, f.verdict)).collect()
    }

    #[tokio::test]
    async fn a_new_database_the_role_may_migrate_is_fine_and_a_migrated_one_lists_leases() {
        let Some(cluster) = cluster_url(
            "a_new_database_the_role_may_migrate_is_fine_and_a_migrated_one_lists_leases",
        ) else {
            return;
        };
        let url = scratch_database(&cluster).await.unwrap();
        let fresh = findings(&ledger_at(url.clone())).await;
        assert_eq!(
            verdicts(&fresh),
            [
                ("reach", Verdict::Ok),
                ("version", Verdict::Ok),
                ("migrate", Verdict::Ok)
            ],
            "{fresh:#?}"
        );
        assert!(fresh[2].seen.contains("to apply"), "{fresh:#?}");

        let pool = connect(&url, None).await.unwrap();
        migrate(&pool, "scratch").await.unwrap();
        acquire(&pool, "tt", "node-a", std::time::Duration::from_secs(60))
            .await
            .unwrap();
        let migrated = findings(&ledger_at(url)).await;
        assert!(migrated[2].seen.contains("up to date"), "{migrated:#?}");
        assert!(
            migrated[3].seen.starts_with("tt held by node-a until"),
            "{migrated:#?}"
        );
    }

    #[tokio::test]
    async fn a_role_that_may_not_create_tables_cannot_migrate() {
        let Some(cluster) = cluster_url("a_role_that_may_not_create_tables_cannot_migrate") else {
            return;
        };
        let url = scratch_database(&cluster).await.unwrap();
        let role = format!("reader_{}", uuid::Uuid::now_v7().simple());
        let admin = connect(&url, None).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE ROLE {role} LOGIN")))
            .execute(&admin)
            .await
            .unwrap();
        let mut as_reader = url.clone();
        as_reader.set_username(&role).unwrap();
        let found = findings(&ledger_at(as_reader)).await;
        assert_eq!(found[2].verdict, Verdict::Error, "{found:#?}");
        assert!(
            found[2]
                .fix
                .contains(&format!("GRANT CREATE ON SCHEMA public TO {role}")),
            "{found:#?}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_is_an_error_that_names_it_without_a_password() {
        let url = url::Url::parse("postgres://nobody@127.0.0.1:1/ledger").unwrap();
        let pg = PostgresLedger {
            password: Some(timeweave_contract::Secret::new("hunter2")),
            ..ledger_at(url)
        };
        let found = findings(&pg).await;
        assert_eq!(verdicts(&found), [("reach", Verdict::Error)]);
        assert!(
            found[0]
                .seen
                .contains("postgres://nobody@127.0.0.1:1/ledger"),
            "{found:#?}"
        );
        assert!(!format!("{found:?}").contains("hunter2"));
    }

    #[test]
    fn a_server_older_than_14_is_an_error() {
        let facts = ServerFacts {
            version_num: 130012,
            version: "13.12".into(),
            role: "r".into(),
            schema: Some("public".into()),
            can_create: true,
            pending_migrations: 0,
        };
        assert_eq!(version(&facts).verdict, Verdict::Error);
        let current = ServerFacts {
            version_num: 140000,
            ..facts
        };
        assert_eq!(version(&current).verdict, Verdict::Ok);
    }
}
