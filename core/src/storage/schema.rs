//! Versioned schema. Each entry upgrades from the version before it; `PRAGMA user_version` records where a file is.
//! Never edit a released migration: append a new one (the migration test opens every earlier version).

pub const MIGRATIONS: &[&str] = &[
    // v1: the event queue, its dead letters, identity contexts, counters and small settings.
    "
    CREATE TABLE contexts (
        id INTEGER PRIMARY KEY,
        anonymous_id TEXT NOT NULL,
        user_id TEXT,
        session_id TEXT NOT NULL
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- the per-install monotonic sequence
        id BLOB NOT NULL,                        -- UUIDv7, fixed at track(); the server dedupes by it
        kind INTEGER NOT NULL,                   -- 0 track, 1 identify
        name TEXT NOT NULL,
        payload TEXT NOT NULL,                   -- properties (track) or traits (identify), JSON
        purpose TEXT NOT NULL,
        ts INTEGER NOT NULL,                     -- when it happened, ms since epoch
        ctx INTEGER NOT NULL REFERENCES contexts(id),
        size INTEGER NOT NULL,
        lease_until INTEGER,                     -- NULL: pending; else in flight until this time (ms)
        attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE dead_letters (
        seq INTEGER PRIMARY KEY,
        id BLOB NOT NULL,
        kind INTEGER NOT NULL,
        name TEXT NOT NULL,
        payload TEXT NOT NULL,
        purpose TEXT NOT NULL,
        ts INTEGER NOT NULL,
        ctx INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        status INTEGER,                          -- HTTP status that condemned it, NULL for expiry
        reason TEXT NOT NULL,
        dead_at INTEGER NOT NULL
    );
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    ",
    // v2: the consent log (append-only, hash-chained; `body` is the sealed record as JSON, what the hash covers).
    // No extra index on `events`: each one costs every insert, and the queue is bounded to scan cheaply.
    "
    CREATE TABLE consent_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        hash TEXT NOT NULL,
        synced INTEGER NOT NULL DEFAULT 0        -- 1 once the backend acknowledged the receipt
    );
    ",
    // v3: data-subject rights requests (the essential lane's other half), the anonymous ids an install used, and
    // why the backend refused a consent record (`consent_log.synced = 2`: refused on its own, never re-sent).
    "
    CREATE TABLE rights_requests (
        id TEXT PRIMARY KEY,                     -- the requestId, the same on every attempt
        kind TEXT NOT NULL,                      -- 'deletion'
        state TEXT NOT NULL,                     -- received | sent | acknowledged | refused
        body TEXT NOT NULL,                      -- the request JSON exactly as sent
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        last_error TEXT
    );
    CREATE TABLE known_anonymous_ids (id TEXT PRIMARY KEY, first_ms INTEGER NOT NULL) WITHOUT ROWID;
    ALTER TABLE consent_log ADD COLUMN refused_reason TEXT;
    ",
    // v4: the coupon wallet. Grants are stored only after their signature verified; tombstones keep the row.
    "
    CREATE TABLE wallet_coupons (
        coupon_id TEXT NOT NULL,
        serial TEXT NOT NULL,
        grant_bytes BLOB NOT NULL,               -- the issuer's signed grant, exactly as verified
        display TEXT,                            -- {title, terms} JSON, kept only when it matches the grant
        state TEXT NOT NULL,                     -- available | clipped | pending_redeem | redeemed | rejected | revoked | expired | withdrawn
        reason TEXT,
        uses_allowed INTEGER NOT NULL,
        server_uses INTEGER NOT NULL DEFAULT 0,
        clipped_ms INTEGER,
        ended_at TEXT,                           -- tombstones: when; for redeemed also where and by which device
        store_id TEXT,
        device TEXT,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (coupon_id, serial)
    ) WITHOUT ROWID;
    CREATE TABLE wallet_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,                 -- clipId / redemptionId: the idempotency key
        kind TEXT NOT NULL,                      -- clip | redemption
        coupon_id TEXT NOT NULL,
        serial TEXT NOT NULL,
        body TEXT NOT NULL,                      -- the item JSON exactly as sent on every attempt
        code TEXT,                               -- redemptions: the code the till read
        counter INTEGER,                         -- redemptions: the presentation counter it carries
        value_minor INTEGER NOT NULL DEFAULT 0,  -- redemptions: fixed discount value, for offline limits
        state TEXT NOT NULL,                     -- pending | sent | acknowledged | refused
        result TEXT,                             -- accepted | double_spend | rejected
        reason TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    -- A coupon's unanswered redemptions (its pending uses and value, the latest code) are read on every list and
    -- present: covered by this index alone.
    CREATE INDEX wallet_outbox_unanswered ON wallet_outbox(coupon_id, serial, seq, value_minor)
        WHERE kind = 'redemption' AND state IN ('pending', 'sent');
    CREATE TABLE wallet_device (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        counter INTEGER NOT NULL,                -- the last presentation counter handed out
        pkcs8 BLOB                               -- the software device key, when the platform gives none
    );
    ",
    // v5: store proximity. Sightings are never stored (they live in memory only); visits (stable ids, so a restart
    // continues or closes the visit it left open), the offers shown (caps, cooldowns, one per campaign and visit),
    // the pickups the shopper expects, and per-day counts of the events audience rules watch.
    "
    CREATE TABLE proximity_visits (
        id TEXT PRIMARY KEY,                     -- UUIDv7, fixed when the visit opened
        zone TEXT NOT NULL,
        store TEXT NOT NULL,
        entered_ms INTEGER NOT NULL,             -- wall clock
        last_seen_ms INTEGER NOT NULL,           -- the latest near reading written (refreshed every few seconds)
        dwell_ms INTEGER,                        -- when the visit became a dwell
        exited_ms INTEGER,                       -- NULL while the visit is open
        end_reason TEXT,                         -- absence | zone_removed | stale
        purpose TEXT NOT NULL DEFAULT 'location'
    );
    CREATE INDEX proximity_visits_open ON proximity_visits(zone) WHERE exited_ms IS NULL;
    CREATE TABLE proximity_offers (
        offer_id TEXT PRIMARY KEY,               -- derived from (campaign, visit): a second decision cannot add one
        campaign_id TEXT NOT NULL,
        zone TEXT,                               -- nulled when location is withdrawn (caps still hold)
        visit_id TEXT,
        coupon_id TEXT,
        at_ms INTEGER NOT NULL
    );
    CREATE TABLE proximity_pickups (
        order_id TEXT PRIMARY KEY,
        store TEXT NOT NULL,
        from_ms INTEGER NOT NULL,
        until_ms INTEGER NOT NULL,
        arrived_ms INTEGER,                      -- set once: pickup_arrived is told once per order
        visit_id TEXT,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE audience_tally (
        rule TEXT NOT NULL,                      -- the audience rule's key
        day INTEGER NOT NULL,                    -- UTC days since the epoch
        count INTEGER NOT NULL,
        purpose TEXT NOT NULL DEFAULT 'personalization',
        PRIMARY KEY (rule, day)
    ) WITHOUT ROWID;
    ",
];

pub const LATEST: i64 = MIGRATIONS.len() as i64;
