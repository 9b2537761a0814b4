//! The wallet's tables in the collector database, and the global revision every feed cursor is measured against.
//!
//! A change a holder must hear about (a coupon added or revoked, a serial's use accepted) bumps the revision and
//! stamps the changed row with it; a feed cursor remembers the revision it was cut at, so "what changed since" is
//! a comparison. Handing a holder a new serial does not bump it: only that holder's listing changes, and bumping
//! would move every other holder's cursor (and spoil their `304`s) for nothing.

use rusqlite::{params, Connection, OptionalExtension};

pub(crate) const SCHEMA: &str = "
INSERT OR IGNORE INTO counters (name, value) VALUES ('wallet_revision', 0);
CREATE TABLE IF NOT EXISTS wallet_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS wallet_coupons (
    coupon_id   TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    terms       TEXT NOT NULL,
    currency    TEXT NOT NULL,                    -- ISO 4217
    discount_kind TEXT NOT NULL CHECK (discount_kind IN ('percent', 'amount')),
    discount_value INTEGER NOT NULL,              -- basis points, or minor units of currency
    gtins       TEXT NOT NULL,                    -- GTIN-14s, comma-separated; empty: any item
    min_basket_minor INTEGER NOT NULL,
    stack_group TEXT,
    uses_allowed INTEGER NOT NULL,
    offline_accepted INTEGER NOT NULL,
    offline_max_uses INTEGER NOT NULL,
    offline_max_value_minor INTEGER NOT NULL,
    first_day   TEXT NOT NULL,                    -- store-local YYYY-MM-DD, as stated
    last_day    TEXT NOT NULL,
    zone        TEXT NOT NULL,                    -- IANA
    not_before  INTEGER NOT NULL,                 -- UTC seconds derived from the local days: what decides
    not_after   INTEGER NOT NULL,                 -- exclusive
    grace_secs  INTEGER NOT NULL,
    target_user TEXT,                             -- NULL: every holder gets one
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    revision    INTEGER NOT NULL                  -- wallet revision of the last change
);
CREATE TABLE IF NOT EXISTS wallet_serials (
    coupon_id   TEXT NOT NULL,
    holder      TEXT NOT NULL,                    -- 'user:<id>' or 'anon:<id>'
    serial      TEXT NOT NULL,
    uses        INTEGER NOT NULL DEFAULT 0,       -- accepted redemptions
    revision    INTEGER NOT NULL,                 -- wallet revision when handed out or last used
    exhausted_at INTEGER,                         -- presentedAt of the redemption that used the last use
    exhausted_store TEXT,
    exhausted_device TEXT,
    PRIMARY KEY (coupon_id, holder),
    UNIQUE (coupon_id, serial)
);
CREATE TABLE IF NOT EXISTS wallet_redemptions (
    rx          INTEGER PRIMARY KEY AUTOINCREMENT, -- received order
    redemption_id TEXT NOT NULL UNIQUE,           -- the idempotency key
    coupon_id   TEXT,                             -- from the grant, when its signature verified
    serial      TEXT,
    device_id   TEXT,                             -- set only when the device proof verified
    device_key  TEXT,                             -- hex; with counter, the second idempotency key
    counter     INTEGER,
    store_id    TEXT NOT NULL,
    presented_at TEXT NOT NULL,
    holder      TEXT,
    received_at TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('accepted', 'double_spend', 'rejected')),
    reason      TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS wallet_redemptions_device_counter
    ON wallet_redemptions (device_key, counter) WHERE device_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS wallet_clips (
    rx          INTEGER PRIMARY KEY AUTOINCREMENT,
    clip_id     TEXT NOT NULL UNIQUE,             -- the idempotency key
    coupon_id   TEXT NOT NULL,
    serial      TEXT NOT NULL,
    clipped_at  TEXT NOT NULL,
    anonymous_id TEXT,
    user_id     TEXT,
    received_at TEXT NOT NULL
);
";

/// Creates the wallet tables (the collector's own schema must exist: the revision lives in `counters`).
pub(crate) fn init(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

pub(crate) fn revision(conn: &Connection) -> rusqlite::Result<i64> {
    let value: Option<i64> =
        conn.query_row("SELECT value FROM counters WHERE name = 'wallet_revision'", [], |r| r.get(0)).optional()?;
    Ok(value.unwrap_or(0))
}

/// Bumps the revision (inside the caller's transaction) and returns the new value to stamp the changed row with.
pub(crate) fn bump_revision(conn: &Connection) -> rusqlite::Result<i64> {
    conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'wallet_revision'", [])?;
    revision(conn)
}

pub(crate) fn meta(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM wallet_meta WHERE name = ?1", [name], |r| r.get(0)).optional()
}

pub(crate) fn set_meta(conn: &Connection, name: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO wallet_meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![name, value],
    )
    .map(|_| ())
}

/// The latest instant at or before `now` at which some coupon stopped being usable (its end plus grace), or 0.
/// A feed cursor carries this rather than `now`: any instant from it up to `now` sees the same coupons as
/// expired, so an unchanged feed keeps the same cursor (and body, and ETag) from one second to the next.
pub(crate) fn last_expiry_at_or_before(conn: &Connection, now: i64) -> rusqlite::Result<i64> {
    let latest: Option<i64> = conn.query_row(
        "SELECT MAX(not_after + grace_secs) FROM wallet_coupons WHERE not_after + grace_secs <= ?1",
        [now],
        |r| r.get(0),
    )?;
    Ok(latest.unwrap_or(0))
}
