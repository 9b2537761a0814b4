//! Data-subject rights: the `rights_requests` table (a deletion request is durable before anything is wiped),
//! the anonymous ids an install has used, what an export reads, and the essential lane's bookkeeping of refused
//! consent receipts.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

use super::at_rest::{get_sealed_meta, EVENT_PAYLOAD, META_USER_ID};
use super::counters::{get_meta, set_meta};
use super::meta::MetaKey;
use super::queue::Identity;
use super::{sql_err, Storage};
use crate::clock::rfc3339_ms;
use crate::error::Result;

const KIND_DELETION: &str = "deletion";
// The writer's identity keys (see queue.rs); a deletion rewrites them in the same transaction as the wipe.

/// Where a rights request is: `received` (durable, not sent yet) → `sent` (attempted) → `acknowledged` (2xx),
/// or `refused` (the backend answered 400/422: not re-sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RightsState {
    Received,
    Sent,
    Acknowledged,
    Refused,
}

impl RightsState {
    pub fn as_str(self) -> &'static str {
        match self {
            RightsState::Received => "received",
            RightsState::Sent => "sent",
            RightsState::Acknowledged => "acknowledged",
            RightsState::Refused => "refused",
        }
    }

    fn parse(text: &str) -> RightsState {
        match text {
            "sent" => RightsState::Sent,
            "acknowledged" => RightsState::Acknowledged,
            "refused" => RightsState::Refused,
            _ => RightsState::Received,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RightsRequest {
    pub id: String,
    pub kind: String,
    pub state: RightsState,
    /// The request JSON exactly as it is sent on every attempt.
    pub body: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub last_error: Option<String>,
}

/// A queued or dead-lettered message as an export shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportedEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub properties: serde_json::Value,
    pub purpose: String,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Storage {
    /// Remembers an anonymous id the install used (called when `reset()` replaces it), for deletion requests.
    pub fn remember_anonymous_id(&self, id: &str, now_ms: i64) -> Result<()> {
        let inner = self.lock();
        inner
            .conn
            .execute("INSERT OR IGNORE INTO known_anonymous_ids(id, first_ms) VALUES (?1, ?2)", params![id, now_ms])
            .map_err(sql_err)?;
        Ok(())
    }

    /// In one transaction: records a deletion request naming every anonymous id the install used (and the user
    /// id), wipes every table the personal-data registry says a deletion wipes, and installs `fresh` as the
    /// identity. The consent log is kept: it is the business's proof of what the shopper decided.
    pub fn record_deletion(
        &self,
        request_id: &str,
        current: &Identity,
        fresh: &(Identity, i64),
        now_ms: i64,
    ) -> Result<RightsRequest> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let tx = inner.conn.unchecked_transaction().map_err(sql_err)?;
        let result = (|| -> rusqlite::Result<String> {
            let mut ids = vec![current.anonymous_id.clone()];
            let mut others: Vec<String> = Vec::new();
            {
                let mut stmt =
                    tx.prepare("SELECT anonymous_id FROM contexts UNION SELECT id FROM known_anonymous_ids")?;
                for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
                    others.push(id?);
                }
            }
            others.extend(get_meta(&tx, MetaKey::AnonymousId)?);
            others.sort();
            for id in others {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let stored_user = get_sealed_meta(&tx, &inner.at_rest, MetaKey::UserId, META_USER_ID)?.unwrap_or(None);
            let user_id = current.user_id.clone().or(stored_user);
            let mut body = serde_json::json!({
                "requestId": request_id,
                "anonymousIds": ids,
                "requestedAt": rfc3339_ms(now_ms),
            });
            if let Some(user_id) = user_id {
                body["userId"] = serde_json::Value::String(user_id);
            }
            let body = body.to_string();
            tx.execute(
                "INSERT INTO rights_requests(id, kind, state, body, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![request_id, KIND_DELETION, RightsState::Received.as_str(), body, now_ms],
            )?;
            super::personal_data::wipe(&tx)?;
            let (identity, last_ms) = fresh;
            tx.execute(
                "INSERT INTO known_anonymous_ids(id, first_ms) VALUES (?1, ?2)",
                params![identity.anonymous_id, now_ms],
            )?;
            set_meta(&tx, MetaKey::AnonymousId, Some(&identity.anonymous_id))?;
            set_meta(&tx, MetaKey::UserId, None)?;
            set_meta(&tx, MetaKey::SessionId, Some(&identity.session_id))?;
            set_meta(&tx, MetaKey::SessionLastMs, Some(&last_ms.to_string()))?;
            Ok(body)
        })();
        // The context cache points at rows that may be gone either way.
        inner.current_ctx = None;
        let body = result.map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        Ok(RightsRequest {
            id: request_id.to_string(),
            kind: KIND_DELETION.into(),
            state: RightsState::Received,
            body,
            created_ms: now_ms,
            updated_ms: now_ms,
            last_error: None,
        })
    }

    /// Every rights request, oldest first.
    pub fn rights_requests(&self) -> Result<Vec<RightsRequest>> {
        self.query_rights("SELECT id, kind, state, body, created_ms, updated_ms, last_error FROM rights_requests ORDER BY created_ms, id")
    }

    /// Requests not yet acknowledged or refused, oldest first: what the essential lane still has to send.
    pub fn pending_rights(&self) -> Result<Vec<RightsRequest>> {
        self.query_rights(
            "SELECT id, kind, state, body, created_ms, updated_ms, last_error FROM rights_requests \
             WHERE state IN ('received', 'sent') ORDER BY created_ms, id",
        )
    }

    pub fn set_rights_state(&self, id: &str, state: RightsState, error: Option<&str>, now_ms: i64) -> Result<()> {
        let inner = self.lock();
        inner
            .conn
            .execute(
                "UPDATE rights_requests SET state = ?2, last_error = ?3, updated_ms = ?4 WHERE id = ?1",
                params![id, state.as_str(), error, now_ms],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Whether the essential lane has anything to send (unsynced consent records or pending rights requests).
    pub fn essential_pending(&self) -> Result<bool> {
        let inner = self.lock();
        let found: Option<i64> = inner
            .conn
            .query_row(
                "SELECT 1 WHERE EXISTS (SELECT 1 FROM consent_log WHERE synced = 0) \
                 OR EXISTS (SELECT 1 FROM rights_requests WHERE state IN ('received', 'sent')) \
                 OR EXISTS (SELECT 1 FROM wallet_outbox WHERE state IN ('pending', 'sent'))",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        Ok(found.is_some())
    }

    /// A consent record the backend refused on its own: kept in the log, never re-sent (`synced = 2`).
    pub fn mark_consent_refused(&self, seq: i64, reason: &str) -> Result<()> {
        let inner = self.lock();
        inner
            .conn
            .execute("UPDATE consent_log SET synced = 2, refused_reason = ?2 WHERE seq = ?1", params![seq, reason])
            .map_err(sql_err)?;
        Ok(())
    }

    /// Refused consent records: (record seq, reason).
    pub fn refused_consent(&self) -> Result<Vec<(i64, String)>> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare("SELECT seq, COALESCE(refused_reason, '') FROM consent_log WHERE synced = 2 ORDER BY seq")
            .map_err(sql_err)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
    }

    /// Queued messages (`dead = false`) or dead letters (`dead = true`), oldest first, for an export.
    pub fn export_events(&self, dead: bool) -> Result<Vec<ExportedEvent>> {
        let inner = self.lock();
        let sql = if dead {
            "SELECT id, kind, name, payload, purpose, ts, status, reason FROM dead_letters ORDER BY seq"
        } else {
            "SELECT id, kind, name, payload, purpose, ts, NULL, NULL FROM events ORDER BY seq"
        };
        let mut stmt = inner.conn.prepare(sql).map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| {
                let id: Vec<u8> = r.get(0)?;
                // A value that does not open is exported as null, never as what it holds.
                let payload = inner.at_rest.open(EVENT_PAYLOAD, &id, r.get_ref(3)?).ok().flatten().unwrap_or_default();
                Ok(ExportedEvent {
                    id: Uuid::from_slice(&id).unwrap_or_default().to_string(),
                    kind: if r.get::<_, i64>(1)? == 1 { "identify" } else { "track" },
                    name: r.get(2)?,
                    properties: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                    purpose: r.get(4)?,
                    timestamp: rfc3339_ms(r.get(5)?),
                    status: r.get::<_, Option<i64>>(6)?.map(|s| s as u16),
                    reason: r.get(7)?,
                })
            })
            .map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
    }

    fn query_rights(&self, sql: &str) -> Result<Vec<RightsRequest>> {
        let inner = self.lock();
        let mut stmt = inner.conn.prepare(sql).map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RightsRequest {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    state: RightsState::parse(&r.get::<_, String>(2)?),
                    body: r.get(3)?,
                    created_ms: r.get(4)?,
                    updated_ms: r.get(5)?,
                    last_error: r.get(6)?,
                })
            })
            .map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
    }
}
