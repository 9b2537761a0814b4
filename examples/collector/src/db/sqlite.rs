//! The SQLite engine: one connection per process, transactions `BEGIN IMMEDIATE` where a [`Lock`] asks to
//! serialise (another process — the CLI adding a coupon — may write the same file).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::value::Value;
use super::{Arg, DbError, Engine, Lock, Row, Sql};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct SqliteDb {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteDb {
    pub fn open(path: &Path, read_only: bool) -> Result<SqliteDb, DbError> {
        let conn = if read_only {
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?
        } else {
            Connection::open(path)?
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if !read_only {
            // WAL lets `footfall collector stats` read while this process writes.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        Ok(SqliteDb { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn transaction<T, E: From<DbError>>(
        &self,
        lock: Option<Lock>,
        mut f: impl FnMut(&mut dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        // rusqlite rolls back an unfinished transaction on drop, so a poisoned connection is still consistent.
        let mut conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let behavior = match lock {
            None | Some(Lock::Rows) => TransactionBehavior::Deferred,
            Some(_) => TransactionBehavior::Immediate,
        };
        let tx = conn.transaction_with_behavior(behavior).map_err(DbError::from)?;
        let value = f(&mut SqliteTx(&tx))?;
        tx.commit().map_err(DbError::from)?;
        Ok(value)
    }
}

struct SqliteTx<'a>(&'a Connection);

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Null => ValueRef::Null,
            Arg::Int(i) => ValueRef::Integer(*i),
            Arg::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

impl Sql for SqliteTx<'_> {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, DbError> {
        let changed = self.0.prepare_cached(sql)?.execute(rusqlite::params_from_iter(args.iter()))?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(i) => Value::Int(i),
                    ValueRef::Real(f) => Value::Real(f),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => return Err(DbError::Conversion(format!("column {i} is a blob"))),
                });
            }
            out.push(Row(values));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.execute_batch(sql)?)
    }
}
