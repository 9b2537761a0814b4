//! Console sign-in: the admin credential given at start-up, server-side sessions behind an `HttpOnly`,
//! `SameSite=Strict` cookie, and a CSRF token per session that every form carries back.

use std::collections::HashMap;
use std::sync::Mutex;

use ring::rand::{SecureRandom, SystemRandom};

/// How long a session lasts without a new sign-in.
pub(crate) const SESSION_SECS: i64 = 8 * 3600;
/// Sessions kept at most; the oldest go first (a flood of sign-ins cannot grow memory without bound).
const MAX_SESSIONS: usize = 1_000;
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
    pub expires_at: i64,
}

#[derive(Default)]
pub(crate) struct Sessions {
    by_token: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new session for `user`; returns its cookie token.
    pub(crate) fn open(&self, user: &str, now: i64) -> String {
        let token = random_token();
        let session = Session { user: user.to_owned(), csrf: random_token(), expires_at: now + SESSION_SECS };
        let mut sessions = self.by_token.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.expires_at > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.expires_at).map(|(t, _)| t.clone()) {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(token.clone(), session);
        token
    }

    /// The live session a request's cookie names.
    pub(crate) fn find(&self, token: &str, now: i64) -> Option<Session> {
        let sessions = self.by_token.lock().unwrap_or_else(|p| p.into_inner());
        sessions.get(token).filter(|s| s.expires_at > now).cloned()
    }

    pub(crate) fn close(&self, token: &str) {
        self.by_token.lock().unwrap_or_else(|p| p.into_inner()).remove(token);
    }
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
    fn sessions_expire_and_close() {
        let sessions = Sessions::default();
        let token = sessions.open("admin", 1_000);
        assert_eq!(sessions.find(&token, 1_000).unwrap().user, "admin");
        assert!(sessions.find(&token, 1_000 + SESSION_SECS).is_none(), "expired");
        let token = sessions.open("admin", 2_000);
        sessions.close(&token);
        assert!(sessions.find(&token, 2_000).is_none(), "signed out");
        assert!(sessions.find("forged", 2_000).is_none());
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
