//! Console sign-in: the admin credential given at start-up, server-side sessions behind an `HttpOnly`,
//! `SameSite=Strict` cookie, and a CSRF token per session that every form carries back. Sessions live in the
//! database, so every collector instance behind a load balancer knows them (no sticky routing); a session is
//! found by a hash of its cookie, so the table alone opens none.

use ring::rand::{SecureRandom, SystemRandom};

use crate::db::{args, Database, DbError, Lock, Sql};

/// How long a session lasts without a new sign-in.
pub(crate) const SESSION_SECS: i64 = 8 * 3600;
/// Sessions kept at most; the oldest go first (a flood of sign-ins cannot grow the table without bound).
const MAX_SESSIONS: i64 = 1_000;
pub(crate) const COOKIE: &str = "footfall_console";
/// Carries the sign-in form's CSRF token before there is a session (double submit).
pub(crate) const SIGN_IN_COOKIE: &str = "footfall_console_sign_in";

/// The admin credential the console accepts; never the SDK's write key.
#[derive(Clone)]
pub struct AdminCredential {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for AdminCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminCredential").field("user", &self.user).finish_non_exhaustive()
    }
}

impl AdminCredential {
    /// Both compared in constant time, so the answer's timing says nothing about how much was right.
    pub(crate) fn accepts(&self, user: &str, password: &str) -> bool {
        let user_ok = crate::compare::constant_time_eq(user.as_bytes(), self.user.as_bytes());
        let password_ok = crate::compare::constant_time_eq(password.as_bytes(), self.password.as_bytes());
        user_ok & password_ok
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub user: String,
    pub csrf: String,
}

/// A new session for `user`; returns its cookie token.
pub(crate) fn open(db: &Database, user: &str, now: i64) -> Result<String, DbError> {
    let (token, csrf) = (random_token(), random_token());
    let key = token_hash(&token);
    db.write(Lock::Rows, |tx: &mut dyn Sql| {
        tx.execute("DELETE FROM console_sessions WHERE expires_at <= ?1", &args![now])?;
        tx.execute(
            "INSERT INTO console_sessions(token_hash, user_name, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
            &args![key.as_str(), user, csrf.as_str(), now + SESSION_SECS],
        )?;
        tx.execute(
            "DELETE FROM console_sessions WHERE token_hash NOT IN
                (SELECT token_hash FROM console_sessions ORDER BY expires_at DESC LIMIT ?1)",
            &args![MAX_SESSIONS],
        )?;
        Ok::<_, DbError>(())
    })?;
    Ok(token)
}

/// The live session a request's cookie names.
pub(crate) fn find(db: &Database, token: &str, now: i64) -> Result<Option<Session>, DbError> {
    let key = token_hash(token);
    let row = db.read(|tx: &mut dyn Sql| {
        tx.query_opt(
            "SELECT user_name, csrf FROM console_sessions WHERE token_hash = ?1 AND expires_at > ?2",
            &args![key.as_str(), now],
        )
    })?;
    row.map(|row| Ok(Session { user: row.get(0)?, csrf: row.get(1)? })).transpose()
}

/// Signs a session out, on every instance.
pub(crate) fn close(db: &Database, token: &str) -> Result<(), DbError> {
    let key = token_hash(token);
    db.write(Lock::Rows, |tx: &mut dyn Sql| {
        tx.execute("DELETE FROM console_sessions WHERE token_hash = ?1", &args![key.as_str()])
    })?;
    Ok(())
}

/// What the table keeps of a cookie token: its SHA-256, hex.
fn token_hash(token: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 random bytes, hex.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // SystemRandom fails only when the OS has no randomness at all; an all-zero token then matches nothing
    // useful, because every comparison also needs the server-side session.
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name` in a `Cookie` header.
pub(crate) fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').map(str::trim).find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// `Set-Cookie` for a console cookie: `Secure` unless the console is served over plain HTTP on loopback.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_close_and_are_kept_only_as_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&crate::DatabaseUrl::Sqlite(dir.path().join("c.db"))).unwrap();
        super::super::db::init(&db).unwrap();
        let token = open(&db, "admin", 1_000).unwrap();
        assert_eq!(find(&db, &token, 1_000).unwrap().unwrap().user, "admin");
        assert!(find(&db, &token, 1_000 + SESSION_SECS).unwrap().is_none(), "expired");
        let stored: String =
            db.read(|tx: &mut dyn Sql| tx.value("SELECT token_hash FROM console_sessions", &args![])).unwrap();
        assert_ne!(stored, token, "the cookie itself is not in the table");
        let later = 1_000 + SESSION_SECS;
        let token = open(&db, "admin", later).unwrap();
        close(&db, &token).unwrap();
        assert!(find(&db, &token, later).unwrap().is_none(), "signed out");
        assert!(find(&db, "forged", later).unwrap().is_none());
        let count: i64 =
            db.read(|tx: &mut dyn Sql| tx.value("SELECT COUNT(*) FROM console_sessions", &args![])).unwrap();
        assert_eq!(count, 0, "the expired one went when the next was opened");
    }

    #[test]
    fn the_credential_must_match_in_full() {
        let admin = AdminCredential { user: "admin".into(), password: "correct horse".into() };
        assert!(admin.accepts("admin", "correct horse"));
        assert!(!admin.accepts("admin", "correct hors"));
        assert!(!admin.accepts("admin", "correct horsf"));
        assert!(!admin.accepts("root", "correct horse"));
        assert!(!format!("{admin:?}").contains("horse"), "the password stays out of logs");
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let header = Some("footfall_console_sign_in=abc; footfall_console=def");
        assert_eq!(cookie(header, COOKIE), Some("def"));
        assert_eq!(cookie(header, SIGN_IN_COOKIE), Some("abc"));
        assert_eq!(cookie(None, COOKIE), None);
        assert!(set_cookie(COOKIE, "x", 60, true).contains("HttpOnly; SameSite=Strict; Max-Age=60; Secure"));
        assert!(!set_cookie(COOKIE, "x", 60, false).contains("Secure"));
    }
}
