//! Slows down password guessing at the console's sign-in: after a few failures in a row, sign-in is locked for a
//! while, doubling with each further failure. The lock is on the one admin account, not per address, so a guesser
//! cannot spread attempts over many addresses; a success (once unlocked) clears it. It lives in the database, so
//! a guesser cannot spread attempts over the instances behind a load balancer either.

use crate::db::{args, Database, DbError, Lock, Sql};

/// Failures allowed in a row before the first lock.
const FREE_FAILURES: i64 = 5;
const FIRST_LOCK_SECS: i64 = 60;
const LONGEST_LOCK_SECS: i64 = 15 * 60;

/// Seconds until sign-in may be tried again; 0 when it may now.
pub(crate) fn wait_secs(db: &Database, now: i64) -> Result<i64, DbError> {
    let locked_until: Option<i64> =
        db.read(|tx: &mut dyn Sql| tx.value_opt("SELECT locked_until FROM console_sign_in WHERE id = 1", &args![]))?;
    Ok((locked_until.unwrap_or(0) - now).max(0))
}

/// Counts a refused password; returns how long sign-in is now locked (0: not yet). Failures on several instances
/// at once are all counted: the row is updated in place, which serialises them.
pub(crate) fn failed(db: &Database, now: i64) -> Result<i64, DbError> {
    db.write(Lock::Rows, |tx: &mut dyn Sql| {
        tx.execute("UPDATE console_sign_in SET failures = failures + 1 WHERE id = 1", &args![])?;
        let failures: i64 = tx.value("SELECT failures FROM console_sign_in WHERE id = 1", &args![])?;
        if failures < FREE_FAILURES {
            return Ok(0);
        }
        let doublings = (failures - FREE_FAILURES).min(10);
        let lock = (FIRST_LOCK_SECS << doublings).min(LONGEST_LOCK_SECS);
        tx.execute("UPDATE console_sign_in SET locked_until = ?1 WHERE id = 1", &args![now + lock])?;
        Ok(lock)
    })
}

pub(crate) fn succeeded(db: &Database) -> Result<(), DbError> {
    db.write(Lock::Rows, |tx: &mut dyn Sql| {
        tx.execute("UPDATE console_sign_in SET failures = 0, locked_until = 0 WHERE id = 1", &args![])
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_for_a_minute_then_longer_up_to_a_quarter_hour() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&crate::DatabaseUrl::Sqlite(dir.path().join("c.db"))).unwrap();
        super::super::db::init(&db).unwrap();
        for _ in 0..4 {
            assert_eq!(failed(&db, 1_000).unwrap(), 0);
        }
        assert_eq!(failed(&db, 1_000).unwrap(), 60);
        assert_eq!((wait_secs(&db, 1_030).unwrap(), wait_secs(&db, 1_060).unwrap()), (30, 0));
        assert_eq!(failed(&db, 1_060).unwrap(), 120, "each further failure doubles the lock");
        assert_eq!((0..10).map(|_| failed(&db, 2_000).unwrap()).last(), Some(900), "never longer than 15 minutes");
        succeeded(&db).unwrap();
        assert_eq!(
            (wait_secs(&db, 2_000).unwrap(), failed(&db, 2_000).unwrap()),
            (0, 0),
            "a success starts the count again"
        );
    }
}
