//! The wallet's tables: `wallet_coupons` (verified grants and where each coupon is), `wallet_outbox` (clips and
//! redemptions, each with the idempotency key fixed in the transaction that made it) and `wallet_device` (the
//! presentation counter, and the software device key when the platform offers none). The wallet's feed cursor,
//! rotated key set and server-time offset are `meta` rows.
//!
//! Storage keeps rows; what they mean (verification, validity, offline limits) is decided in `crate::wallet`.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::at_rest::{coupon_row, AtRest, DEVICE_KEY, OUTBOX_BODY, OUTBOX_CODE, WALLET_DISPLAY, WALLET_GRANT};
use super::counters::{self, Counter};
use super::{sql_err, Storage, Tx};
use crate::error::Result;
use crate::wallet::lifecycle::CouponLifecycle;

/// A coupon row, with what its pending redemptions add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCoupon {
    pub coupon_id: String,
    pub serial: String,
    /// The signed grant bytes, verified before they were stored (and again whenever they are used).
    pub grant: Vec<u8>,
    /// The display document (`{"title","terms"}`), kept only when it matched the grant's terms reference.
    pub display: Option<String>,
    pub state: CouponLifecycle,
    pub reason: Option<String>,
    pub uses_allowed: u32,
    /// Uses the server has accepted.
    pub server_uses: u32,
    /// Redemptions presented here that the server has not answered yet, and their fixed-amount value.
    pub pending_uses: u32,
    pub pending_value_minor: u64,
    /// The latest pending redemption's code, so the app can show it again.
    pub pending_code: Option<String>,
    pub clipped_ms: Option<i64>,
    /// Tombstone detail: when, where and by which device key the coupon was redeemed (or the tombstone's time).
    pub ended_at: Option<String>,
    pub store_id: Option<String>,
    pub device: Option<String>,
    pub updated_ms: i64,
}

/// A verified grant the feed brought, ready to store.
#[derive(Debug, Clone)]
pub struct CouponUpsert {
    pub coupon_id: String,
    pub serial: String,
    pub grant: Vec<u8>,
    pub display: Option<String>,
    pub uses_allowed: u32,
    pub server_uses: Option<u32>,
}

/// A tombstone the feed brought.
#[derive(Debug, Clone)]
pub struct CouponTombstone {
    pub coupon_id: String,
    pub serial: String,
    pub state: CouponLifecycle,
    pub at: Option<String>,
    pub store_id: Option<String>,
    pub device: Option<String>,
}

/// One item of the wallet outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletOutboxItem {
    pub seq: i64,
    /// The idempotency key (`clipId` / `redemptionId`), fixed when the row was written.
    pub id: String,
    pub kind: WalletOutboxKind,
    pub coupon_id: String,
    pub serial: String,
    /// The item's JSON exactly as sent on every attempt.
    pub body: String,
    pub state: String,
    pub result: Option<String>,
    pub reason: Option<String>,
    pub counter: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletOutboxKind {
    Clip,
    Redemption,
}

impl WalletOutboxKind {
    fn as_str(self) -> &'static str {
        match self {
            WalletOutboxKind::Clip => "clip",
            WalletOutboxKind::Redemption => "redemption",
        }
    }
}

/// A redemption about to be committed with its coupon's new state.
#[derive(Debug, Clone)]
pub struct NewRedemption {
    pub redemption_id: String,
    pub coupon_id: String,
    pub serial: String,
    pub counter: u64,
    pub code: String,
    pub store_id: String,
    pub value_minor: u64,
    pub body: String,
}

/// The server's answer about one redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionResult {
    pub redemption_id: String,
    /// `accepted`, `double_spend` or `rejected`.
    pub status: String,
    pub reason: Option<String>,
}

const COUPON_COLUMNS: &str = "c.coupon_id, c.serial, c.grant_bytes, c.display, c.state, c.reason, c.uses_allowed, \
     c.server_uses, c.clipped_ms, c.ended_at, c.store_id, c.device, c.updated_ms, \
     (SELECT COUNT(*) FROM wallet_outbox o WHERE o.kind = 'redemption' AND o.state IN ('pending', 'sent') \
        AND o.coupon_id = c.coupon_id AND o.serial = c.serial), \
     (SELECT COALESCE(SUM(o.value_minor), 0) FROM wallet_outbox o WHERE o.kind = 'redemption' \
        AND o.state IN ('pending', 'sent') AND o.coupon_id = c.coupon_id AND o.serial = c.serial), \
     (SELECT o.code FROM wallet_outbox o WHERE o.kind = 'redemption' AND o.state IN ('pending', 'sent') \
        AND o.coupon_id = c.coupon_id AND o.serial = c.serial ORDER BY o.seq DESC LIMIT 1), \
     (SELECT o.id FROM wallet_outbox o WHERE o.kind = 'redemption' AND o.state IN ('pending', 'sent') \
        AND o.coupon_id = c.coupon_id AND o.serial = c.serial ORDER BY o.seq DESC LIMIT 1)";

/// A coupon row with its sealed values opened; `Err((coupon id, serial))` when one does not open.
fn coupon_from_row(
    r: &Row<'_>,
    at_rest: &AtRest,
) -> rusqlite::Result<std::result::Result<StoredCoupon, (String, String)>> {
    let (coupon_id, serial): (String, String) = (r.get(0)?, r.get(1)?);
    let row = coupon_row(&coupon_id, &serial);
    let grant = at_rest.open_bytes(WALLET_GRANT, &row, r.get_ref(2)?);
    let display = at_rest.open(WALLET_DISPLAY, &row, r.get_ref(3)?);
    let outbox_id: Option<String> = r.get(16)?;
    let code = match &outbox_id {
        Some(id) => at_rest.open(OUTBOX_CODE, id.as_bytes(), r.get_ref(15)?),
        None => Ok(None),
    };
    let (Ok(Some(grant)), Ok(display), Ok(pending_code)) = (grant, display, code) else {
        return Ok(Err((coupon_id, serial)));
    };
    Ok(Ok(StoredCoupon {
        coupon_id,
        serial,
        grant,
        display,
        state: CouponLifecycle::parse(&r.get::<_, String>(4)?),
        reason: r.get(5)?,
        uses_allowed: r.get(6)?,
        server_uses: r.get(7)?,
        clipped_ms: r.get(8)?,
        ended_at: r.get(9)?,
        store_id: r.get(10)?,
        device: r.get(11)?,
        updated_ms: r.get(12)?,
        pending_uses: r.get(13)?,
        pending_value_minor: r.get::<_, i64>(14)?.max(0) as u64,
        pending_code,
    }))
}

/// Coupons whose sealed values do not open (altered on disk) are removed and counted, never shown; the next full
/// listing of the feed brings back any that are still live.
fn drop_unreadable_coupons(conn: &Connection, unreadable: &[(String, String)]) -> Result<()> {
    if unreadable.is_empty() {
        return Ok(());
    }
    tracing::warn!(coupons = unreadable.len(), "wallet coupons that do not decrypt were removed");
    for (coupon_id, serial) in unreadable {
        conn.execute("DELETE FROM wallet_coupons WHERE coupon_id = ?1 AND serial = ?2", params![coupon_id, serial])
            .map_err(sql_err)?;
    }
    counters::add(conn, &[(Counter::UnreadableValues, unreadable.len() as u64)]).map_err(sql_err)
}

/// Outbox items whose sealed body does not open are removed and counted: never sent.
fn drop_unreadable_items(conn: &Connection, unreadable: &[i64]) -> Result<()> {
    if unreadable.is_empty() {
        return Ok(());
    }
    tracing::warn!(items = unreadable.len(), "wallet outbox items that do not decrypt were removed");
    for seq in unreadable {
        conn.execute("DELETE FROM wallet_outbox WHERE seq = ?1", params![seq]).map_err(sql_err)?;
    }
    counters::add(conn, &[(Counter::UnreadableValues, unreadable.len() as u64)]).map_err(sql_err)
}

/// Runs `sql` and opens each outbox row, dropping (and counting) the ones that do not open.
fn outbox_items(
    conn: &Connection,
    at_rest: &AtRest,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<WalletOutboxItem>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let mut rows = stmt.query(args).map_err(sql_err)?;
    let (mut items, mut unreadable) = (Vec::new(), Vec::new());
    while let Some(row) = rows.next().map_err(sql_err)? {
        match outbox_from_row(row, at_rest).map_err(sql_err)? {
            Ok(item) => items.push(item),
            Err(seq) => unreadable.push(seq),
        }
    }
    drop(rows);
    drop_unreadable_items(conn, &unreadable)?;
    Ok(items)
}

/// An outbox row with its body opened; `Err(seq)` when it does not open.
fn outbox_from_row(r: &Row<'_>, at_rest: &AtRest) -> rusqlite::Result<std::result::Result<WalletOutboxItem, i64>> {
    let (seq, id): (i64, String) = (r.get(0)?, r.get(1)?);
    let Ok(Some(body)) = at_rest.open(OUTBOX_BODY, id.as_bytes(), r.get_ref(5)?) else { return Ok(Err(seq)) };
    Ok(Ok(WalletOutboxItem {
        seq,
        id,
        kind: if r.get::<_, String>(2)? == "clip" { WalletOutboxKind::Clip } else { WalletOutboxKind::Redemption },
        coupon_id: r.get(3)?,
        serial: r.get(4)?,
        body,
        state: r.get(6)?,
        result: r.get(7)?,
        reason: r.get(8)?,
        counter: r.get::<_, Option<i64>>(9)?.map(|c| c as u64),
    }))
}

const OUTBOX_COLUMNS: &str = "seq, id, kind, coupon_id, serial, body, state, result, reason, counter";

impl Storage {
    /// Every coupon, live ones first, then by coupon id.
    pub fn wallet_coupons(&self) -> Result<Vec<StoredCoupon>> {
        // One statement: a read needs no transaction of its own.
        let inner = self.lock();
        Tx { conn: &inner.conn, at_rest: &inner.at_rest }.wallet_coupons()
    }

    /// Every outbox item, oldest first (for the export).
    pub fn wallet_outbox(&self) -> Result<Vec<WalletOutboxItem>> {
        let inner = self.lock();
        outbox_items(
            &inner.conn,
            &inner.at_rest,
            &format!("SELECT {OUTBOX_COLUMNS} FROM wallet_outbox ORDER BY seq"),
            [],
        )
    }

    /// The oldest items of `kind` the server has not answered yet.
    pub fn pending_wallet_items(&self, kind: WalletOutboxKind, limit: usize) -> Result<Vec<WalletOutboxItem>> {
        let inner = self.lock();
        outbox_items(
            &inner.conn,
            &inner.at_rest,
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM wallet_outbox WHERE kind = ?1 AND state IN ('pending', 'sent') \
                 ORDER BY seq LIMIT ?2"
            ),
            params![kind.as_str(), limit as i64],
        )
    }

    /// The software device key's PKCS#8, creating it with `generate` on first use. Concurrent first uses agree
    /// on one key (the first committed wins).
    pub fn software_device_key(&self, generate: impl FnOnce() -> Result<Vec<u8>>) -> Result<Vec<u8>> {
        let existing = {
            let inner = self.lock();
            Tx { conn: &inner.conn, at_rest: &inner.at_rest }.software_device_key()?
        };
        if let Some(existing) = existing {
            return Ok(existing);
        }
        let fresh = generate()?;
        self.write(|tx| {
            tx.ensure_device_row()?;
            let sealed = tx.at_rest.seal_bytes(DEVICE_KEY, b"1", &fresh).map_err(sql_err)?;
            tx.conn
                .execute("UPDATE wallet_device SET pkcs8 = ?1 WHERE id = 1 AND pkcs8 IS NULL", params![sealed])
                .map_err(sql_err)?;
            Ok(tx.software_device_key()?.unwrap_or(fresh))
        })
    }
}

impl Tx<'_> {
    pub fn wallet_coupons(&self) -> Result<Vec<StoredCoupon>> {
        self.coupons(
            &format!(
                "SELECT {COUPON_COLUMNS} FROM wallet_coupons c \
                 ORDER BY c.state NOT IN ('available', 'clipped', 'pending_redeem'), c.coupon_id, c.serial"
            ),
            [],
        )
    }

    fn coupons(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<StoredCoupon>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(sql_err)?;
        let mut rows = stmt.query(args).map_err(sql_err)?;
        let (mut coupons, mut unreadable) = (Vec::new(), Vec::new());
        while let Some(row) = rows.next().map_err(sql_err)? {
            match coupon_from_row(row, self.at_rest).map_err(sql_err)? {
                Ok(coupon) => coupons.push(coupon),
                Err(key) => unreadable.push(key),
            }
        }
        drop(rows);
        drop_unreadable_coupons(self.conn, &unreadable)?;
        Ok(coupons)
    }

    /// The coupon `coupon_id` names: the live serial if there is one, else the latest changed.
    pub fn wallet_coupon(&self, coupon_id: &str) -> Result<Option<StoredCoupon>> {
        let coupons = self.coupons(
            &format!(
                "SELECT {COUPON_COLUMNS} FROM wallet_coupons c WHERE c.coupon_id = ?1 \
                 ORDER BY c.state NOT IN ('available', 'clipped', 'pending_redeem'), c.updated_ms DESC LIMIT 1"
            ),
            params![coupon_id],
        )?;
        Ok(coupons.into_iter().next())
    }

    /// Stores a verified grant. A new coupon is `available`; a known one keeps its local state unless it was a
    /// tombstone (the issuer offers it again), and takes the server's use count when the feed gives one.
    pub fn upsert_coupon(&self, c: &CouponUpsert, now_ms: i64) -> Result<()> {
        let row = coupon_row(&c.coupon_id, &c.serial);
        let display =
            c.display.as_deref().map(|d| self.at_rest.seal(WALLET_DISPLAY, &row, d)).transpose().map_err(sql_err)?;
        self.conn
            .prepare_cached(
                "INSERT INTO wallet_coupons(coupon_id, serial, grant_bytes, display, state, uses_allowed, server_uses, \
                    updated_ms) VALUES (?1, ?2, ?3, ?4, 'available', ?5, COALESCE(?6, 0), ?7) \
                 ON CONFLICT(coupon_id, serial) DO UPDATE SET grant_bytes = excluded.grant_bytes, \
                    display = excluded.display, uses_allowed = excluded.uses_allowed, \
                    server_uses = COALESCE(?6, server_uses), updated_ms = excluded.updated_ms, \
                    state = CASE WHEN state IN ('revoked', 'expired', 'withdrawn') THEN 'available' ELSE state END, \
                    reason = CASE WHEN state IN ('revoked', 'expired', 'withdrawn') THEN NULL ELSE reason END",
            )
            .map_err(sql_err)?
            .execute(params![
                c.coupon_id,
                c.serial,
                self.at_rest.seal_bytes(WALLET_GRANT, &row, &c.grant).map_err(sql_err)?,
                display,
                c.uses_allowed,
                c.server_uses,
                now_ms
            ])
            .map_err(sql_err)?;
        Ok(())
    }

    /// Ends a coupon with a tombstone; returns false when the device does not hold it (nothing to keep).
    pub fn tombstone_coupon(&self, t: &CouponTombstone, now_ms: i64) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE wallet_coupons SET state = ?3, reason = NULL, ended_at = COALESCE(?4, ended_at), \
                    store_id = COALESCE(?5, store_id), device = COALESCE(?6, device), updated_ms = ?7 \
                 WHERE coupon_id = ?1 AND serial = ?2",
            )
            .map_err(sql_err)?
            .execute(params![t.coupon_id, t.serial, t.state.as_str(), t.at, t.store_id, t.device, now_ms])
            .map_err(sql_err)?;
        Ok(changed > 0)
    }

    /// After a full listing: every live coupon it did not name becomes a `withdrawn` tombstone.
    pub fn withdraw_unlisted(&self, listed: &[(String, String)], at: &str, now_ms: i64) -> Result<u64> {
        let live: Vec<(String, String)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT coupon_id, serial FROM wallet_coupons WHERE state IN ('available', 'clipped')")
                .map_err(sql_err)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sql_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)?
        };
        let mut withdrawn = 0;
        for (coupon_id, serial) in live.into_iter().filter(|key| !listed.contains(key)) {
            let tombstone = CouponTombstone {
                coupon_id,
                serial,
                state: CouponLifecycle::Withdrawn,
                at: Some(at.to_string()),
                store_id: None,
                device: None,
            };
            withdrawn += u64::from(self.tombstone_coupon(&tombstone, now_ms)?);
        }
        Ok(withdrawn)
    }

    /// Clips an `available` coupon and queues its clip in one transaction; false when it was not available.
    pub fn record_clip(&self, coupon_id: &str, serial: &str, clip_id: &str, body: &str, now_ms: i64) -> Result<bool> {
        let changed = self
            .conn
            .execute(
                "UPDATE wallet_coupons SET state = 'clipped', clipped_ms = ?3, updated_ms = ?3 \
                 WHERE coupon_id = ?1 AND serial = ?2 AND state = 'available'",
                params![coupon_id, serial, now_ms],
            )
            .map_err(sql_err)?;
        if changed == 0 {
            return Ok(false);
        }
        self.insert_outbox(clip_id, WalletOutboxKind::Clip, coupon_id, serial, body, None, None, 0, now_ms)?;
        Ok(true)
    }

    /// The next presentation counter, committed with this transaction (so it is durable before any code that
    /// carries it exists, and never handed out twice).
    pub fn next_presentation_counter(&self) -> Result<u64> {
        self.ensure_device_row()?;
        let counter: i64 = self
            .conn
            .query_row("UPDATE wallet_device SET counter = counter + 1 WHERE id = 1 RETURNING counter", [], |r| {
                r.get(0)
            })
            .map_err(sql_err)?;
        Ok(counter as u64)
    }

    /// The coupon becomes `pending_redeem` and its redemption joins the outbox, together.
    pub fn record_redemption(&self, r: &NewRedemption, now_ms: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE wallet_coupons SET state = 'pending_redeem', reason = NULL, updated_ms = ?3 \
                 WHERE coupon_id = ?1 AND serial = ?2",
                params![r.coupon_id, r.serial, now_ms],
            )
            .map_err(sql_err)?;
        self.insert_outbox(
            &r.redemption_id,
            WalletOutboxKind::Redemption,
            &r.coupon_id,
            &r.serial,
            &r.body,
            Some(&r.code),
            Some(r.counter),
            r.value_minor,
            now_ms,
        )
    }

    /// Clips the server acknowledged.
    pub fn clips_delivered(&self, ids: &[String], now_ms: i64) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "UPDATE wallet_outbox SET state = 'acknowledged', updated_ms = ?2 WHERE id = ?1 AND kind = 'clip'",
            )
            .map_err(sql_err)?;
        for id in ids {
            stmt.execute(params![id, now_ms]).map_err(sql_err)?;
        }
        Ok(())
    }

    /// An item the server refused on its own (400/422/413): kept with the reason, never re-sent.
    pub fn wallet_item_refused(&self, id: &str, reason: &str, now_ms: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE wallet_outbox SET state = 'refused', result = 'rejected', reason = ?2, updated_ms = ?3 \
                 WHERE id = ?1",
                params![id, reason, now_ms],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Records the server's answer to a redemption (once: an answered item is not answered again) and returns
    /// the outbox item it answered.
    pub fn answer_redemption(&self, result: &RedemptionResult, now_ms: i64) -> Result<Option<WalletOutboxItem>> {
        let answered = outbox_items(
            self.conn,
            self.at_rest,
            &format!(
                "UPDATE wallet_outbox SET state = 'acknowledged', result = ?2, reason = ?3, updated_ms = ?4 \
                 WHERE id = ?1 AND kind = 'redemption' AND state IN ('pending', 'sent') RETURNING {OUTBOX_COLUMNS}"
            ),
            params![result.redemption_id, result.status, result.reason, now_ms],
        )?;
        Ok(answered.into_iter().next())
    }

    /// Sets a coupon's state with its detail (the wallet decided it).
    #[allow(clippy::too_many_arguments)]
    pub fn set_coupon_state(
        &self,
        coupon_id: &str,
        serial: &str,
        state: CouponLifecycle,
        reason: Option<&str>,
        server_uses: u32,
        ended: Option<(&str, &str, &str)>,
        now_ms: i64,
    ) -> Result<()> {
        let (at, store, device) = ended.map_or((None, None, None), |(a, s, d)| (Some(a), Some(s), Some(d)));
        self.conn
            .execute(
                "UPDATE wallet_coupons SET state = ?3, reason = ?4, server_uses = ?5, \
                    ended_at = COALESCE(?6, ended_at), store_id = COALESCE(?7, store_id), \
                    device = COALESCE(?8, device), updated_ms = ?9 \
                 WHERE coupon_id = ?1 AND serial = ?2",
                params![coupon_id, serial, state.as_str(), reason, server_uses, at, store, device, now_ms],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    fn software_device_key(&self) -> Result<Option<Vec<u8>>> {
        let opened = self
            .conn
            .query_row("SELECT pkcs8 FROM wallet_device WHERE id = 1", [], |r| {
                Ok(self.at_rest.open_bytes(DEVICE_KEY, b"1", r.get_ref(0)?))
            })
            .optional()
            .map_err(sql_err)?;
        match opened {
            None => Ok(None),
            Some(Ok(key)) => Ok(key),
            Some(Err(_)) => {
                // Altered: never used. A new key is made (the counter stays, so no code repeats); counted.
                tracing::warn!("the software device key does not decrypt; a new one will be made");
                self.conn.execute("UPDATE wallet_device SET pkcs8 = NULL WHERE id = 1", []).map_err(sql_err)?;
                counters::add(self.conn, &[(Counter::UnreadableValues, 1)]).map_err(sql_err)?;
                Ok(None)
            }
        }
    }

    fn ensure_device_row(&self) -> Result<()> {
        self.conn.execute("INSERT OR IGNORE INTO wallet_device(id, counter) VALUES (1, 0)", []).map_err(sql_err)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_outbox(
        &self,
        id: &str,
        kind: WalletOutboxKind,
        coupon_id: &str,
        serial: &str,
        body: &str,
        code: Option<&str>,
        counter: Option<u64>,
        value_minor: u64,
        now_ms: i64,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO wallet_outbox(id, kind, coupon_id, serial, body, code, counter, value_minor, state, \
                    created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9, ?9)",
            )
            .map_err(sql_err)?
            .execute(params![
                id,
                kind.as_str(),
                coupon_id,
                serial,
                self.at_rest.seal(OUTBOX_BODY, id.as_bytes(), body).map_err(sql_err)?,
                code.map(|c| self.at_rest.seal(OUTBOX_CODE, id.as_bytes(), c)).transpose().map_err(sql_err)?,
                counter.map(|c| c as i64),
                value_minor as i64,
                now_ms
            ])
            .map_err(sql_err)?;
        Ok(())
    }
}
