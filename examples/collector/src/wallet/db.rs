//! The wallet's tables in the collector database, and the global revision every feed cursor is measured against.
//!
//! A change a holder must hear about (a coupon added or revoked, a serial's use accepted) bumps the revision and
//! stamps the changed row with it; a feed cursor remembers the revision it was cut at, so "what changed since" is
//! a comparison. Handing a holder a new serial does not bump it: only that holder's listing changes, and bumping
//! would move every other holder's cursor (and spoil their `304`s) for nothing.

use crate::db::{args, migrate, Database, DbError, Migration, Sql};

const MIGRATIONS: [Migration; 2] = [
    Migration {
        version: 1,
        name: "coupons, serials, redemptions, clips",
        // IF NOT EXISTS: a file from before versioned migrations is adopted as it is.
        sqlite: "
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
",
        postgres: "
CREATE TABLE wallet_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE wallet_coupons (
    coupon_id   TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    terms       TEXT NOT NULL,
    currency    TEXT NOT NULL,
    discount_kind TEXT NOT NULL CHECK (discount_kind IN ('percent', 'amount')),
    discount_value BIGINT NOT NULL,
    gtins       TEXT NOT NULL,
    min_basket_minor BIGINT NOT NULL,
    stack_group TEXT,
    uses_allowed BIGINT NOT NULL,
    offline_accepted BIGINT NOT NULL,
    offline_max_uses BIGINT NOT NULL,
    offline_max_value_minor BIGINT NOT NULL,
    first_day   TEXT NOT NULL,
    last_day    TEXT NOT NULL,
    zone        TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    grace_secs  BIGINT NOT NULL,
    target_user TEXT,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    revision    BIGINT NOT NULL
);
CREATE TABLE wallet_serials (
    coupon_id   TEXT NOT NULL,
    holder      TEXT NOT NULL,
    serial      TEXT NOT NULL,
    uses        BIGINT NOT NULL DEFAULT 0,
    revision    BIGINT NOT NULL,
    exhausted_at BIGINT,
    exhausted_store TEXT,
    exhausted_device TEXT,
    PRIMARY KEY (coupon_id, holder),
    UNIQUE (coupon_id, serial)
);
CREATE TABLE wallet_redemptions (
    rx          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    redemption_id TEXT NOT NULL UNIQUE,
    coupon_id   TEXT,
    serial      TEXT,
    device_id   TEXT,
    device_key  TEXT,
    counter     BIGINT,
    store_id    TEXT NOT NULL,
    presented_at TEXT NOT NULL,
    holder      TEXT,
    received_at TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('accepted', 'double_spend', 'rejected')),
    reason      TEXT
);
CREATE UNIQUE INDEX wallet_redemptions_device_counter
    ON wallet_redemptions (device_key, counter) WHERE device_key IS NOT NULL;
CREATE TABLE wallet_clips (
    rx          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clip_id     TEXT NOT NULL UNIQUE,
    coupon_id   TEXT NOT NULL,
    serial      TEXT NOT NULL,
    clipped_at  TEXT NOT NULL,
    anonymous_id TEXT,
    user_id     TEXT,
    received_at TEXT NOT NULL
);
",
    },
    Migration {
        version: 2,
        name: "the wallet revision in the wallet's own table",
        // Files from before kept it in the store's `counters`: moved once, so no module writes another's table.
        sqlite: "
CREATE TABLE wallet_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO wallet_counters (name, value)
    SELECT 'revision', COALESCE((SELECT value FROM counters WHERE name = 'wallet_revision'), 0);
DELETE FROM counters WHERE name = 'wallet_revision';
",
        postgres: "
CREATE TABLE wallet_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO wallet_counters (name, value) VALUES ('revision', 0);
",
    },
];

/// Creates or migrates the wallet tables.
pub(crate) fn init(db: &Database, now: &str) -> Result<(), DbError> {
    migrate(db, "wallet", &MIGRATIONS, now)
}

pub(crate) fn revision(tx: &mut dyn Sql) -> Result<i64, DbError> {
    Ok(tx.value_opt("SELECT value FROM wallet_counters WHERE name = 'revision'", &[])?.unwrap_or(0))
}

/// Bumps the revision (inside the caller's wallet transaction) and returns the new value to stamp the changed row
/// with.
pub(crate) fn bump_revision(tx: &mut dyn Sql) -> Result<i64, DbError> {
    tx.execute("UPDATE wallet_counters SET value = value + 1 WHERE name = 'revision'", &[])?;
    revision(tx)
}

pub(crate) fn meta(tx: &mut dyn Sql, name: &str) -> Result<Option<String>, DbError> {
    tx.value_opt("SELECT value FROM wallet_meta WHERE name = ?1", &args![name])
}

pub(crate) fn set_meta(tx: &mut dyn Sql, name: &str, value: &str) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO wallet_meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &args![name, value],
    )
    .map(|_| ())
}

/// The latest instant at or before `now` at which some coupon stopped being usable (its end plus grace), or 0.
/// A feed cursor carries this rather than `now`: any instant from it up to `now` sees the same coupons as
/// expired, so an unchanged feed keeps the same cursor (and body, and ETag) from one second to the next.
pub(crate) fn last_expiry_at_or_before(tx: &mut dyn Sql, now: i64) -> Result<i64, DbError> {
    let latest: Option<i64> = tx.value(
        "SELECT MAX(not_after + grace_secs) FROM wallet_coupons WHERE not_after + grace_secs <= ?1",
        &args![now],
    )?;
    Ok(latest.unwrap_or(0))
}
