//! Store proximity's tables: `proximity_visits` (one row per visit, opened and closed in the transaction that
//! queues its event), `proximity_offers` (what was offered, for caps and cooldowns), `proximity_pickups` (orders
//! the shopper will collect) and `audience_tally` (per-day counts of the events audience rules watch). What the
//! rows mean is decided in `crate::proximity`; sightings are never stored.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

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

fn visit(r: &Row<'_>) -> rusqlite::Result<StoredVisit> {
    Ok(StoredVisit {
        id: r.get(0)?,
        zone: r.get(1)?,
        store: r.get(2)?,
        entered_ms: r.get(3)?,
        last_seen_ms: r.get(4)?,
        dwell_ms: r.get(5)?,
        exited_ms: r.get(6)?,
        end_reason: r.get(7)?,
    })
}

fn offer(r: &Row<'_>) -> rusqlite::Result<StoredOffer> {
    Ok(StoredOffer {
        offer_id: r.get(0)?,
        campaign_id: r.get(1)?,
        zone: r.get(2)?,
        visit_id: r.get(3)?,
        coupon_id: r.get(4)?,
        at_ms: r.get(5)?,
    })
}

fn pickup(r: &Row<'_>) -> rusqlite::Result<StoredPickup> {
    Ok(StoredPickup {
        order_id: r.get(0)?,
        store: r.get(1)?,
        from_ms: r.get(2)?,
        until_ms: r.get(3)?,
        arrived_ms: r.get(4)?,
        visit_id: r.get(5)?,
        created_ms: r.get(6)?,
    })
}

impl Storage {
    /// Visits not closed yet (open when the process last stopped, or now).
    pub fn open_visits(&self) -> Result<Vec<StoredVisit>> {
        self.query_rows(
            &format!("SELECT {VISIT_COLUMNS} FROM proximity_visits WHERE exited_ms IS NULL ORDER BY entered_ms, id"),
            [],
            visit,
        )
    }

    /// The latest visits, newest first.
    pub fn visits(&self, limit: usize) -> Result<Vec<StoredVisit>> {
        self.query_rows(
            &format!("SELECT {VISIT_COLUMNS} FROM proximity_visits ORDER BY entered_ms DESC, id DESC LIMIT ?1"),
            [limit as i64],
            visit,
        )
    }

    /// Offers made at or after `since_ms`, oldest first.
    pub fn offers_since(&self, since_ms: i64) -> Result<Vec<StoredOffer>> {
        self.query_rows(
            &format!("SELECT {OFFER_COLUMNS} FROM proximity_offers WHERE at_ms >= ?1 ORDER BY at_ms, offer_id"),
            [since_ms],
            offer,
        )
    }

    pub fn pickups(&self) -> Result<Vec<StoredPickup>> {
        self.query_rows(
            &format!("SELECT {PICKUP_COLUMNS} FROM proximity_pickups ORDER BY from_ms, order_id"),
            [],
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
                params![v.id, v.zone, v.store, v.entered_ms, v.last_seen_ms, v.dwell_ms, v.exited_ms, v.end_reason],
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
        self.conn
            .query_row(&format!("SELECT {VISIT_COLUMNS} FROM proximity_visits WHERE id = ?1"), [id], visit)
            .optional()
            .map_err(sql_err)
    }

    /// Records an offer; false when that offer id exists (the same campaign in the same visit).
    pub fn record_offer(&self, o: &StoredOffer) -> Result<bool> {
        let n = self
            .conn
            .execute(
                &format!("INSERT OR IGNORE INTO proximity_offers({OFFER_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6)"),
                params![o.offer_id, o.campaign_id, o.zone, o.visit_id, o.coupon_id, o.at_ms],
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
                params![p.order_id, p.store, p.from_ms, p.until_ms, p.created_ms],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Pickups of `store` waiting at `at_ms` (inside their window, not arrived yet).
    pub fn waiting_pickups(&self, store: &str, at_ms: i64) -> Result<Vec<StoredPickup>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {PICKUP_COLUMNS} FROM proximity_pickups \
                 WHERE store = ?1 AND arrived_ms IS NULL AND from_ms <= ?2 AND until_ms >= ?2 ORDER BY order_id"
            ))
            .map_err(sql_err)?;
        let rows = stmt.query_map(params![store, at_ms], pickup).map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
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
