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
