//! Record issues: a remote record that could not be read into the model, or a canonical
//! record a provider cannot take. Recorded once per content version, so the engine skips
//! it (with its reason on record) instead of failing on it every cycle. One implementation
//! serves both backends (`sql.rs`).

use chrono::{DateTime, Utc};
use timeweave_contract::Kind;

use super::row::ReadRow;
use super::sql::{Exec, Sql};
use super::store::IssueStore;
use super::time::{parse_instant, to_text_precise};
use super::{LedgerError, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Pull,
    Push,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Pull => "pull",
            Direction::Push => "push",
        }
    }
}

/// An issue to record: which record of which provider, in which direction, why.
#[derive(Clone, Copy, Debug)]
pub struct NewIssue<'a> {
    pub provider: &'a str,
    pub direction: Direction,
    pub kind: Kind,
    /// The remote id (pull) or canonical id (push).
    pub record_id: &'a str,
    /// The issue stands until the record's content hash changes.
    pub content_hash: &'a str,
    pub reason: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordIssue {
    pub provider: String,
    pub direction: Direction,
    pub kind: Kind,
    pub record_id: String,
    pub content_hash: String,
    pub reason: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl<B: Exec> IssueStore for B {
    /// Records an issue; returns true when it is new (or the content or reason changed),
    /// i.e. when it is worth reporting.
    async fn record_issue(&mut self, issue: &NewIssue<'_>, now: DateTime<Utc>) -> Result<bool> {
        let NewIssue {
            provider,
            direction,
            kind,
            record_id,
            content_hash,
            reason,
        } = *issue;
        let sql = Sql::new(
            "SELECT content_hash, reason FROM record_issues \
             WHERE provider = $1 AND direction = $2 AND kind = $3 AND record_id = $4",
        )
        .bind(provider)
        .bind(direction.as_str())
        .bind(kind.as_str())
        .bind(record_id);
        let is_new = match self.fetch_optional(sql).await? {
            None => true,
            Some(r) => {
                r.get::<String>("content_hash")? != content_hash
                    || r.get::<String>("reason")? != reason
            }
        };
        let sql = Sql::new(
            "INSERT INTO record_issues AS r (provider, direction, kind, record_id, content_hash, \
             reason, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (provider, direction, kind, record_id) DO UPDATE SET \
             content_hash = excluded.content_hash, reason = excluded.reason, \
             last_seen_at = excluded.last_seen_at, first_seen_at = CASE \
             WHEN r.content_hash = excluded.content_hash THEN r.first_seen_at \
             ELSE excluded.first_seen_at END",
        )
        .bind(provider)
        .bind(direction.as_str())
        .bind(kind.as_str())
        .bind(record_id)
        .bind(content_hash)
        .bind(reason)
        .bind(to_text_precise(now));
        self.execute(sql).await?;
        Ok(is_new)
    }

    /// Removes an issue once the record went through.
    async fn clear_issue(
        &mut self,
        provider: &str,
        direction: Direction,
        kind: Kind,
        record_id: &str,
    ) -> Result<()> {
        self.clear_issues(provider, direction, kind, &[record_id])
            .await
    }

    /// Removes the issues of many records at once (they went through).
    async fn clear_issues(
        &mut self,
        provider: &str,
        direction: Direction,
        kind: Kind,
        record_ids: &[&str],
    ) -> Result<()> {
        if record_ids.is_empty() {
            return Ok(());
        }
        let sql = Sql::new(format!(
            "DELETE FROM record_issues WHERE provider = $1 AND direction = $2 AND kind = $3 \
             AND {}",
            Self::in_list("record_id", 4)
        ))
        .bind(provider)
        .bind(direction.as_str())
        .bind(kind.as_str())
        .bind(record_ids);
        self.execute(sql).await?;
        Ok(())
    }

    async fn issues(&mut self, provider: Option<&str>) -> Result<Vec<RecordIssue>> {
        let sql = Sql::new(
            "SELECT provider, direction, kind, record_id, content_hash, reason, first_seen_at, \
             last_seen_at FROM record_issues WHERE $1 IS NULL OR provider = $1 \
             ORDER BY provider, last_seen_at DESC",
        );
        let rows = self.fetch_all(sql.bind(provider)).await?;
        rows.iter().map(issue_from_row).collect()
    }

    async fn count_issues(&mut self, provider: &str) -> Result<i64> {
        let sql = Sql::new("SELECT count(*) AS n FROM record_issues WHERE provider = $1");
        self.fetch_one(sql.bind(provider), "a count")
            .await?
            .get("n")
    }
}
fn issue_from_row(r: &impl ReadRow) -> Result<RecordIssue> {
    let kind: String = r.get("kind")?;
    let dir: String = r.get("direction")?;
    Ok(RecordIssue {
        provider: r.get("provider")?,
        direction: if dir == "pull" {
            Direction::Pull
        } else {
            Direction::Push
        },
        kind: Kind::parse(&kind)
            .ok_or_else(|| LedgerError::corrupt("record_issues.kind", &kind))?,
        record_id: r.get("record_id")?,
        content_hash: r.get("content_hash")?,
        reason: r.get("reason")?,
        first_seen_at: parse_instant(&r.get::<String>("first_seen_at")?)?,
        last_seen_at: parse_instant(&r.get::<String>("last_seen_at")?)?,
    })
}
