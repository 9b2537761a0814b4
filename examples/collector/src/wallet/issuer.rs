//! The running collector's wallet issuer: its signing key, the key set that verifies what it signed, and the
//! optional signed rotation it hands out with every feed answer.

use std::path::Path;

use footfall_core::wallet::{IssuerSigner, KeySet};

use super::db;
use super::issuer_key::{load_or_create, own_keyset};
use crate::db::{Lock, Sql};
use crate::error::CollectorError;
use crate::store::Store;
use crate::timefmt::now_rfc3339_ms;

pub(crate) struct WalletIssuer {
    signer: IssuerSigner,
    keys: KeySet,
    rotation: Option<serde_json::Value>,
}

impl WalletIssuer {
    /// Loads (or creates) the key, checks the rotation document against it, and records the public key set in
    /// the database so `footfall collector keyset --db` can print it later without the private key.
    pub fn start(
        key_path: &Path,
        rotation_path: Option<&Path>,
        store: &Store,
        now: i64,
    ) -> Result<WalletIssuer, CollectorError> {
        let signer = load_or_create(key_path)?;
        let keys = own_keyset(&signer);
        let rotation = rotation_path.map(|path| read_rotation(path, &keys, now)).transpose()?;
        let err = || CollectorError::db(store.db());
        db::init(store.db(), &now_rfc3339_ms()).map_err(err())?;
        let keyset = keys.to_json();
        store.db().write(Lock::Rows, |tx: &mut dyn Sql| db::set_meta(tx, "keyset", &keyset)).map_err(err())?;
        Ok(WalletIssuer { signer, keys, rotation })
    }

    pub fn signer(&self) -> &IssuerSigner {
        &self.signer
    }

    /// The set redemption codes are verified against: the grants this collector signs.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The signed rotation to put in feed answers, as its JSON document.
    pub fn rotation(&self) -> Option<&serde_json::Value> {
        self.rotation.as_ref()
    }
}

/// A rotation a device would refuse is a configuration mistake: refuse to start rather than hand it out.
fn read_rotation(path: &Path, keys: &KeySet, now: i64) -> Result<serde_json::Value, CollectorError> {
    let fail = |problem: String| CollectorError::KeysetRotation { path: path.to_path_buf(), problem };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    keys.accept_rotation(&bytes, now)
        .map_err(|e| fail(format!("devices trusting this issuer's key would refuse it: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))
}
