//! Storage's side of encryption at rest ([`crate::crypto`]): the data key this database is sealed with — loaded at
//! open through the platform's [`KeyProvider`], made for a new file, started over (counted) when the platform's
//! key is lost — and the sealing and opening of each personal column. What stays in clear is what the queue needs
//! to work (ids, timestamps, purposes, sizes): `docs/security.md` lists both.

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, Connection, OptionalExtension as _};
use serde::{Deserialize, Serialize};

use super::counters::{self, get_meta, set_meta, Counter};
use super::meta::MetaKey;
use super::sql_err;
use crate::crypto::{Binding, DataKey, Encryption, FileKeyProvider, KeyError, KeyProvider, Opened, KEY_FILE};
use crate::error::{Error, Result};

/// The sealed columns, by the name each value is bound to.
pub(crate) const EVENT_PAYLOAD: &str = "event.payload";
pub(crate) const CONTEXT_USER_ID: &str = "context.user_id";
pub(crate) const META_USER_ID: &str = "meta.user_id";
pub(crate) const WALLET_GRANT: &str = "wallet.grant";
pub(crate) const WALLET_DISPLAY: &str = "wallet.display";
pub(crate) const OUTBOX_BODY: &str = "wallet.outbox.body";
pub(crate) const OUTBOX_CODE: &str = "wallet.outbox.code";
pub(crate) const DEVICE_KEY: &str = "wallet.device_key";
pub(crate) const VISIT_ZONE: &str = "visit.zone";
pub(crate) const VISIT_STORE: &str = "visit.store";
pub(crate) const OFFER_ZONE: &str = "offer.zone";
pub(crate) const PICKUP_STORE: &str = "pickup.store";

/// Rows a lost key makes unreadable, removed when it is replaced. The queue's tables go whole: a row without its
/// payload or its identity is worth nothing to the backend.
const SEALED_TABLES: &[&str] = &[
    "events",
    "dead_letters",
    "contexts",
    "wallet_coupons",
    "wallet_outbox",
    "proximity_visits",
    "proximity_offers",
    "proximity_pickups",
];

/// The data key as `meta` keeps it: its id and the bytes the platform's key wrapped.
#[derive(Serialize, Deserialize)]
struct StoredKey {
    id: u32,
    wrapped: String,
    provider: String,
}

/// What opening the database did about the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOutcome {
    Off,
    Loaded,
    /// A new database (or one from before encryption, whose values were sealed now).
    Created,
    /// The platform's key was lost: the sealed data started over under a new key.
    Reset,
}

/// The data key in force, if encryption is on.
pub(crate) struct AtRest {
    key: Option<DataKey>,
    /// Who wraps the data key: asked again for each new key (rotation).
    provider: Option<Arc<dyn KeyProvider>>,
}

impl AtRest {
    pub fn off() -> AtRest {
        AtRest { key: None, provider: None }
    }

    /// The database's data key through `encryption`'s provider; see [`KeyOutcome`]. A key that is only
    /// unavailable for now (a locked device) fails the open as retryable and changes nothing.
    pub fn load(conn: &Connection, dir: &Path, encryption: &Encryption) -> Result<(AtRest, KeyOutcome)> {
        let provider: Arc<dyn KeyProvider> = match encryption {
            Encryption::Off => return Ok((AtRest::off(), KeyOutcome::Off)),
            Encryption::KeyFile => Arc::new(FileKeyProvider::in_dir(dir)),
            Encryption::Provider(provider) => provider.clone(),
        };
        let stored = get_meta(conn, MetaKey::DataKey).map_err(sql_err)?;
        let Some(stored) = stored.and_then(|json| serde_json::from_str::<StoredKey>(&json).ok()) else {
            let at_rest = AtRest { key: Some(new_key(conn, provider.as_ref(), 1)?), provider: Some(provider) };
            at_rest.seal_plaintext(conn)?;
            return Ok((at_rest, KeyOutcome::Created));
        };
        let file = FileKeyProvider::in_dir(dir);
        let moving_to_store = stored.provider == file.describe() && provider.describe() != file.describe();
        if stored.provider != provider.describe() && !moving_to_store {
            // Another key store sealed this file (a tool opening an app's database with the default key file,
            // say): refuse rather than take the other store's key for lost and start the data over.
            return Err(Error::Config(format!(
                "this database is encrypted with a key from '{}', not '{}'",
                stored.provider,
                provider.describe()
            )));
        }
        // An app that shipped with the default key file and now passes its platform's key store: the data key is
        // unwrapped with the file once, then wrapped by the store (below), and the file is deleted.
        let unwrapper: &dyn KeyProvider = if moving_to_store { &file } else { provider.as_ref() };
        let unwrapped = B64
            .decode(&stored.wrapped)
            .map_err(|_| KeyError::Lost("the stored data key is damaged".into()))
            .and_then(|wrapped| unwrapper.unwrap(&wrapped));
        let lost = match unwrapped {
            Ok(bytes) => match DataKey::from_bytes(stored.id, &bytes) {
                Some(key) if moving_to_store => {
                    rewrap(conn, provider.as_ref(), stored.id, &bytes)?;
                    // Only once the store's wrapping is committed: until then the file still opens the data.
                    let _ = std::fs::remove_file(dir.join(KEY_FILE));
                    return Ok((AtRest { key: Some(key), provider: Some(provider) }, KeyOutcome::Loaded));
                }
                Some(key) => return Ok((AtRest { key: Some(key), provider: Some(provider) }, KeyOutcome::Loaded)),
                None => "the unwrapped data key has the wrong length".to_string(),
            },
            Err(KeyError::Unavailable(why)) => {
                return Err(Error::Storage {
                    message: format!("the encryption key is unavailable: {why}"),
                    retryable: true,
                })
            }
            Err(KeyError::Lost(why)) => why,
        };
        // Says why, never what was lost (no personal data in logs).
        tracing::warn!(reason = %lost, provider = %provider.describe(), "the data key is lost; encrypted data starts over");
        let tx = conn.unchecked_transaction().map_err(sql_err)?;
        for table in SEALED_TABLES {
            tx.execute(&format!("DELETE FROM {table}"), []).map_err(sql_err)?;
        }
        set_meta(&tx, MetaKey::UserId, None).map_err(sql_err)?;
        // The device key goes too (a new one is made on the next presentation); its counter stays, so a code is
        // never repeated. The wallet's feed position goes with the coupons, so the next pull lists them again.
        tx.execute("UPDATE wallet_device SET pkcs8 = NULL", []).map_err(sql_err)?;
        set_meta(&tx, MetaKey::WalletFeed, None).map_err(sql_err)?;
        let key = new_key(&tx, provider.as_ref(), stored.id.wrapping_add(1).max(1))?;
        counters::add(&tx, &[(Counter::KeyResets, 1)]).map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        Ok((AtRest { key: Some(key), provider: Some(provider) }, KeyOutcome::Reset))
    }

    /// Replaces the data key: a new one, wrapped by the provider's key as it is now (so rotating the platform's
    /// key is rotating this one too), every sealed value opened with the old key and sealed with the new one, in
    /// one transaction. A value that does not open under the old key is removed and counted. Off: nothing to do.
    pub fn rotate(&self, conn: &Connection) -> Result<Option<AtRest>> {
        let (Some(old), Some(provider)) = (&self.key, &self.provider) else { return Ok(None) };
        let tx = conn.unchecked_transaction().map_err(sql_err)?;
        let new = AtRest {
            key: Some(new_key(&tx, provider.as_ref(), old.id().wrapping_add(1).max(1))?),
            provider: Some(provider.clone()),
        };
        let unreadable = reseal(&tx, self, &new).map_err(sql_err)?;
        counters::add(&tx, &[(Counter::UnreadableValues, unreadable)]).map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        Ok(Some(new))
    }

    /// The id of the data key in force (`None`: encryption off).
    pub fn key_id(&self) -> Option<u32> {
        self.key.as_ref().map(DataKey::id)
    }

    /// `plain` as stored: sealed for (`what`, `row`), or as text when encryption is off.
    pub fn seal(&self, what: &'static str, row: &[u8], plain: &str) -> rusqlite::Result<Value> {
        match &self.key {
            None => Ok(Value::Text(plain.to_owned())),
            Some(key) => key
                .seal(Binding::new(what, row), plain.as_bytes())
                .map(Value::Blob)
                .ok_or_else(|| rusqlite::Error::ToSqlConversionFailure("no randomness for an encryption nonce".into())),
        }
    }

    /// Bytes as stored: sealed for (`what`, `row`), or as they are when encryption is off.
    pub fn seal_bytes(&self, what: &'static str, row: &[u8], plain: &[u8]) -> rusqlite::Result<Value> {
        match &self.key {
            None => Ok(Value::Blob(plain.to_vec())),
            Some(key) => key
                .seal(Binding::new(what, row), plain)
                .map(Value::Blob)
                .ok_or_else(|| rusqlite::Error::ToSqlConversionFailure("no randomness for an encryption nonce".into())),
        }
    }

    /// Stored bytes back: opened when encryption is on (every blob is sealed then: a database gets its key before
    /// anything else, and values written before it are sealed when it is made), as they are when it is off.
    pub fn open_bytes(
        &self,
        what: &'static str,
        row: &[u8],
        stored: ValueRef<'_>,
    ) -> std::result::Result<Option<Vec<u8>>, Opened> {
        match (stored, &self.key) {
            (ValueRef::Null, _) => Ok(None),
            (ValueRef::Blob(sealed), Some(key)) => key.open(Binding::new(what, row), sealed).map(Some),
            (ValueRef::Blob(plain), None) => Ok(Some(plain.to_vec())),
            (_, _) => Err(Opened::Tampered),
        }
    }

    /// A stored value back as text: a sealed blob opened, or text as it is (written before encryption, or with it
    /// off). `Err` for a value that does not open: never shown, the caller removes its row and counts it.
    pub fn open(
        &self,
        what: &'static str,
        row: &[u8],
        stored: ValueRef<'_>,
    ) -> std::result::Result<Option<String>, Opened> {
        match (stored, &self.key) {
            (ValueRef::Null, _) => Ok(None),
            (ValueRef::Text(text), _) => Ok(Some(String::from_utf8_lossy(text).into_owned())),
            (ValueRef::Blob(sealed), Some(key)) => {
                let plain = key.open(Binding::new(what, row), sealed)?;
                String::from_utf8(plain).map(Some).map_err(|_| Opened::Tampered)
            }
            (_, _) => Err(Opened::Tampered),
        }
    }

    /// Seals what a file from before encryption (or written with it off) holds in clear, once: the same pass as a
    /// rotation, from "no key" (values read as they are) to this key.
    fn seal_plaintext(&self, conn: &Connection) -> Result<()> {
        let tx = conn.unchecked_transaction().map_err(sql_err)?;
        reseal(&tx, &AtRest::off(), self).map_err(sql_err)?;
        tx.commit().map_err(sql_err)
    }
}

/// What a coupon's grant and display are bound to: its coupon id and serial.
pub(crate) fn coupon_row(coupon_id: &str, serial: &str) -> Vec<u8> {
    context_row(coupon_id, serial)
}

/// What a context's user id is bound to: its anonymous id and session.
pub(crate) fn context_row(anonymous_id: &str, session_id: &str) -> Vec<u8> {
    let mut row = Vec::with_capacity(anonymous_id.len() + session_id.len() + 1);
    row.extend_from_slice(anonymous_id.as_bytes());
    row.push(0);
    row.extend_from_slice(session_id.as_bytes());
    row
}

/// Writes a sealed `meta` value (a blob in the text column; `None` deletes it).
pub(crate) fn set_sealed_meta(
    conn: &Connection,
    at_rest: &AtRest,
    key: MetaKey,
    what: &'static str,
    value: Option<&str>,
) -> rusqlite::Result<()> {
    match value {
        None => set_meta(conn, key, None),
        Some(plain) => {
            let sealed = at_rest.seal(what, b"", plain)?;
            conn.prepare_cached("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)")?
                .execute(params![key.as_str(), sealed])?;
            Ok(())
        }
    }
}

/// Reads a sealed `meta` value; one that does not open reads as absent (and is counted by the caller's reset).
pub(crate) fn get_sealed_meta(
    conn: &Connection,
    at_rest: &AtRest,
    key: MetaKey,
    what: &'static str,
) -> rusqlite::Result<std::result::Result<Option<String>, Opened>> {
    let opened = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row(params![key.as_str()], |r| Ok(at_rest.open(what, b"", r.get_ref(0)?)))
        .optional()?;
    Ok(opened.unwrap_or(Ok(None)))
}

/// Stores the data key `bytes` (of `id`) wrapped by `provider` in place of how it was wrapped before.
fn rewrap(conn: &Connection, provider: &dyn KeyProvider, id: u32, bytes: &[u8]) -> Result<()> {
    let wrapped = provider.wrap(bytes).map_err(|e| Error::Storage {
        message: format!("cannot wrap the encryption key with {}: {e}", provider.describe()),
        retryable: true,
    })?;
    let stored = StoredKey { id, wrapped: B64.encode(wrapped), provider: provider.describe() };
    let json = serde_json::to_string(&stored).map_err(Error::storage)?;
    set_meta(conn, MetaKey::DataKey, Some(&json)).map_err(sql_err)
}

fn new_key(conn: &Connection, provider: &dyn KeyProvider, id: u32) -> Result<DataKey> {
    let unavailable =
        |why: String| Error::Storage { message: format!("cannot make the encryption key: {why}"), retryable: true };
    let bytes = DataKey::generate_bytes().ok_or_else(|| unavailable("no randomness".into()))?;
    let wrapped = provider.wrap(&bytes).map_err(|e| unavailable(e.to_string()))?;
    let stored = StoredKey { id, wrapped: B64.encode(wrapped), provider: provider.describe() };
    let json = serde_json::to_string(&stored).map_err(Error::storage)?;
    set_meta(conn, MetaKey::DataKey, Some(&json)).map_err(sql_err)?;
    DataKey::from_bytes(id, &bytes).ok_or_else(|| unavailable("bad key length".into()))
}

/// Every sealed column: its table, the columns that identify a row, the sealed column, what it is bound to, and
/// whether it holds bytes (else text). The binding row is built from the identifying columns by [`binding_row`].
const SEALED_COLUMNS: &[(&str, &str, &str, &str, bool)] = &[
    ("events", "seq, id", "payload", EVENT_PAYLOAD, false),
    ("dead_letters", "seq, id", "payload", EVENT_PAYLOAD, false),
    ("contexts", "id, anonymous_id, session_id", "user_id", CONTEXT_USER_ID, false),
    ("wallet_coupons", "coupon_id, serial", "grant_bytes", WALLET_GRANT, true),
    ("wallet_coupons", "coupon_id, serial", "display", WALLET_DISPLAY, false),
    ("wallet_outbox", "seq, id", "body", OUTBOX_BODY, false),
    ("wallet_outbox", "seq, id", "code", OUTBOX_CODE, false),
    ("wallet_device", "id", "pkcs8", DEVICE_KEY, true),
    ("proximity_visits", "id", "zone", VISIT_ZONE, false),
    ("proximity_visits", "id", "store", VISIT_STORE, false),
    ("proximity_offers", "offer_id", "zone", OFFER_ZONE, false),
    ("proximity_pickups", "order_id", "store", PICKUP_STORE, false),
];

/// What a row's sealed value is bound to, from its identifying columns (as [`SEALED_COLUMNS`] lists them).
fn binding_row(table: &str, keys: &[rusqlite::types::Value]) -> Vec<u8> {
    let text = |v: &rusqlite::types::Value| match v {
        rusqlite::types::Value::Text(t) => t.as_bytes().to_vec(),
        rusqlite::types::Value::Blob(b) => b.clone(),
        rusqlite::types::Value::Integer(i) => i.to_string().into_bytes(),
        _ => Vec::new(),
    };
    match table {
        "events" | "dead_letters" | "wallet_outbox" => text(&keys[1]),
        "contexts" => context_row(&String::from_utf8_lossy(&text(&keys[1])), &String::from_utf8_lossy(&text(&keys[2]))),
        "wallet_coupons" => {
            coupon_row(&String::from_utf8_lossy(&text(&keys[0])), &String::from_utf8_lossy(&text(&keys[1])))
        }
        _ => text(&keys[0]),
    }
}

/// Opens every sealed value with `from` and seals it with `to`; the number of values that did not open (their
/// rows are deleted).
fn reseal(tx: &Connection, from: &AtRest, to: &AtRest) -> rusqlite::Result<u64> {
    use rusqlite::types::Value as V;
    let mut unreadable = 0;
    for &(table, keys, column, what, bytes) in SEALED_COLUMNS {
        let key_names: Vec<&str> = keys.split(", ").collect();
        let rows: Vec<(Vec<V>, V)> = tx
            .prepare(&format!("SELECT {keys}, {column} FROM {table} WHERE {column} IS NOT NULL"))?
            .query_map([], |r| {
                let ids = (0..key_names.len()).map(|i| r.get(i)).collect::<rusqlite::Result<Vec<V>>>()?;
                Ok((ids, r.get(key_names.len())?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        // The row's identifying columns as placeholders from `?first` on.
        let filter = |first: usize| {
            key_names.iter().enumerate().map(|(i, k)| format!("{k} = ?{}", i + first)).collect::<Vec<_>>().join(" AND ")
        };
        for (ids, stored) in rows {
            let row = binding_row(table, &ids);
            let resealed = if bytes {
                from.open_bytes(what, &row, (&stored).into()).map(|v| v.map(|b| to.seal_bytes(what, &row, &b)))
            } else {
                from.open(what, &row, (&stored).into()).map(|v| v.map(|t| to.seal(what, &row, &t)))
            };
            match resealed {
                Ok(Some(value)) => {
                    let args = std::iter::once(value?).chain(ids);
                    let sql = format!("UPDATE {table} SET {column} = ?1 WHERE {}", filter(2));
                    tx.execute(&sql, rusqlite::params_from_iter(args))?;
                }
                Ok(None) => {}
                Err(_) => {
                    unreadable += 1;
                    // Not carried to the new key: the row goes (the device's row keeps its counter, without a key).
                    let sql = if table == "wallet_device" {
                        format!("UPDATE {table} SET {column} = NULL WHERE {}", filter(1))
                    } else {
                        format!("DELETE FROM {table} WHERE {}", filter(1))
                    };
                    tx.execute(&sql, rusqlite::params_from_iter(ids))?;
                }
            }
        }
    }
    if let Ok(Some(user_id)) = get_sealed_meta(tx, from, MetaKey::UserId, META_USER_ID)? {
        set_sealed_meta(tx, to, MetaKey::UserId, META_USER_ID, Some(&user_id))?;
    }
    Ok(unreadable)
}
