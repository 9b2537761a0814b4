//! The event queue's tables: `events`, `dead_letters` and the identity `contexts` they point to.
//! Rows are appended by the writer, leased and deleted by the uploader, evicted by the limits.

use std::borrow::Borrow;
use std::sync::OnceLock;

use rusqlite::{params, Connection, Row};
use uuid::Uuid;

use super::at_rest::{
    context_row, get_sealed_meta, set_sealed_meta, AtRest, CONTEXT_USER_ID, EVENT_PAYLOAD, META_USER_ID,
};
use super::counters::{self, get_meta, set_meta, Counter};
use super::meta::MetaKey;
use super::{sql_err, Storage, Tx};
use crate::config::StorageLimits;
use crate::error::Result;
use crate::event::{MessageKind, PendingMessage};

/// Who the events are about at a point in time. Consecutive events share one `contexts` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub anonymous_id: String,
    pub user_id: Option<String>,
    pub session_id: String,
}

/// A queued message taken out for upload, with the identity it was recorded under.
#[derive(Debug, Clone)]
pub struct LeasedMessage {
    pub seq: i64,
    pub id: Uuid,
    pub kind: MessageKind,
    pub name: String,
    pub payload: String,
    pub purpose: String,
    pub timestamp_ms: i64,
    pub identity: Identity,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub pending: u64,
    pub in_flight: u64,
    pub dead_lettered: u64,
    pub queued_bytes: u64,
}

/// What one enforcement of the storage limits removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evictions {
    pub max_events: u64,
    pub max_bytes: u64,
    pub max_age: u64,
    pub dead_letters_dropped: u64,
}

/// A dead-lettered message, for inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub id: Uuid,
    pub name: String,
    pub status: Option<u16>,
    pub reason: String,
}

impl Storage {
    /// The identity and the time of the last event, as the writer left them.
    pub fn load_identity(&self) -> Result<Option<(Identity, i64)>> {
        let inner = self.lock();
        let conn = &inner.conn;
        let read = || -> rusqlite::Result<Option<(Identity, i64)>> {
            let (Some(anonymous_id), Some(session_id)) =
                (get_meta(conn, MetaKey::AnonymousId)?, get_meta(conn, MetaKey::SessionId)?)
            else {
                return Ok(None);
            };
            // A user id that does not open (altered) is as good as none: the next identify sets it again.
            let user_id = get_sealed_meta(conn, &inner.at_rest, MetaKey::UserId, META_USER_ID)?.unwrap_or(None);
            let last = get_meta(conn, MetaKey::SessionLastMs)?.and_then(|v| v.parse().ok()).unwrap_or(0);
            Ok(Some((Identity { anonymous_id, user_id, session_id }, last)))
        };
        read().map_err(sql_err)
    }

    /// Appends messages (each with the identity it was recorded under) and saves the writer's identity state,
    /// all in one transaction. Consecutive messages usually share one identity (the writer hands the same `Arc`),
    /// so its context row is looked up once per run, not per message.
    pub fn append<I: Borrow<Identity>>(&self, messages: &[(PendingMessage, I)], state: &(Identity, i64)) -> Result<()> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let at_rest = &inner.at_rest;
        let tx = inner.conn.unchecked_transaction().map_err(sql_err)?;
        let mut current = inner.current_ctx.clone();
        let result = (|| -> rusqlite::Result<()> {
            // The identity object the last lookup was for: the same object is the same identity.
            let mut last: Option<(*const Identity, i64)> = None;
            let mut ctx_of = |identity: &Identity| -> rusqlite::Result<i64> {
                match (&last, &current) {
                    (Some((seen, id)), _) if std::ptr::eq(*seen, identity) => return Ok(*id),
                    (_, Some((known, id))) if known == identity => {
                        last = Some((identity, *id));
                        return Ok(*id);
                    }
                    _ => {}
                }
                let id = context_id(&tx, at_rest, identity)?;
                current = Some((identity.clone(), id));
                last = Some((identity, id));
                Ok(id)
            };
            let mut chunks = messages.chunks_exact(INSERT_CHUNK);
            if chunks.len() > 0 {
                let mut insert = tx.prepare_cached(insert_chunk_sql())?;
                for chunk in chunks.by_ref() {
                    for (row, (message, identity)) in chunk.iter().enumerate() {
                        bind_event(&mut insert, row * EVENT_COLUMNS, at_rest, message, ctx_of(identity.borrow())?)?;
                    }
                    insert.raw_execute()?;
                }
            }
            let rest = chunks.remainder();
            if !rest.is_empty() {
                let mut insert = tx.prepare_cached(INSERT_EVENT)?;
                for (message, identity) in rest {
                    insert_event(&mut insert, at_rest, message, ctx_of(identity.borrow())?)?;
                }
            }
            let (identity, last_ms) = state;
            set_meta(&tx, MetaKey::AnonymousId, Some(&identity.anonymous_id))?;
            set_sealed_meta(&tx, at_rest, MetaKey::UserId, META_USER_ID, identity.user_id.as_deref())?;
            set_meta(&tx, MetaKey::SessionId, Some(&identity.session_id))?;
            set_meta(&tx, MetaKey::SessionLastMs, Some(&last_ms.to_string()))?;
            counters::add(&tx, &[(Counter::Tracked, messages.len() as u64)])?;
            Ok(())
        })();
        match result.and_then(|_| tx.commit()) {
            Ok(()) => {
                inner.current_ctx = current;
                Ok(())
            }
            Err(e) => {
                inner.current_ctx = None;
                Err(sql_err(e))
            }
        }
    }

    /// Leases the oldest available messages, in sequence order, while `take` accepts them (it sees each message
    /// and decides whether it still fits the batch). Leased rows are in flight until `lease_until_ms`.
    pub fn lease(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        max_events: usize,
        take: impl FnMut(&LeasedMessage) -> bool,
    ) -> Result<Vec<LeasedMessage>> {
        self.lease_excluding(now_ms, lease_until_ms, max_events, &[], take)
    }

    /// [`Self::lease`], passing over messages of the `excluded` purposes (not allowed now; they stay queued).
    pub fn lease_excluding(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        max_events: usize,
        excluded: &[String],
        mut take: impl FnMut(&LeasedMessage) -> bool,
    ) -> Result<Vec<LeasedMessage>> {
        let excluded = serde_json::to_string(excluded).map_err(crate::error::Error::storage)?;
        let inner = self.lock();
        let tx = inner.conn.unchecked_transaction().map_err(sql_err)?;
        let mut leased = Vec::new();
        let mut unreadable = Vec::new();
        {
            let mut select = tx
                .prepare_cached(
                    "SELECT e.seq, e.id, e.kind, e.name, e.payload, e.purpose, e.ts,
                            c.anonymous_id, c.user_id, c.session_id
                     FROM events e JOIN contexts c ON c.id = e.ctx
                     WHERE (e.lease_until IS NULL OR e.lease_until <= ?1)
                       AND e.purpose NOT IN (SELECT value FROM json_each(?3))
                     ORDER BY e.seq LIMIT ?2",
                )
                .map_err(sql_err)?;
            let mut rows = select.query(params![now_ms, max_events as i64, excluded]).map_err(sql_err)?;
            while let Some(row) = rows.next().map_err(sql_err)? {
                let message = match leased_from_row(row, &inner.at_rest).map_err(sql_err)? {
                    Ok(message) => message,
                    Err(seq) => {
                        unreadable.push(seq);
                        continue;
                    }
                };
                if !take(&message) {
                    break;
                }
                leased.push(message);
            }
            let mut mark = tx
                .prepare_cached("UPDATE events SET lease_until = ?1, attempts = attempts + 1 WHERE seq = ?2")
                .map_err(sql_err)?;
            for message in &leased {
                mark.execute(params![lease_until_ms, message.seq]).map_err(sql_err)?;
            }
        }
        if !unreadable.is_empty() {
            // Altered on disk, or moved from another row: never sent, never shown; removed and counted.
            tracing::warn!(rows = unreadable.len(), "queued events that do not decrypt were removed");
            delete_seqs(&tx, &unreadable).map_err(sql_err)?;
            counters::add(&tx, &[(Counter::UnreadableValues, unreadable.len() as u64)]).map_err(sql_err)?;
        }
        tx.commit().map_err(sql_err)?;
        Ok(leased)
    }

    /// Returns leased rows to pending (the upload failed and will be retried).
    pub fn release(&self, seqs: &[i64]) -> Result<()> {
        self.for_each_seq("UPDATE events SET lease_until = NULL WHERE seq = ?1", seqs).map(|_| ())
    }

    /// Returns every lease to pending; at start-up no upload of this instance can be in flight.
    pub fn release_all(&self) -> Result<()> {
        let inner = self.lock();
        inner
            .conn
            .execute("UPDATE events SET lease_until = NULL WHERE lease_until IS NOT NULL", [])
            .map_err(sql_err)?;
        Ok(())
    }

    /// Deletes exactly these delivered rows and counts them; returns how many were still there.
    pub fn delete_delivered(&self, seqs: &[i64], duplicates_reported: u64) -> Result<u64> {
        let inner = self.lock();
        let tx = inner.conn.unchecked_transaction().map_err(sql_err)?;
        let deleted = delete_seqs(&tx, seqs).map_err(sql_err)?;
        counters::add(&tx, &[(Counter::Delivered, deleted), (Counter::DuplicatesReported, duplicates_reported)])
            .map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        Ok(deleted)
    }

    /// Moves rows to the dead-letter table with the server's reason; never a silent drop.
    pub fn dead_letter(&self, seqs: &[i64], status: Option<u16>, reason: &str, now_ms: i64) -> Result<u64> {
        let inner = self.lock();
        let tx = inner.conn.unchecked_transaction().map_err(sql_err)?;
        let mut moved = 0;
        {
            let mut copy = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO dead_letters(seq, id, kind, name, payload, purpose, ts, ctx, attempts, status, reason, dead_at)
                     SELECT seq, id, kind, name, payload, purpose, ts, ctx, attempts, ?2, ?3, ?4 FROM events WHERE seq = ?1",
                )
                .map_err(sql_err)?;
            for seq in seqs {
                moved += copy.execute(params![seq, status, reason, now_ms]).map_err(sql_err)? as u64;
            }
        }
        delete_seqs(&tx, seqs).map_err(sql_err)?;
        counters::add(&tx, &[(Counter::DeadLettered, moved)]).map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        Ok(moved)
    }

    /// Enforces count, byte and age bounds, oldest first, and counts every eviction by reason.
    pub fn enforce_limits(&self, limits: &StorageLimits, now_ms: i64) -> Result<Evictions> {
        let inner = self.lock();
        let tx = inner.conn.unchecked_transaction().map_err(sql_err)?;
        let evictions = enforce(&tx, limits, now_ms).map_err(sql_err)?;
        counters::add(
            &tx,
            &[
                (Counter::EvictedMaxEvents, evictions.max_events),
                (Counter::EvictedMaxBytes, evictions.max_bytes),
                (Counter::EvictedMaxAge, evictions.max_age),
                (Counter::DeadLettered, evictions.max_age),
                (Counter::DeadLettersDropped, evictions.dead_letters_dropped),
            ],
        )
        .map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        if evictions != Evictions::default() {
            tracing::warn!(?evictions, "storage limits evicted events");
        }
        Ok(evictions)
    }

    pub fn queue_counts(&self, now_ms: i64) -> Result<QueueCounts> {
        let inner = self.lock();
        let read = || -> rusqlite::Result<QueueCounts> {
            let (pending, in_flight, queued_bytes) = inner.conn.query_row(
                "SELECT COALESCE(SUM(lease_until IS NULL OR lease_until <= ?1), 0),
                        COALESCE(SUM(lease_until > ?1), 0),
                        COALESCE(SUM(size), 0) FROM events",
                params![now_ms],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
            )?;
            let dead: i64 = inner.conn.query_row("SELECT COUNT(*) FROM dead_letters", [], |r| r.get(0))?;
            Ok(QueueCounts {
                pending: pending as u64,
                in_flight: in_flight as u64,
                dead_lettered: dead as u64,
                queued_bytes: queued_bytes as u64,
            })
        };
        read().map_err(sql_err)
    }

    /// Number of rows in the queue, leased or not.
    pub fn queued(&self) -> Result<u64> {
        let inner = self.lock();
        inner
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(sql_err)
    }

    /// Whether any event is queued (cheaper than counting them: the sync loop asks after every wake-up).
    pub fn has_queued(&self) -> Result<bool> {
        let inner = self.lock();
        inner.conn.query_row("SELECT EXISTS (SELECT 1 FROM events)", [], |r| r.get(0)).map_err(sql_err)
    }

    /// The newest dead letters first.
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare_cached("SELECT id, name, status, reason FROM dead_letters ORDER BY seq DESC LIMIT ?1")
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok(DeadLetter {
                    id: uuid_from(r.get::<_, Vec<u8>>(0)?),
                    name: r.get(1)?,
                    status: r.get::<_, Option<i64>>(2)?.map(|s| s as u16),
                    reason: r.get(3)?,
                })
            })
            .map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
    }

    /// Removes identity contexts no queued or dead-lettered row refers to.
    pub fn prune_contexts(&self) -> Result<()> {
        let mut inner = self.lock();
        inner.current_ctx = None;
        inner
            .conn
            .execute(
                "DELETE FROM contexts WHERE id NOT IN (SELECT ctx FROM events UNION SELECT ctx FROM dead_letters)",
                [],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    fn for_each_seq(&self, sql: &str, seqs: &[i64]) -> Result<u64> {
        let inner = self.lock();
        let tx = inner.conn.unchecked_transaction().map_err(sql_err)?;
        let mut changed = 0;
        {
            let mut stmt = tx.prepare_cached(sql).map_err(sql_err)?;
            for seq in seqs {
                changed += stmt.execute(params![seq]).map_err(sql_err)? as u64;
            }
        }
        tx.commit().map_err(sql_err)?;
        Ok(changed)
    }
}

impl Tx<'_> {
    /// Appends one message inside another domain's transaction (a visit and its event commit together, so a
    /// process death can neither keep the visit without its event nor send the event of a visit it forgot).
    pub fn append_event(&self, message: &PendingMessage, identity: &Identity) -> Result<()> {
        let ctx = context_id(self.conn, self.at_rest, identity).map_err(sql_err)?;
        let mut insert = self.conn.prepare_cached(INSERT_EVENT).map_err(sql_err)?;
        insert_event(&mut insert, self.at_rest, message, ctx).map_err(sql_err)?;
        counters::add(self.conn, &[(Counter::Tracked, 1)]).map_err(sql_err)
    }
}

const INSERT_EVENT: &str =
    "INSERT INTO events(id, kind, name, payload, purpose, ts, ctx, size) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)";
const EVENT_COLUMNS: usize = 8;
/// Rows per multi-row INSERT in a group commit. `events` is AUTOINCREMENT: SQLite reads and rewrites
/// `sqlite_sequence` once per INSERT statement, not per row, so one statement per 32 rows pays that (and a
/// statement's step and reset) once instead of 32 times. 256 parameters stay under SQLite's old 999 limit.
const INSERT_CHUNK: usize = 32;

fn insert_chunk_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let row = format!("({})", ["?"; EVENT_COLUMNS].join(","));
        format!(
            "INSERT INTO events(id, kind, name, payload, purpose, ts, ctx, size) VALUES {}",
            vec![row; INSERT_CHUNK].join(",")
        )
    })
}

/// One queue row, through a statement the caller prepared once (the writer's group commit runs it per message).
fn insert_event(
    insert: &mut rusqlite::CachedStatement<'_>,
    at_rest: &AtRest,
    message: &PendingMessage,
    ctx: i64,
) -> rusqlite::Result<()> {
    bind_event(insert, 0, at_rest, message, ctx)?;
    insert.raw_execute()?;
    Ok(())
}

/// Binds one row's values after the first `offset` parameters (in [`INSERT_EVENT`]'s column order).
fn bind_event(
    insert: &mut rusqlite::CachedStatement<'_>,
    offset: usize,
    at_rest: &AtRest,
    message: &PendingMessage,
    ctx: i64,
) -> rusqlite::Result<()> {
    let id = message.id.as_bytes().as_slice();
    insert.raw_bind_parameter(offset + 1, id)?;
    insert.raw_bind_parameter(offset + 2, message.kind as i64)?;
    insert.raw_bind_parameter(offset + 3, message.name())?;
    // Properties and traits sealed, bound to the event's id; the size stays the plaintext's (queue limits).
    insert.raw_bind_parameter(offset + 4, at_rest.seal(EVENT_PAYLOAD, id, message.payload())?)?;
    insert.raw_bind_parameter(offset + 5, message.purpose())?;
    insert.raw_bind_parameter(offset + 6, message.timestamp_ms)?;
    insert.raw_bind_parameter(offset + 7, ctx)?;
    insert.raw_bind_parameter(offset + 8, message.size() as i64)
}

fn context_id(conn: &Connection, at_rest: &AtRest, identity: &Identity) -> rusqlite::Result<i64> {
    // Sealed user ids differ byte for byte each time, so the match on the user id is made on the opened values
    // (an install has a handful of contexts per session at most).
    let row = context_row(&identity.anonymous_id, &identity.session_id);
    let mut candidates =
        conn.prepare_cached("SELECT id, user_id FROM contexts WHERE anonymous_id = ?1 AND session_id = ?2")?;
    let mut rows = candidates.query(params![identity.anonymous_id, identity.session_id])?;
    while let Some(r) = rows.next()? {
        if at_rest.open(CONTEXT_USER_ID, &row, r.get_ref(1)?).ok().as_ref() == Some(&identity.user_id) {
            return r.get(0);
        }
    }
    let user_id = identity.user_id.as_deref().map(|u| at_rest.seal(CONTEXT_USER_ID, &row, u)).transpose()?;
    conn.prepare_cached("INSERT INTO contexts(anonymous_id, user_id, session_id) VALUES (?1, ?2, ?3)")?
        .execute(params![identity.anonymous_id, user_id, identity.session_id])?;
    Ok(conn.last_insert_rowid())
}

fn delete_seqs(conn: &Connection, seqs: &[i64]) -> rusqlite::Result<u64> {
    let mut stmt = conn.prepare_cached("DELETE FROM events WHERE seq = ?1")?;
    let mut deleted = 0;
    for seq in seqs {
        deleted += stmt.execute(params![seq])? as u64;
    }
    Ok(deleted)
}

fn enforce(conn: &Connection, limits: &StorageLimits, now_ms: i64) -> rusqlite::Result<Evictions> {
    let mut ev = Evictions::default();
    let cutoff = now_ms - limits.max_age.as_millis() as i64;
    ev.max_age = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO dead_letters(seq, id, kind, name, payload, purpose, ts, ctx, attempts, status, reason, dead_at)
             SELECT seq, id, kind, name, payload, purpose, ts, ctx, attempts, NULL, 'expired: not delivered within max_age', ?2
             FROM events WHERE ts < ?1",
        )?
        .execute(params![cutoff, now_ms])? as u64;
    if ev.max_age > 0 {
        conn.execute("DELETE FROM events WHERE ts < ?1", params![cutoff])?;
    }
    let (count, bytes): (i64, i64) =
        conn.query_row("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM events", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let excess_events = count - clamp_i64(limits.max_events);
    if excess_events > 0 {
        ev.max_events = conn.execute(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?1)",
            params![excess_events],
        )? as u64;
    }
    let bytes_left = if ev.max_events > 0 {
        conn.query_row("SELECT COALESCE(SUM(size), 0) FROM events", [], |r| r.get::<_, i64>(0))?
    } else {
        bytes
    };
    let mut excess_bytes = bytes_left - clamp_i64(limits.max_bytes);
    if excess_bytes > 0 {
        let mut last_seq = None;
        let mut stmt = conn.prepare_cached("SELECT seq, size FROM events ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            last_seq = Some(row.get::<_, i64>(0)?);
            excess_bytes -= row.get::<_, i64>(1)?;
            if excess_bytes <= 0 {
                break;
            }
        }
        drop(rows);
        if let Some(seq) = last_seq {
            ev.max_bytes = conn.execute("DELETE FROM events WHERE seq <= ?1", params![seq])? as u64;
        }
    }
    let dead: i64 = conn.query_row("SELECT COUNT(*) FROM dead_letters", [], |r| r.get(0))?;
    let excess_dead = dead - clamp_i64(limits.max_dead_letters);
    if excess_dead > 0 {
        ev.dead_letters_dropped = conn.execute(
            "DELETE FROM dead_letters WHERE seq IN (SELECT seq FROM dead_letters ORDER BY seq LIMIT ?1)",
            params![excess_dead],
        )? as u64;
    }
    Ok(ev)
}

fn clamp_i64(limit: u64) -> i64 {
    limit.min(i64::MAX as u64) as i64
}

/// A leased row with its payload and user id opened; `Err(seq)` for a row whose sealed values do not open.
fn leased_from_row(r: &Row<'_>, at_rest: &AtRest) -> rusqlite::Result<std::result::Result<LeasedMessage, i64>> {
    let seq: i64 = r.get(0)?;
    let id: Vec<u8> = r.get(1)?;
    let (anonymous_id, session_id): (String, String) = (r.get(7)?, r.get(9)?);
    let payload = at_rest.open(EVENT_PAYLOAD, &id, r.get_ref(4)?);
    let user_id = at_rest.open(CONTEXT_USER_ID, &context_row(&anonymous_id, &session_id), r.get_ref(8)?);
    let (Ok(Some(payload)), Ok(user_id)) = (payload, user_id) else { return Ok(Err(seq)) };
    Ok(Ok(LeasedMessage {
        seq,
        id: uuid_from(id),
        kind: MessageKind::from_i64(r.get(2)?),
        name: r.get(3)?,
        payload,
        purpose: r.get(5)?,
        timestamp_ms: r.get(6)?,
        identity: Identity { anonymous_id, user_id, session_id },
    }))
}

fn uuid_from(bytes: Vec<u8>) -> Uuid {
    Uuid::from_slice(&bytes).unwrap_or(Uuid::nil())
}
