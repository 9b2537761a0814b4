//! The PostgreSQL engine: a small pool of sync clients (callers already run off the async workers), prepared
//! statements cached per connection, `?N` placeholders rewritten to `$N`, and a transaction-scoped advisory lock
//! where a [`Lock`] asks to serialise — every instance on the database takes the same one.

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Condvar, Mutex};

use bytes::BytesMut;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::pg_tls::PgTarget;
use super::value::Value;
use super::{url, Arg, DbError, Engine, Lock, Row, Sql};

/// Connections one instance opens at most; opened on demand, kept while idle.
const MAX_CONNECTIONS: usize = 8;
/// Runs of a transaction the server aborted to break a deadlock before the error is returned.
const ATTEMPTS: usize = 3;

pub(crate) struct PgPool {
    config: postgres::Config,
    /// Used when the server offers TLS (`sslmode=prefer`, the default) or must (`require`): always verified.
    tls: MakeRustlsConnect,
    described: String,
    idle: Mutex<Pool>,
    returned: Condvar,
}

struct Pool {
    idle: Vec<PgConn>,
    open: usize,
}

struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl PgPool {
    /// Parses the URL and opens one connection, so a wrong URL or a server that is down fails at start-up.
    pub fn new(conn: &str) -> Result<PgPool, DbError> {
        let target = PgTarget::parse(conn);
        let config: postgres::Config = target.url.parse()?;
        let pool = PgPool {
            config,
            tls: target.connector()?,
            described: url::redact(conn),
            idle: Mutex::new(Pool { idle: Vec::new(), open: 0 }),
            returned: Condvar::new(),
        };
        let first = pool.checkout()?;
        pool.checkin(first);
        Ok(pool)
    }

    pub fn describe(&self) -> &str {
        &self.described
    }

    fn checkout(&self) -> Result<PgConn, DbError> {
        let mut pool = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(conn);
            }
            if pool.open < MAX_CONNECTIONS {
                pool.open += 1;
                drop(pool);
                return match self.config.connect(self.tls.clone()) {
                    Ok(client) => Ok(PgConn { client, statements: HashMap::new() }),
                    Err(e) => {
                        self.forget();
                        Err(e.into())
                    }
                };
            }
            pool = self.returned.wait(pool).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn checkin(&self, conn: PgConn) {
        if conn.client.is_closed() {
            return self.forget();
        }
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).idle.push(conn);
        self.returned.notify_one();
    }

    /// A connection that broke is dropped; its slot frees for a new one.
    fn forget(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).open -= 1;
        self.returned.notify_one();
    }

    pub fn transaction<T, E: From<DbError>>(
        &self,
        lock: Option<Lock>,
        mut f: impl FnMut(&mut dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut attempt = 1;
        loop {
            let mut conn = self.checkout()?;
            let outcome = run(&mut conn, lock, &mut f);
            self.checkin(conn);
            match outcome {
                Run::Done(result) => return result,
                Run::Retry(_) if attempt < ATTEMPTS => attempt += 1,
                Run::Retry(e) => return Err(e.into()),
            }
        }
    }
}

impl Drop for PgPool {
    fn drop(&mut self) {
        // A sync client closes its connection on drop by blocking on its own runtime, which panics on a thread
        // that is already inside one (the collector's last reference may go on a runtime worker).
        let idle = std::mem::take(&mut self.idle.get_mut().unwrap_or_else(|p| p.into_inner()).idle);
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::spawn(move || drop(idle));
        }
    }
}

enum Run<T, E> {
    Done(Result<T, E>),
    /// The server aborted the transaction to break a deadlock or a serialisation conflict.
    Retry(DbError),
}

fn run<T, E: From<DbError>>(
    conn: &mut PgConn,
    lock: Option<Lock>,
    f: &mut impl FnMut(&mut dyn Sql) -> Result<T, E>,
) -> Run<T, E> {
    let PgConn { client, statements } = conn;
    let begin = match lock {
        None => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        Some(_) => "BEGIN",
    };
    if let Err(e) = client.batch_execute(begin) {
        return Run::Done(Err(DbError::from(e).into()));
    }
    let mut tx = PgTx { client, statements, retryable: None };
    if let Some(key) = lock.and_then(Lock::key) {
        if let Err(e) = tx.client.execute("SELECT pg_advisory_xact_lock($1)", &[&key]) {
            let _ = tx.client.batch_execute("ROLLBACK");
            return Run::Done(Err(DbError::from(e).into()));
        }
    }
    let value = f(&mut tx);
    let retryable = tx.retryable.take();
    match value {
        Ok(value) => match tx.client.batch_execute("COMMIT") {
            Ok(()) => Run::Done(Ok(value)),
            Err(e) => {
                let e = DbError::from(e);
                if e.is_retryable() {
                    Run::Retry(e)
                } else {
                    Run::Done(Err(e.into()))
                }
            }
        },
        Err(e) => {
            let _ = tx.client.batch_execute("ROLLBACK");
            match retryable {
                Some(cause) => Run::Retry(cause),
                None => Run::Done(Err(e)),
            }
        }
    }
}

struct PgTx<'a> {
    client: &'a mut Client,
    statements: &'a mut HashMap<String, Statement>,
    /// Set when a statement failed in a way that aborts the transaction but a new run would not repeat.
    retryable: Option<DbError>,
}

impl PgTx<'_> {
    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(&placeholders(sql))?;
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    fn note(&mut self, e: postgres::Error) -> DbError {
        let e = DbError::from(e);
        if e.is_retryable() {
            self.retryable = Some(DbError::Conversion(e.to_string()));
        }
        e
    }
}

impl Sql for PgTx<'_> {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, DbError> {
        let stmt = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        self.client.execute(&stmt, &params).map_err(|e| self.note(e))
    }

    fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>, DbError> {
        let stmt = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let rows = self.client.query(&stmt, &params).map_err(|e| self.note(e))?;
        rows.iter().map(row).collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.client.batch_execute(sql).map_err(|e| self.note(e))
    }
}

fn row(r: &postgres::Row) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(r.len());
    for (i, column) in r.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into()))
        } else if *ty == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?.map(|v| Value::Int(v.into()))
        } else if *ty == Type::FLOAT8 {
            r.try_get::<_, Option<f64>>(i)?.map(Value::Real)
        } else if *ty == Type::FLOAT4 {
            r.try_get::<_, Option<f32>>(i)?.map(|v| Value::Real(v.into()))
        } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
            r.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else {
            return Err(DbError::Conversion(format!("column {} has type {ty}; cast it in the query", column.name())));
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl ToSql for Arg<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match *self {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Int(i) if *ty == Type::INT8 => i.to_sql(ty, out),
            Arg::Int(i) if *ty == Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
            Arg::Int(i) if *ty == Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
            Arg::Int(i) if *ty == Type::FLOAT8 => (i as f64).to_sql(ty, out),
            Arg::Int(i) if *ty == Type::BOOL => (i != 0).to_sql(ty, out),
            Arg::Text(s) if <&str as ToSql>::accepts(ty) => s.to_sql(ty, out),
            arg => Err(format!("{arg:?} cannot be sent as {ty}").into()),
        }
    }

    /// Checked in `to_sql`, where the value is known (an integer may go to any integer column, a null anywhere).
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// `?1` → `$1`, outside quoted literals and identifiers: the shared dialect's placeholders in PostgreSQL's.
fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '?') => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_are_rewritten_outside_literals_only() {
        assert_eq!(
            placeholders("SELECT x FROM t WHERE a = ?1 AND b = '?2' AND \"c?\" = ?12"),
            "SELECT x FROM t WHERE a = $1 AND b = '?2' AND \"c?\" = $12"
        );
    }
}

#[cfg(test)]
mod tls_tests {
    use super::*;

    /// The server `scripts/postgres.sh` starts for the collector's PostgreSQL run (TLS with a certificate from a CA
    /// made there), without the URL's options.
    fn tls_server() -> Option<(String, String)> {
        let url = std::env::var("FOOTFALL_TEST_POSTGRES").ok().filter(|u| !u.is_empty())?;
        let ca = std::env::var("FOOTFALL_TEST_POSTGRES_CA").ok()?;
        Some((url.split('?').next().unwrap_or(&url).to_string(), ca))
    }

    fn over_tls(pool: &PgPool) -> bool {
        let query = "SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
        pool.transaction(None, |sql| sql.value::<i64>(query, &[])).unwrap() == 1
    }

    #[test]
    fn the_server_is_verified_against_the_named_root_and_refused_without_it() {
        let Some((server, ca)) = tls_server() else {
            eprintln!("skipped: no TLS PostgreSQL server here (scripts/test-collector-postgres.sh starts one)");
            return;
        };
        let verified = PgPool::new(&format!("{server}?sslmode=verify-full&sslrootcert={ca}")).unwrap();
        assert!(over_tls(&verified), "the connection is TLS");
        // The system's trust store does not hold the test CA: the server's certificate is refused, not ignored.
        let unverified = PgPool::new(&format!("{server}?sslmode=require")).err().expect("refused").to_string();
        assert!(unverified.to_lowercase().contains("certificate"), "{unverified}");
        let plain = PgPool::new(&format!("{server}?sslmode=disable")).unwrap();
        assert!(!over_tls(&plain), "sslmode=disable stays plain");
    }
}
