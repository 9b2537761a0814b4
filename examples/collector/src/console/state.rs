//! The console's own state, next to the collector's: the admin credential and whether cookies must be `Secure`
//! (sessions and the sign-in lock are in the database, shared by every instance); made at start-up, where the
//! credential is checked and the config file imported.

use std::path::Path;

use super::db;
use super::session::AdminCredential;
use crate::db::Lock;
use crate::error::CollectorError;
use crate::store::Store;
use crate::timefmt::now_rfc3339_ms;

/// Shorter admin passwords are refused at start-up.
const MIN_PASSWORD_CHARS: usize = 12;

/// The console's own state, next to the collector's.
pub(crate) struct Console {
    pub admin: AdminCredential,
    /// Cookies carry `Secure` unless the collector serves plain HTTP (allowed on loopback only).
    pub secure_cookies: bool,
}

impl Console {
    /// Checks the credential, creates the console's tables and, the first time, imports the config file (if any)
    /// as revision 1.
    pub(crate) fn start(
        admin: AdminCredential,
        api_key: Option<&str>,
        config_path: Option<&Path>,
        store: &Store,
        secure_cookies: bool,
    ) -> Result<Console, CollectorError> {
        if admin.user.trim().is_empty() || admin.password.chars().count() < MIN_PASSWORD_CHARS {
            let problem =
                format!("the admin needs a user name and a password of at least {MIN_PASSWORD_CHARS} characters");
            return Err(CollectorError::Console(problem));
        }
        if api_key.is_some_and(|key| key == admin.password) {
            return Err(CollectorError::Console("the admin password must not be the SDK's write key".into()));
        }
        let database = store.db();
        db::init(database).map_err(CollectorError::db(database))?;
        if let (None, Some(path)) = (database.read(db::latest).map_err(CollectorError::db(database))?, config_path) {
            let bytes = std::fs::read(path)
                .map_err(|e| CollectorError::Console(format!("cannot read the config file {}: {e}", path.display())))?;
            crate::config_doc::check(&bytes)
                .map_err(|problem| CollectorError::Console(format!("the config file {} {problem}", path.display())))?;
            let body =
                String::from_utf8(bytes).map_err(|_| CollectorError::Console("the config file is not UTF-8".into()))?;
            let summary = format!("imported from {}", path.display());
            // `Ok(None)`: another collector on the same database imported its file first; theirs stays.
            database
                .write(Lock::Config, |tx| db::publish(tx, None, &body, &now_rfc3339_ms(), "collector", &summary))
                .map_err(CollectorError::db(database))?;
        }
        Ok(Console { admin, secure_cookies })
    }
}
