//! What the console's pages show, read from the collector's tables: events over time and by name, one shopper's
//! online and in-store events together, consent decision rates per purpose (by day and by jurisdiction), and the
//! deletion requests received.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde_json::Value;

/// Totals since the database was created.
pub(crate) struct EventTotals {
    pub events: u64,
    pub duplicates: u64,
    pub batches: u64,
}

pub(crate) fn event_totals(conn: &Connection) -> rusqlite::Result<EventTotals> {
    let events: i64 = conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    let counter = |name: &str| -> rusqlite::Result<i64> {
        conn.query_row("SELECT COALESCE((SELECT value FROM counters WHERE name = ?1), 0)", params![name], |r| r.get(0))
    };
    Ok(EventTotals {
        events: events as u64,
        duplicates: counter("duplicates")? as u64,
        batches: counter("batches")? as u64,
    })
}

/// Events received per UTC hour (`YYYY-MM-DDTHH`), the last `hours` hours that had any, oldest first.
pub(crate) fn events_per_hour(conn: &Connection, hours: usize) -> rusqlite::Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare(
        "SELECT substr(received_at, 1, 13) AS hour, COUNT(*) FROM events GROUP BY hour ORDER BY hour DESC LIMIT ?1",
    )?;
    let mut rows: Vec<(String, u64)> = stmt
        .query_map(params![hours as i64], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
        .collect::<Result<_, _>>()?;
    rows.reverse();
    Ok(rows)
}

/// The most frequent event names, with their counts.
pub(crate) fn top_names(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare(
        "SELECT name, COUNT(*) AS n FROM events WHERE type = 'track' GROUP BY name ORDER BY n DESC, name LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
    rows.collect()
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
pub(crate) fn timeline(conn: &Connection, user_id: &str, limit: usize) -> rusqlite::Result<Vec<TimelineEvent>> {
    let mut stmt = conn.prepare(
        "SELECT timestamp, type, COALESCE(name, ''), COALESCE(purpose, ''), COALESCE(anonymous_id, ''), properties
         FROM events
         WHERE user_id = ?1 OR anonymous_id IN (SELECT anonymous_id FROM events WHERE user_id = ?1)
         ORDER BY timestamp, rx LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![user_id, limit as i64], |r| {
        Ok(TimelineEvent {
            timestamp: r.get(0)?,
            kind: r.get(1)?,
            name: r.get(2)?,
            purpose: r.get(3)?,
            anonymous_id: r.get(4)?,
            properties: r.get(5)?,
        })
    })?;
    rows.collect()
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

pub(crate) fn decision_rates(conn: &Connection) -> rusqlite::Result<DecisionRates> {
    let mut stmt = conn.prepare("SELECT body FROM consent_records ORDER BY rx")?;
    let mut rates = DecisionRates::default();
    let bodies = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for body in bodies {
        // Bodies were verified before they were stored; one that does not parse is skipped, not fatal to the page.
        let Ok(record) = serde_json::from_str::<Value>(&body?) else { continue };
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

pub(crate) fn deletion_requests(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<DeletionRow>> {
    let mut stmt = conn.prepare(
        "SELECT request_id, COALESCE(user_id, ''), anonymous_ids, requested_at, received_at, duplicates, erased_at,
                erased_events
         FROM deletion_requests ORDER BY rx DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit as i64], |r| {
        let ids: String = r.get(2)?;
        Ok(DeletionRow {
            request_id: r.get(0)?,
            user_id: r.get(1)?,
            anonymous_ids: serde_json::from_str::<Vec<Value>>(&ids).map_or(0, |v| v.len()),
            requested_at: r.get(3)?,
            received_at: r.get(4)?,
            duplicates: r.get::<_, i64>(5)? as u64,
            erased: match (r.get::<_, Option<String>>(6)?, r.get::<_, Option<i64>>(7)?) {
                (Some(at), Some(n)) => format!("{n} events at {at}"),
                _ => "–".into(),
            },
        })
    })?;
    rows.collect()
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

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_796_601_599_999), "2026-12-06");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
    }

    #[test]
    fn rates_count_each_purpose_a_record_decides() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE consent_records (rx INTEGER PRIMARY KEY, body TEXT NOT NULL)").unwrap();
        for (ts, jurisdiction, decisions) in [
            (1_796_601_000_000i64, "gdpr", r#"{"analytics":true,"marketing":false}"#),
            (1_796_601_000_000, "appi", r#"{"analytics":true}"#),
            (1_796_700_000_000, "gdpr", r#"{"analytics":false}"#),
        ] {
            let body = format!(r#"{{"timestamp_ms":{ts},"jurisdiction":"{jurisdiction}","decisions":{decisions}}}"#);
            conn.execute("INSERT INTO consent_records (body) VALUES (?1)", params![body]).unwrap();
        }
        conn.execute("INSERT INTO consent_records (body) VALUES ('{\"kind\":\"prompt_shown\"}')", []).unwrap();
        let rates = decision_rates(&conn).unwrap();
        assert_eq!(rates.by_day["analytics"]["2026-12-06"], Tally { granted: 2, denied: 0 });
        assert_eq!(rates.by_day["analytics"]["2026-12-08"], Tally { granted: 0, denied: 1 });
        assert_eq!(rates.by_jurisdiction["analytics"]["gdpr"].rate(), Some(50.0));
        assert_eq!(rates.by_jurisdiction["marketing"]["gdpr"].rate(), Some(0.0));
        assert_eq!(Tally::default().rate(), None);
    }
}
