//! Store proximity's tables: `proximity_visits` (one row per visit, opened and closed in the transaction that
//! queues its event), `proximity_offers` (what was offered, for caps and cooldowns), `proximity_pickups` (orders
//! the shopper will collect) and `audience_tally` (per-day counts of the events audience rules watch). What the
//! rows mean is decided in `crate::proximity`; sightings are never stored.

use rusqlite::{params, Connection, Row};
use serde::Serialize;

use super::at_rest::{AtRest, OFFER_ZONE, PICKUP_STORE, VISIT_STORE, VISIT_ZONE};
use super::counters::{self, Counter};
use super::{sql_err, Storage, Tx};
use crate::error::Result;

/// Closed visits, offers and tallies older than this are pruned: no rule looks further back.
pub const PROXIMITY_RETENTION_MS: i64 = 90 * 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredVisit {
    pub id: String,
    pub zone: String,
    pub store: String,
    pub entered_ms: i64,
    pub last_seen_ms: i64,
    pub dwell_ms: Option<i64>,
    pub exited_ms: Option<i64>,
    pub end_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredOffer {
    pub offer_id: String,
    pub campaign_id: String,
    pub zone: Option<String>,
    pub visit_id: Option<String>,
    pub coupon_id: Option<String>,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPickup {
    pub order_id: String,
    pub store: String,
    pub from_ms: i64,
    pub until_ms: i64,
    pub arrived_ms: Option<i64>,
    pub visit_id: Option<String>,
    pub created_ms: i64,
}

const VISIT_COLUMNS: &str = "id, zone, store, entered_ms, last_seen_ms, dwell_ms, exited_ms, end_reason";
const OFFER_COLUMNS: &str = "offer_id, campaign_id, zone, visit_id, coupon_id, at_ms";
const PICKUP_COLUMNS: &str = "order_id, store, from_ms, until_ms, arrived_ms, visit_id, created_ms";

/// A visit with its zone and store opened; `None` when they do not open (the row is then dropped, counted).
fn visit(r: &Row<'_>, at_rest: &AtRest) -> rusqlite::Result<Option<StoredVisit>> {
    let id: String = r.get(0)?;
    let zone = at_rest.open(VISIT_ZONE, id.as_bytes(), r.get_ref(1)?);
    let store = at_rest.open(VISIT_STORE, id.as_bytes(), r.get_ref(2)?);
    let (Ok(Some(zone)), Ok(Some(store))) = (zone, store) else { return Ok(None) };
    Ok(Some(StoredVisit {
        id,
        zone,
        store,
        entered_ms: r.get(3)?,
        last_seen_ms: r.get(4)?,
        dwell_ms: r.get(5)?,
        exited_ms: r.get(6)?,
        end_reason: r.get(7)?,
    }))
}

fn offer(r: &Row<'_>, at_rest: &AtRest) -> rusqlite::Result<Option<StoredOffer>> {
    let offer_id: String = r.get(0)?;
    let Ok(zone) = at_rest.open(OFFER_ZONE, offer_id.as_bytes(), r.get_ref(2)?) else { return Ok(None) };
    Ok(Some(StoredOffer {
        offer_id,
        campaign_id: r.get(1)?,
        zone,
        visit_id: r.get(3)?,
        coupon_id: r.get(4)?,
        at_ms: r.get(5)?,
    }))
}

fn pickup(r: &Row<'_>, at_rest: &AtRest) -> rusqlite::Result<Option<StoredPickup>> {
    let order_id: String = r.get(0)?;
    let Ok(Some(store)) = at_rest.open(PICKUP_STORE, order_id.as_bytes(), r.get_ref(1)?) else { return Ok(None) };
    Ok(Some(StoredPickup {
        order_id,
        store,
        from_ms: r.get(2)?,
        until_ms: r.get(3)?,
        arrived_ms: r.get(4)?,
        visit_id: r.get(5)?,
        created_ms: r.get(6)?,
    }))
}

/// Rows whose sealed columns open, in order; the others are deleted from `table` (by `key`) and counted: never
/// shown, never acted on.
fn opened_rows<T>(
    conn: &Connection,
    at_rest: &AtRest,
    sql: &str,
    params: impl rusqlite::Params,
    (table, key): (&str, &str),
    map: fn(&Row<'_>, &AtRest) -> rusqlite::Result<Option<T>>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let mut rows = stmt.query(params).map_err(sql_err)?;
    let (mut opened, mut unreadable) = (Vec::new(), Vec::<String>::new());
    while let Some(row) = rows.next().map_err(sql_err)? {
        match map(row, at_rest).map_err(sql_err)? {
            Some(value) => opened.push(value),
            None => unreadable.push(row.get(0).map_err(sql_err)?),
        }
    }
    drop(rows);
    if !unreadable.is_empty() {
        tracing::warn!(table, rows = unreadable.len(), "proximity rows that do not decrypt were removed");
        for id in &unreadable {
            conn.execute(&format!("DELETE FROM {table} WHERE {key} = ?1"), params![id]).map_err(sql_err)?;
        }
        counters::add(conn, &[(Counter::UnreadableValues, unreadable.len() as u64)]).map_err(sql_err)?;
    }
    Ok(opened)
}

const VISITS: (&str, &str) = ("proximity_visits", "id");
const OFFERS: (&str, &str) = ("proximity_offers", "offer_id");
const PICKUPS: (&str, &str) = ("proximity_pickups", "order_id");

impl Storage {
    /// Visits not closed yet (open when the process last stopped, or now).
    pub fn open_visits(&self) -> Result<Vec<StoredVisit>> {
        let inner = self.lock();
        opened_rows(
            &inner.conn,
            &inner.at_rest,
            &format!("SELECT {VISIT_COLUMNS} FROM proximity_visits WHERE exited_ms IS NULL ORDER BY entered_ms, id"),
            [],
            VISITS,
            visit,
        )
    }

    /// The latest visits, newest first.
    pub fn visits(&self, limit: usize) -> Result<Vec<StoredVisit>> {
        let inner = self.lock();
        opened_rows(
            &inner.conn,
            &inner.at_rest,
            &format!("SELECT {VISIT_COLUMNS} FROM proximity_visits ORDER BY entered_ms DESC, id DESC LIMIT ?1"),
            [limit as i64],
            VISITS,
            visit,
        )
    }

    /// Offers made at or after `since_ms`, oldest first.
    pub fn offers_since(&self, since_ms: i64) -> Result<Vec<StoredOffer>> {
        let inner = self.lock();
        opened_rows(
            &inner.conn,
            &inner.at_rest,
            &format!("SELECT {OFFER_COLUMNS} FROM proximity_offers WHERE at_ms >= ?1 ORDER BY at_ms, offer_id"),
            [since_ms],
            OFFERS,
            offer,
        )
    }

    pub fn pickups(&self) -> Result<Vec<StoredPickup>> {
        let inner = self.lock();
        opened_rows(
            &inner.conn,
            &inner.at_rest,
            &format!("SELECT {PICKUP_COLUMNS} FROM proximity_pickups ORDER BY from_ms, order_id"),
            [],
            PICKUPS,
            pickup,
        )
    }

    /// Matching events counted for `rule` on UTC days `from_day` and later.
    pub fn audience_count(&self, rule: &str, from_day: i64) -> Result<u32> {
        let inner = self.lock();
        let n: i64 = inner
            .conn
            .prepare_cached("SELECT COALESCE(SUM(count), 0) FROM audience_tally WHERE rule = ?1 AND day >= ?2")
            .and_then(|mut s| s.query_row(params![rule, from_day], |r| r.get(0)))
            .map_err(sql_err)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Every tally row (for the export).
    pub fn audience_tallies(&self) -> Result<Vec<(String, i64, i64)>> {
        self.query_rows("SELECT rule, day, count FROM audience_tally ORDER BY rule, day", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
    }

    fn query_rows<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let inner = self.lock();
        let mut stmt = inner.conn.prepare_cached(sql).map_err(sql_err)?;
        let rows = stmt.query_map(params, map).map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
    }
}

impl Tx<'_> {
    pub fn open_visit(&self, v: &StoredVisit) -> Result<()> {
        self.conn
            .execute(
                &format!("INSERT INTO proximity_visits({VISIT_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"),
                params![
                    v.id,
                    self.at_rest.seal(VISIT_ZONE, v.id.as_bytes(), &v.zone).map_err(sql_err)?,
                    self.at_rest.seal(VISIT_STORE, v.id.as_bytes(), &v.store).map_err(sql_err)?,
                    v.entered_ms,
                    v.last_seen_ms,
                    v.dwell_ms,
                    v.exited_ms,
                    v.end_reason
                ],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Moves an open visit's last-seen time forward.
    pub fn touch_visit(&self, id: &str, last_seen_ms: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE proximity_visits SET last_seen_ms = MAX(last_seen_ms, ?2) WHERE id = ?1 AND exited_ms IS NULL",
                params![id, last_seen_ms],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Marks the dwell once; false when it was already marked or the visit is closed.
    pub fn mark_dwell(&self, id: &str, at_ms: i64) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE proximity_visits SET dwell_ms = ?2 WHERE id = ?1 AND dwell_ms IS NULL AND exited_ms IS NULL",
                params![id, at_ms],
            )
            .map_err(sql_err)?;
        Ok(n == 1)
    }

    /// Closes an open visit; false when it was already closed (or deleted by a withdrawal).
    pub fn close_visit(&self, id: &str, exited_ms: i64, reason: &str) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE proximity_visits SET exited_ms = MAX(?2, entered_ms), end_reason = ?3 \
                 WHERE id = ?1 AND exited_ms IS NULL",
                params![id, exited_ms, reason],
            )
            .map_err(sql_err)?;
        Ok(n == 1)
    }

    pub fn visit(&self, id: &str) -> Result<Option<StoredVisit>> {
        let sql = format!("SELECT {VISIT_COLUMNS} FROM proximity_visits WHERE id = ?1");
        Ok(opened_rows(self.conn, self.at_rest, &sql, [id], VISITS, visit)?.into_iter().next())
    }

    /// Records an offer; false when that offer id exists (the same campaign in the same visit).
    pub fn record_offer(&self, o: &StoredOffer) -> Result<bool> {
        let n = self
            .conn
            .execute(
                &format!("INSERT OR IGNORE INTO proximity_offers({OFFER_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6)"),
                params![
                    o.offer_id,
                    o.campaign_id,
                    o.zone
                        .as_deref()
                        .map(|z| self.at_rest.seal(OFFER_ZONE, o.offer_id.as_bytes(), z))
                        .transpose()
                        .map_err(sql_err)?,
                    o.visit_id,
                    o.coupon_id,
                    o.at_ms
                ],
            )
            .map_err(sql_err)?;
        Ok(n == 1)
    }

    /// Adds or replaces an expected pickup; an order already recognised keeps its arrival.
    pub fn expect_pickup(&self, p: &StoredPickup) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO proximity_pickups(order_id, store, from_ms, until_ms, created_ms) VALUES (?1,?2,?3,?4,?5) \
                 ON CONFLICT(order_id) DO UPDATE SET store = ?2, from_ms = ?3, until_ms = ?4 WHERE arrived_ms IS NULL",
                params![
                    p.order_id,
                    self.at_rest.seal(PICKUP_STORE, p.order_id.as_bytes(), &p.store).map_err(sql_err)?,
                    p.from_ms,
                    p.until_ms,
                    p.created_ms
                ],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Pickups of `store` waiting at `at_ms` (inside their window, not arrived yet).
    pub fn waiting_pickups(&self, store: &str, at_ms: i64) -> Result<Vec<StoredPickup>> {
        // The store is sealed: the window is matched in SQL, the store once opened.
        let sql = format!(
            "SELECT {PICKUP_COLUMNS} FROM proximity_pickups \
             WHERE arrived_ms IS NULL AND from_ms <= ?1 AND until_ms >= ?1 ORDER BY order_id"
        );
        let waiting = opened_rows(self.conn, self.at_rest, &sql, [at_ms], PICKUPS, pickup)?;
        Ok(waiting.into_iter().filter(|p| p.store == store).collect())
    }

    /// Marks a pickup arrived once; false when it already was.
    pub fn pickup_arrived(&self, order_id: &str, at_ms: i64, visit_id: &str) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE proximity_pickups SET arrived_ms = ?2, visit_id = ?3 WHERE order_id = ?1 AND arrived_ms IS NULL",
                params![order_id, at_ms, visit_id],
            )
            .map_err(sql_err)?;
        Ok(n == 1)
    }

    pub fn tally_audience(&self, rule: &str, day: i64) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO audience_tally(rule, day, count) VALUES (?1, ?2, 1) \
                 ON CONFLICT(rule, day) DO UPDATE SET count = count + 1",
                params![rule, day],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Drops what no rule looks at any more: closed visits, offers and tallies older than the retention, and
    /// pickups whose window ended that long ago.
    pub fn prune_proximity(&self, now_ms: i64) -> Result<()> {
        let before = now_ms - PROXIMITY_RETENTION_MS;
        let day = before.div_euclid(86_400_000);
        for (sql, value) in [
            ("DELETE FROM proximity_visits WHERE exited_ms IS NOT NULL AND exited_ms < ?1", before),
            ("DELETE FROM proximity_offers WHERE at_ms < ?1", before),
            ("DELETE FROM proximity_pickups WHERE until_ms < ?1", before),
            ("DELETE FROM audience_tally WHERE day < ?1", day),
        ] {
            self.conn.execute(sql, [value]).map_err(sql_err)?;
        }
        Ok(())
    }
}
