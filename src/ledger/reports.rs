//! Read-only aggregates over the reporting views, for the command line (`demo`, and later
//! `report`/`export`). The views themselves are the stable contract (`docs/ledger.md`).

use sqlx::Row;

use super::{Result, Tx};

impl Tx {
    /// Hours per person and client over every live entry (client "-" for none).
    pub async fn hours_by_person_and_client(&mut self) -> Result<Vec<(String, String, f64)>> {
        let rows = sqlx::query(
            "SELECT person, coalesce(client, '-') AS client, round(sum(hours), 2) AS hours \
             FROM report_time_entries GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("person")?,
                    r.try_get("client")?,
                    r.try_get("hours")?,
                ))
            })
            .collect()
    }
}
