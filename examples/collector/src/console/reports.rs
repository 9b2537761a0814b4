//! What the console's pages show, read from the collector's tables: events over time and by name, one shopper's
//! online and in-store events together, consent decision rates per purpose (by day and by jurisdiction), and the
//! deletion requests received.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::db::{args, DbError, Sql};

/// Totals since the database was created.
pub(crate) struct EventTotals {
    pub events: u64,
    pub duplicates: u64,
    pub batches: u64,
}

pub(crate) fn event_totals(tx: &mut dyn Sql) -> Result<EventTotals, DbError> {
    // Each counter is spread over shards (concurrent batches bump different rows): its value is their sum.
    let counter = |tx: &mut dyn Sql, name: &str| -> Result<u64, DbError> {
        tx.value("SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) FROM ingest_counters WHERE name = ?1", &args![name])
    };
    Ok(EventTotals {
        events: tx.value("SELECT COUNT(*) FROM events", &[])?,
        duplicates: counter(tx, "duplicates")?,
        batches: counter(tx, "batches")?,
    })
}

/// Events received per UTC hour (`YYYY-MM-DDTHH`), the last `hours` hours that had any, oldest first.
pub(crate) fn events_per_hour(tx: &mut dyn Sql, hours: usize) -> Result<Vec<(String, u64)>, DbError> {
    let mut rows = counts(
        tx,
        "SELECT substr(received_at, 1, 13) AS hour, COUNT(*) FROM events GROUP BY hour ORDER BY hour DESC LIMIT ?1",
        hours,
    )?;
    rows.reverse();
    Ok(rows)
}

/// The most frequent event names, with their counts.
pub(crate) fn top_names(tx: &mut dyn Sql, limit: usize) -> Result<Vec<(String, u64)>, DbError> {
    counts(
        tx,
        "SELECT name, COUNT(*) AS n FROM events WHERE type = 'track' GROUP BY name ORDER BY n DESC, name LIMIT ?1",
        limit,
    )
}

/// (label, count) rows of a grouped query taking its row limit as `?1`.
fn counts(tx: &mut dyn Sql, sql: &str, limit: usize) -> Result<Vec<(String, u64)>, DbError> {
    tx.query(sql, &args![limit as i64])?.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}

/// One event on a shopper's timeline.
pub(crate) struct TimelineEvent {
    pub timestamp: String,
    pub kind: String,
    pub name: String,
    pub purpose: String,
    pub anonymous_id: String,
    pub properties: String,
}

/// Everything one shopper did: the events sent under the user id, and those of every anonymous id that was ever
/// seen with it (before they signed in, or in the store with the app in their pocket), in time order.
pub(crate) fn timeline(tx: &mut dyn Sql, user_id: &str, limit: usize) -> Result<Vec<TimelineEvent>, DbError> {
    let rows = tx.query(
        "SELECT timestamp, type, COALESCE(name, ''), COALESCE(purpose, ''), COALESCE(anonymous_id, ''), properties
         FROM events
         WHERE user_id = ?1 OR anonymous_id IN (SELECT anonymous_id FROM events WHERE user_id = ?1)
         ORDER BY timestamp, rx LIMIT ?2",
        &args![user_id, limit as i64],
    )?;
    rows.iter()
        .map(|r| {
            Ok(TimelineEvent {
                timestamp: r.get(0)?,
                kind: r.get(1)?,
                name: r.get(2)?,
                purpose: r.get(3)?,
                anonymous_id: r.get(4)?,
                properties: r.get(5)?,
            })
        })
        .collect()
}

/// Grants and denials of one purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub granted: u64,
    pub denied: u64,
}

impl Tally {
    /// Granted, in percent of the decisions; `None` without any.
    pub(crate) fn rate(&self) -> Option<f64> {
        let total = self.granted + self.denied;
        (total > 0).then(|| self.granted as f64 * 100.0 / total as f64)
    }
}

/// Decisions recorded, per purpose: by UTC day (`YYYY-MM-DD`, from the record's own timestamp) and by
/// jurisdiction. A record names each purpose it decided once, so a shopper who changes their mind counts twice.
#[derive(Default, Debug)]
pub(crate) struct DecisionRates {
    pub by_day: BTreeMap<String, BTreeMap<String, Tally>>,
    pub by_jurisdiction: BTreeMap<String, BTreeMap<String, Tally>>,
}

pub(crate) fn decision_rates(tx: &mut dyn Sql) -> Result<DecisionRates, DbError> {
    let bodies = tx.query("SELECT body FROM consent_records ORDER BY rx", &[])?;
    let mut rates = DecisionRates::default();
    for body in bodies {
        // Bodies were verified before they were stored; one that does not parse is skipped, not fatal to the page.
        let Ok(record) = serde_json::from_str::<Value>(&body.get::<String>(0)?) else { continue };
        let Some(decisions) = record.get("decisions").and_then(Value::as_object) else { continue };
        let day = record.get("timestamp_ms").and_then(Value::as_i64).map(day_of).unwrap_or_default();
        let jurisdiction = record.get("jurisdiction").and_then(Value::as_str).unwrap_or("unknown").to_owned();
        for (purpose, granted) in decisions {
            let Some(granted) = granted.as_bool() else { continue };
            for tally in [
                rates.by_day.entry(purpose.clone()).or_default().entry(day.clone()).or_default(),
                rates.by_jurisdiction.entry(purpose.clone()).or_default().entry(jurisdiction.clone()).or_default(),
            ] {
                if granted {
                    tally.granted += 1;
                } else {
                    tally.denied += 1;
                }
            }
        }
    }
    Ok(rates)
}

/// One deletion request as the console lists it.
pub(crate) struct DeletionRow {
    pub request_id: String,
    pub user_id: String,
    pub anonymous_ids: usize,
    pub requested_at: String,
    pub received_at: String,
    pub duplicates: u64,
    /// "3 events at …", or "–" when not erased.
    pub erased: String,
}

pub(crate) fn deletion_requests(tx: &mut dyn Sql, limit: usize) -> Result<Vec<DeletionRow>, DbError> {
    let rows = tx.query(
        "SELECT request_id, COALESCE(user_id, ''), anonymous_ids, requested_at, received_at, duplicates, erased_at,
                erased_events
         FROM deletion_requests ORDER BY rx DESC LIMIT ?1",
        &args![limit as i64],
    )?;
    rows.iter()
        .map(|r| {
            let ids: String = r.get(2)?;
            Ok(DeletionRow {
                request_id: r.get(0)?,
                user_id: r.get(1)?,
                anonymous_ids: serde_json::from_str::<Vec<Value>>(&ids).map_or(0, |v| v.len()),
                requested_at: r.get(3)?,
                received_at: r.get(4)?,
                duplicates: r.get(5)?,
                erased: match (r.get::<Option<String>>(6)?, r.get::<Option<i64>>(7)?) {
                    (Some(at), Some(n)) => format!("{n} events at {at}"),
                    _ => "–".into(),
                },
            })
        })
        .collect()
}

/// `YYYY-MM-DD` of a UTC instant in milliseconds.
fn day_of(ms: i64) -> String {
    let mut day = crate::timefmt::rfc3339_secs(ms.div_euclid(1000));
    day.truncate(10);
    day
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Database, DatabaseUrl, Lock};

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_796_601_599_999), "2026-12-06");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
    }

    #[test]
    fn rates_count_each_purpose_a_record_decides() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&DatabaseUrl::Sqlite(dir.path().join("t.db"))).unwrap();
        db.write(Lock::Rows, |tx| {
            tx.batch("CREATE TABLE consent_records (rx INTEGER PRIMARY KEY, body TEXT NOT NULL)")?;
            for (ts, jurisdiction, decisions) in [
                (1_796_601_000_000i64, "gdpr", r#"{"analytics":true,"marketing":false}"#),
                (1_796_601_000_000, "appi", r#"{"analytics":true}"#),
                (1_796_700_000_000, "gdpr", r#"{"analytics":false}"#),
            ] {
                let body =
                    format!(r#"{{"timestamp_ms":{ts},"jurisdiction":"{jurisdiction}","decisions":{decisions}}}"#);
                tx.execute("INSERT INTO consent_records (body) VALUES (?1)", &args![&body])?;
            }
            tx.execute("INSERT INTO consent_records (body) VALUES ('{\"kind\":\"prompt_shown\"}')", &[])?;
            Ok::<_, DbError>(())
        })
        .unwrap();
        let rates = db.read(decision_rates).unwrap();
        assert_eq!(rates.by_day["analytics"]["2026-12-06"], Tally { granted: 2, denied: 0 });
        assert_eq!(rates.by_day["analytics"]["2026-12-08"], Tally { granted: 0, denied: 1 });
        assert_eq!(rates.by_jurisdiction["analytics"]["gdpr"].rate(), Some(50.0));
        assert_eq!(rates.by_jurisdiction["marketing"]["gdpr"].rate(), Some(0.0));
        assert_eq!(Tally::default().rate(), None);
    }
}
