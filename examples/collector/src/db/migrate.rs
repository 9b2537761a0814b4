//! Versioned schema migrations, per component (the store, the wallet, the console each own their tables): each
//! migration runs once, in order, in one transaction with its row in `schema_migrations`, under a lock every
//! instance takes, so two collectors starting together on one PostgreSQL database migrate it once.

use super::{args, Database, DbError, Engine, Lock, Sql};

/// One step of a component's schema, spelled for each engine.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    component   TEXT NOT NULL,
    version     BIGINT NOT NULL,
    name        TEXT NOT NULL,
    applied_at  TEXT NOT NULL,
    PRIMARY KEY (component, version)
)";

/// Brings `component`'s tables up to its last migration; refuses a database a newer collector migrated further.
pub(crate) fn migrate(db: &Database, component: &str, migrations: &[Migration], now: &str) -> Result<(), DbError> {
    let known = migrations.last().map_or(0, |m| m.version);
    db.write(Lock::Migrations, |sql: &mut dyn Sql| {
        sql.batch(LEDGER)?;
        let found: i64 = sql
            .value("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = ?1", &args![component])?;
        if found > known {
            return Err(DbError::NewerSchema { component: component.to_string(), found, known });
        }
        for m in migrations.iter().filter(|m| m.version > found) {
            sql.batch(match sql.engine() {
                Engine::Sqlite => m.sqlite,
                Engine::Postgres => m.postgres,
            })?;
            sql.execute(
                "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?1, ?2, ?3, ?4)",
                &args![component, m.version, m.name, now],
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DatabaseUrl;

    const STEPS: [Migration; 2] = [
        Migration { version: 1, name: "a", sqlite: "CREATE TABLE a (x INTEGER);", postgres: "" },
        Migration { version: 2, name: "b", sqlite: "INSERT INTO a (x) VALUES (1);", postgres: "" },
    ];

    fn rows(db: &Database) -> i64 {
        db.read(|tx: &mut dyn Sql| tx.value::<i64>("SELECT COUNT(*) FROM a", &[])).unwrap()
    }

    #[test]
    fn each_step_runs_once_in_order_and_later_steps_run_on_an_older_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&DatabaseUrl::Sqlite(dir.path().join("m.db"))).unwrap();
        migrate(&db, "c", &STEPS[..1], "t1").unwrap();
        assert_eq!(rows(&db), 0);
        migrate(&db, "c", &STEPS, "t2").unwrap();
        migrate(&db, "c", &STEPS, "t3").unwrap();
        assert_eq!(rows(&db), 1, "step 2 ran once");
        // Another component's ledger is its own.
        migrate(&db, "other", &[], "t4").unwrap();
        let ledger = db
            .read(|tx: &mut dyn Sql| tx.query("SELECT component, version, applied_at FROM schema_migrations", &[]))
            .unwrap();
        let ledger: Vec<(String, i64, String)> =
            ledger.iter().map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap())).collect();
        assert_eq!(ledger, [("c".into(), 1, "t1".into()), ("c".into(), 2, "t2".into())]);
    }

    #[test]
    fn a_database_a_newer_collector_migrated_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&DatabaseUrl::Sqlite(dir.path().join("m.db"))).unwrap();
        migrate(&db, "c", &STEPS, "t1").unwrap();
        let err = migrate(&db, "c", &STEPS[..1], "t2").unwrap_err();
        assert!(matches!(err, DbError::NewerSchema { found: 2, known: 1, .. }), "{err}");
        assert_eq!(rows(&db), 1);
    }
}
