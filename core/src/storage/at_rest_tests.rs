use std::sync::Arc;

use rusqlite::Connection;
use uuid::Uuid;

use super::*;
use crate::crypto::{FileKeyProvider, KeyError, KeyProvider, KEY_FILE};
use crate::event::{MessageKind, PendingMessage};

const SECRET_VALUE: &str = "4901234567894-secret-sku";
const USER: &str = "shopper-8472@example.com";
const TRAIT: &str = "Hanako Yamada";

fn identity(user: Option<&str>) -> Identity {
    Identity { anonymous_id: "anon-1".into(), user_id: user.map(str::to_owned), session_id: "s1".into() }
}

fn event(kind: MessageKind, name: &str, payload: &str) -> PendingMessage {
    PendingMessage::new(Uuid::now_v7(), kind, name, payload, "analytics", 1_000, None)
}

/// A track with a property value and an identify with a trait, under a signed-in user.
fn append_personal(storage: &Storage) {
    let who = identity(Some(USER));
    let rows = vec![
        (event(MessageKind::Track, "product_viewed", &format!(r#"{{"sku":"{SECRET_VALUE}"}}"#)), who.clone()),
        (event(MessageKind::Identify, "identify", &format!(r#"{{"name":"{TRAIT}"}}"#)), who.clone()),
    ];
    storage.append(&rows, &(who, 1_000)).unwrap();
}

fn files_contain(dir: &std::path::Path, needle: &str) -> Vec<String> {
    ["", "-wal"]
        .iter()
        .map(|suffix| dir.join(format!("{DB_FILE}{suffix}")))
        .filter(|path| {
            std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .map(|path| path.display().to_string())
        .collect()
}

fn leased(storage: &Storage) -> Vec<LeasedMessage> {
    storage.lease(i64::MAX - 1, 0, 1000, |_| true).unwrap()
}

#[test]
fn property_values_user_ids_and_traits_are_not_in_the_files_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    append_personal(&storage);
    for needle in [SECRET_VALUE, USER, TRAIT] {
        assert_eq!(files_contain(dir.path(), needle), Vec::<String>::new(), "{needle} in clear");
    }
    // The test can fail: with encryption off the same flow leaves them readable.
    let plain = tempfile::tempdir().unwrap();
    append_personal(&Storage::open_encrypted(plain.path(), &Encryption::Off).unwrap());
    for needle in [SECRET_VALUE, USER, TRAIT] {
        assert!(!files_contain(plain.path(), needle).is_empty(), "{needle} should be visible without encryption");
    }

    let messages = leased(&storage);
    assert!(messages[0].payload.contains(SECRET_VALUE) && messages[1].payload.contains(TRAIT));
    assert_eq!(messages[0].identity.user_id.as_deref(), Some(USER));
    assert_eq!(storage.load_identity().unwrap().unwrap().0.user_id.as_deref(), Some(USER));
    drop(storage);
    // Reopened (a new process): the same key from the key file.
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(leased(&storage)[1].payload, format!(r#"{{"name":"{TRAIT}"}}"#));
}

#[test]
fn a_lost_key_is_a_clean_counted_reset_never_a_crash_or_a_half_readable_queue() {
    let dir = tempfile::tempdir().unwrap();
    append_personal(&Storage::open(dir.path()).unwrap());
    // App data restored on another device: the database came along, the key did not.
    std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    assert!(leased(&storage).is_empty());
    assert_eq!(storage.load_identity().unwrap().unwrap().0.user_id, None);
    assert_eq!(storage.counters().unwrap().get("key_resets"), Some(&1));
    append_personal(&storage);
    assert_eq!(leased(&storage).len(), 2, "the new key works");
}

#[test]
fn a_tampered_or_moved_ciphertext_is_detected_counted_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    append_personal(&storage);
    append_personal(&storage);
    {
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        // One byte of the first payload flipped; the third row given the fourth's ciphertext.
        let first: Vec<u8> = conn.query_row("SELECT payload FROM events WHERE seq = 1", [], |r| r.get(0)).unwrap();
        let mut flipped = first.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x20;
        conn.execute("UPDATE events SET payload = ?1 WHERE seq = 1", [flipped]).unwrap();
        conn.execute("UPDATE events SET payload = (SELECT payload FROM events WHERE seq = 4) WHERE seq = 3", [])
            .unwrap();
    }
    let messages = leased(&storage);
    assert_eq!(messages.iter().map(|m| m.seq).collect::<Vec<_>>(), [2, 4], "only the untouched rows");
    assert_eq!(storage.counters().unwrap().get("unreadable_values"), Some(&2));
    assert_eq!(storage.queued().unwrap(), 2, "the unreadable rows are gone");
}

/// A platform key store as the storage sees one: a named provider (the wrapping done here by a key file elsewhere).
struct Keystore(&'static str, FileKeyProvider);

impl Keystore {
    fn new(name: &'static str, dir: &std::path::Path) -> Self {
        Keystore(name, FileKeyProvider::in_dir(dir))
    }
}

impl KeyProvider for Keystore {
    fn wrap(&self, k: &[u8]) -> std::result::Result<Vec<u8>, KeyError> {
        self.1.wrap(k)
    }
    fn unwrap(&self, w: &[u8]) -> std::result::Result<Vec<u8>, KeyError> {
        self.1.unwrap(w)
    }
    fn describe(&self) -> String {
        self.0.into()
    }
}

struct Locked;

impl KeyProvider for Locked {
    fn wrap(&self, _: &[u8]) -> std::result::Result<Vec<u8>, KeyError> {
        Err(KeyError::Unavailable("the device is locked".into()))
    }
    fn unwrap(&self, _: &[u8]) -> std::result::Result<Vec<u8>, KeyError> {
        Err(KeyError::Unavailable("the device is locked".into()))
    }
    fn describe(&self) -> String {
        "file".into()
    }
}

#[test]
fn a_key_unavailable_for_now_fails_the_open_as_retryable_and_resets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    append_personal(&Storage::open(dir.path()).unwrap());
    let err = Storage::open_encrypted(dir.path(), &Encryption::Provider(Arc::new(Locked))).err().unwrap();
    assert!(matches!(err, Error::Storage { retryable: true, .. }), "{err:?}");
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(leased(&storage).len(), 2, "everything is still there once unlocked");
    assert_eq!(storage.counters().unwrap().get("key_resets"), None);
}

#[test]
fn another_key_store_is_refused_not_taken_for_a_lost_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let keystore = Encryption::Provider(Arc::new(Keystore::new("android-keystore", keys.path())));
    append_personal(&Storage::open_encrypted(dir.path(), &keystore).unwrap());
    // A tool opening the app's database with the default key file.
    let err = Storage::open(dir.path()).err().unwrap();
    assert!(err.to_string().contains("android-keystore"), "{err}");
    assert_eq!(leased(&Storage::open_encrypted(dir.path(), &keystore).unwrap()).len(), 2);
}

#[test]
fn an_app_moving_from_the_key_file_to_its_key_store_keeps_its_data_and_the_file_goes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    append_personal(&Storage::open(dir.path()).unwrap());
    assert!(dir.path().join(KEY_FILE).exists());

    let keychain = Encryption::Provider(Arc::new(Keystore::new("ios-keychain", keys.path())));
    let storage = Storage::open_encrypted(dir.path(), &keychain).unwrap();
    assert_eq!(leased(&storage)[0].identity.user_id.as_deref(), Some(USER), "the data came along");
    assert!(!dir.path().join(KEY_FILE).exists(), "the key file is gone once the key store wraps the data key");
    drop(storage);
    assert_eq!(leased(&Storage::open_encrypted(dir.path(), &keychain).unwrap()).len(), 2);
    assert!(Storage::open(dir.path()).is_err(), "and the file no longer opens it");
    assert_eq!(Storage::open_encrypted(dir.path(), &keychain).unwrap().counters().unwrap().get("key_resets"), None);
}

#[test]
fn a_database_written_in_clear_is_sealed_when_encryption_comes_on() {
    let dir = tempfile::tempdir().unwrap();
    append_personal(&Storage::open_encrypted(dir.path(), &Encryption::Off).unwrap());
    let storage = Storage::open(dir.path()).unwrap();
    // Checkpointed, so the old clear pages are gone from the WAL too.
    drop(storage);
    let storage = Storage::open(dir.path()).unwrap();
    let messages = leased(&storage);
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].identity.user_id.as_deref(), Some(USER));
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    let clear: i64 =
        conn.query_row("SELECT COUNT(*) FROM events WHERE typeof(payload) = 'text'", [], |r| r.get(0)).unwrap();
    let clear_users: i64 =
        conn.query_row("SELECT COUNT(*) FROM contexts WHERE typeof(user_id) = 'text'", [], |r| r.get(0)).unwrap();
    assert_eq!((clear, clear_users), (0, 0));
}

const GRANT: &[u8] = b"GRANT-BYTES-SIGNED-BY-THE-ISSUER";
const TITLE: &str = "Hanako's birthday coupon";
const CODE: &str = "FFR1-SECRET-REDEMPTION-CODE-0042";
const DEVICE_KEY: &[u8] = b"PKCS8-DEVICE-PRIVATE-KEY-MATERIAL";

/// A coupon with its display, a pending redemption with its code, and the software device key.
fn hold_a_coupon(storage: &Storage) {
    storage
        .write(|tx| {
            tx.upsert_coupon(
                &CouponUpsert {
                    coupon_id: "bday".into(),
                    serial: "s-1".into(),
                    grant: GRANT.to_vec(),
                    display: Some(format!(r#"{{"title":"{TITLE}"}}"#)),
                    uses_allowed: 1,
                    server_uses: None,
                },
                1_000,
            )?;
            tx.record_redemption(
                &NewRedemption {
                    redemption_id: "r-1".into(),
                    coupon_id: "bday".into(),
                    serial: "s-1".into(),
                    counter: 1,
                    code: CODE.into(),
                    store_id: "tokyo-1".into(),
                    value_minor: 0,
                    body: format!(r#"{{"code":"{CODE}"}}"#),
                },
                1_000,
            )
        })
        .unwrap();
    assert_eq!(storage.software_device_key(|| Ok(DEVICE_KEY.to_vec())).unwrap(), DEVICE_KEY);
}

#[test]
fn coupons_their_codes_and_the_device_key_are_not_in_the_files_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    hold_a_coupon(&storage);
    for needle in ["GRANT-BYTES-SIGNED", TITLE, CODE, "PKCS8-DEVICE-PRIVATE"] {
        assert_eq!(files_contain(dir.path(), needle), Vec::<String>::new(), "{needle} in clear");
    }
    let plain = tempfile::tempdir().unwrap();
    hold_a_coupon(&Storage::open_encrypted(plain.path(), &Encryption::Off).unwrap());
    assert!(!files_contain(plain.path(), CODE).is_empty(), "visible without encryption");

    drop(storage);
    let storage = Storage::open(dir.path()).unwrap();
    let coupons = storage.wallet_coupons().unwrap();
    assert_eq!((coupons[0].grant.as_slice(), coupons[0].pending_code.as_deref()), (GRANT, Some(CODE)));
    assert!(coupons[0].display.as_deref().unwrap().contains(TITLE));
    assert_eq!(
        storage.pending_wallet_items(WalletOutboxKind::Redemption, 10).unwrap()[0].body,
        format!(r#"{{"code":"{CODE}"}}"#)
    );
    assert_eq!(storage.software_device_key(|| panic!("the stored key is used")).unwrap(), DEVICE_KEY);
}

#[test]
fn an_altered_coupon_or_device_key_is_never_shown_or_used() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    hold_a_coupon(&storage);
    {
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute("UPDATE wallet_coupons SET grant_bytes = grant_bytes || x'00'", []).unwrap();
        conn.execute("UPDATE wallet_device SET pkcs8 = substr(pkcs8, 1, length(pkcs8) - 1) || x'ff'", []).unwrap();
    }
    assert!(storage.wallet_coupons().unwrap().is_empty(), "the altered coupon is not listed");
    assert_eq!(storage.software_device_key(|| Ok(b"a new key".to_vec())).unwrap(), b"a new key");
    assert_eq!(storage.counters().unwrap().get("unreadable_values"), Some(&2));
}

const ZONE: &str = "shibuya-flagship/lingerie-aisle";
const STORE: &str = "shibuya-flagship";

fn visit_the_store(storage: &Storage) {
    storage
        .write(|tx| {
            tx.open_visit(&StoredVisit {
                id: "v-1".into(),
                zone: ZONE.into(),
                store: STORE.into(),
                entered_ms: 1_000,
                last_seen_ms: 1_000,
                dwell_ms: None,
                exited_ms: None,
                end_reason: None,
            })?;
            tx.record_offer(&StoredOffer {
                offer_id: "o-1".into(),
                campaign_id: "welcome".into(),
                zone: Some(ZONE.into()),
                visit_id: Some("v-1".into()),
                coupon_id: None,
                at_ms: 1_000,
            })?;
            tx.expect_pickup(&StoredPickup {
                order_id: "order-1".into(),
                store: STORE.into(),
                from_ms: 0,
                until_ms: 10_000,
                arrived_ms: None,
                visit_id: None,
                created_ms: 1_000,
            })
        })
        .unwrap();
}

#[test]
fn where_the_shopper_was_is_not_in_the_files_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    visit_the_store(&storage);
    assert_eq!(files_contain(dir.path(), STORE), Vec::<String>::new());
    let plain = tempfile::tempdir().unwrap();
    visit_the_store(&Storage::open_encrypted(plain.path(), &Encryption::Off).unwrap());
    assert!(!files_contain(plain.path(), STORE).is_empty(), "visible without encryption");

    assert_eq!(storage.open_visits().unwrap()[0].zone, ZONE);
    assert_eq!(storage.offers_since(0).unwrap()[0].zone.as_deref(), Some(ZONE));
    let waiting = storage.write(|tx| tx.waiting_pickups(STORE, 5_000)).unwrap();
    assert_eq!(waiting.iter().map(|p| p.order_id.as_str()).collect::<Vec<_>>(), ["order-1"]);
    assert!(storage.write(|tx| tx.waiting_pickups("another-store", 5_000)).unwrap().is_empty());
}

/// The key id a sealed blob names (its bytes 1..5).
fn key_id_of(blob: &[u8]) -> u32 {
    u32::from_be_bytes([blob[1], blob[2], blob[3], blob[4]])
}

#[test]
fn rotating_the_key_re_encrypts_everything_and_the_old_key_opens_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    append_personal(&storage);
    hold_a_coupon(&storage);
    visit_the_store(&storage);
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    let payload_key = |conn: &Connection| -> u32 {
        key_id_of(&conn.query_row("SELECT payload FROM events LIMIT 1", [], |r| r.get::<_, Vec<u8>>(0)).unwrap())
    };
    let stored_key = |conn: &Connection| -> String {
        conn.query_row("SELECT value FROM meta WHERE key = 'data_key'", [], |r| r.get(0)).unwrap()
    };
    let (before_id, before_key) = (payload_key(&conn), stored_key(&conn));

    assert_eq!(storage.rotate_encryption_key().unwrap(), Some(before_id + 1));
    assert_eq!(payload_key(&conn), before_id + 1, "values are sealed under the new key");
    assert_ne!(stored_key(&conn), before_key, "the new key is stored, wrapped");
    let grant_key: Vec<u8> = conn.query_row("SELECT grant_bytes FROM wallet_coupons", [], |r| r.get(0)).unwrap();
    let device_key: Vec<u8> = conn.query_row("SELECT pkcs8 FROM wallet_device", [], |r| r.get(0)).unwrap();
    let zone: Vec<u8> = conn.query_row("SELECT zone FROM proximity_visits", [], |r| r.get(0)).unwrap();
    assert_eq!([key_id_of(&grant_key), key_id_of(&device_key), key_id_of(&zone)], [before_id + 1; 3]);

    // Everything reads back, in this process and in the next.
    drop(storage);
    let storage = Storage::open(dir.path()).unwrap();
    let messages = leased(&storage);
    assert_eq!((messages.len(), messages[0].identity.user_id.as_deref()), (2, Some(USER)));
    assert_eq!(storage.load_identity().unwrap().unwrap().0.user_id.as_deref(), Some(USER));
    assert_eq!(storage.wallet_coupons().unwrap()[0].pending_code.as_deref(), Some(CODE));
    assert_eq!(storage.software_device_key(|| panic!("kept")).unwrap(), DEVICE_KEY);
    assert_eq!(storage.open_visits().unwrap()[0].zone, ZONE);
    assert_eq!(storage.counters().unwrap().get("unreadable_values"), None);
    assert_eq!(storage.counters().unwrap().get("key_resets"), None);
    for needle in [SECRET_VALUE, USER, TRAIT, CODE, STORE] {
        assert_eq!(files_contain(dir.path(), needle), Vec::<String>::new(), "{needle} in clear");
    }
}
