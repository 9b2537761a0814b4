//! The collector's storage port: one [`Database`] over two engines, SQLite (the embedded default) and PostgreSQL
//! (several collectors on one database). Domain modules write their SQL once, in the dialect both engines share
//! (`?N` placeholders, `ON CONFLICT … DO NOTHING`, `CAST(SUM(…) AS BIGINT)`), run it through [`Sql`], and ask
//! for a serialised transaction ([`Lock`]) where a read-then-write must not interleave with another writer —
//! another process on the SQLite file, or another collector instance on the PostgreSQL database.

mod migrate;
mod pg;
mod pg_tls;
mod sqlite;
mod url;
mod value;

use std::fmt;

pub(crate) use migrate::{migrate, Migration};
pub use url::DatabaseUrl;
pub(crate) use value::{args, Arg, FromValue, Row};

/// Which engine runs a statement, for the few fragments the dialects spell differently (JSON access).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

/// What a write transaction must not interleave with. `Rows` relies on unique keys and row locks alone (batch
/// ingest: two instances inserting the same event id both succeed, one of them inserting nothing); the others
/// serialise every writer of that domain, across processes and instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    Rows,
    /// The wallet: serial hand-out, coupon changes, redemptions (one `accepted`, the rest `double_spend`).
    Wallet,
    /// The console's config revisions (a stale form is refused, never overwrites).
    Config,
    /// Schema migrations.
    Migrations,
}

impl Lock {
    /// The PostgreSQL advisory lock key; arbitrary, fixed, distinct.
    fn key(self) -> Option<i64> {
        match self {
            Lock::Rows => None,
            Lock::Wallet => Some(0x466f_6f74_0001),
            Lock::Config => Some(0x466f_6f74_0002),
            Lock::Migrations => Some(0x466f_6f74_0003),
        }
    }
}

/// A storage failure, with the engine's own error inside.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("unexpected value: {0}")]
    Conversion(String),
    /// The TLS setup for PostgreSQL could not be made (an unreadable `sslrootcert`, say).
    #[error("TLS to PostgreSQL: {0}")]
    Tls(String),
    #[error(
        "the database was written by a newer collector (schema {component} version {found}, this one knows {known})"
    )]
    NewerSchema { component: String, found: i64, known: i64 },
}

/// PostgreSQL's own message (e.g. "duplicate key value violates …"), not only "db error"; otherwise the client's
/// with its causes ("error performing TLS handshake: invalid peer certificate: UnknownIssuer").
fn pg_message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.code().code(), db.message());
    }
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.ends_with(&text) {
            message = format!("{message}: {text}");
        }
        cause = inner.source();
    }
    message
}

impl DbError {
    /// A unique or primary key constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => e.code == rusqlite::ErrorCode::ConstraintViolation,
            DbError::Postgres(e) => e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }

    /// The transaction lost a race the engine detected (deadlock, serialisation) and can simply run again.
    fn is_retryable(&self) -> bool {
        match self {
            DbError::Postgres(e) => matches!(
                e.code(),
                Some(c) if *c == postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                    || *c == postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
            ),
            _ => false,
        }
    }
}

/// A connection (inside a transaction) as the domain code sees it.
pub(crate) trait Sql {
    fn engine(&self) -> Engine;
    /// Runs one statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, DbError>;
    /// Runs one query; every row.
    fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>, DbError>;
    /// Runs several statements without arguments (schemas).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
}

impl dyn Sql + '_ {
    /// The first row, if any.
    pub fn query_opt(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// The first column of the first row, or `None` when there is no row.
    pub fn value_opt<T: FromValue>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<T>, DbError> {
        self.query_opt(sql, args)?.map(|row| row.get(0)).transpose()
    }

    /// The first column of the one row an aggregate returns.
    pub fn value<T: FromValue>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<T, DbError> {
        self.value_opt(sql, args)?.ok_or_else(|| DbError::Conversion("the query returned no row".into()))
    }

    /// Whether a table exists (a database written by an older collector may lack one).
    pub fn has_table(&mut self, name: &str) -> Result<bool, DbError> {
        let sql = match self.engine() {
            Engine::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            Engine::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?1"
            }
        };
        Ok(self.value::<i64>(sql, &args![name])? > 0)
    }
}

/// The collector's database: a SQLite file or a PostgreSQL connection pool.
pub(crate) enum Database {
    Sqlite(sqlite::SqliteDb),
    /// Boxed: the pool is large and the SQLite variant is the common one.
    Postgres(Box<pg::PgPool>),
}

impl Database {
    /// Opens (SQLite: creates) the database for serving.
    pub fn open(url: &DatabaseUrl) -> Result<Database, DbError> {
        Ok(match url {
            DatabaseUrl::Sqlite(path) => Database::Sqlite(sqlite::SqliteDb::open(path, false)?),
            DatabaseUrl::Postgres(conn) => Database::Postgres(Box::new(pg::PgPool::new(conn)?)),
        })
    }

    /// Opens an existing database to read while a collector may be serving it (SQLite: read-only, never created;
    /// `None` when the file does not exist).
    pub fn open_existing(url: &DatabaseUrl) -> Result<Option<Database>, DbError> {
        Ok(match url {
            DatabaseUrl::Sqlite(path) if !path.is_file() => None,
            DatabaseUrl::Sqlite(path) => Some(Database::Sqlite(sqlite::SqliteDb::open(path, true)?)),
            DatabaseUrl::Postgres(conn) => Some(Database::Postgres(Box::new(pg::PgPool::new(conn)?))),
        })
    }

    /// Runs `f` in one read transaction: what it reads is one consistent snapshot.
    pub fn read<T, E: From<DbError>>(&self, f: impl FnMut(&mut dyn Sql) -> Result<T, E>) -> Result<T, E> {
        match self {
            Database::Sqlite(db) => db.transaction(None, f),
            Database::Postgres(db) => db.transaction(None, f),
        }
    }

    /// Runs `f` in one write transaction under `lock`, committed if it returns `Ok`, rolled back otherwise. A
    /// transaction the engine aborted to break a deadlock runs again (hence `FnMut`).
    pub fn write<T, E: From<DbError>>(&self, lock: Lock, f: impl FnMut(&mut dyn Sql) -> Result<T, E>) -> Result<T, E> {
        match self {
            Database::Sqlite(db) => db.transaction(Some(lock), f),
            Database::Postgres(db) => db.transaction(Some(lock), f),
        }
    }
}

impl fmt::Display for Database {
    /// The file, or the PostgreSQL URL without its password: for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(db) => write!(f, "{}", db.path().display()),
            Database::Postgres(db) => f.write_str(db.describe()),
        }
    }
}
