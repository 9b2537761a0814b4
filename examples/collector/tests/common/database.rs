//! Which engine the suite runs on: a SQLite file per test by default; with `FOOTFALL_TEST_POSTGRES` set to a
//! server URL (`.ci/run` starts one on loopback), a fresh schema on that server per test, so every test that takes
//! its database from here runs against PostgreSQL too.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use footfall_collector::DatabaseUrl;

pub const POSTGRES_ENV: &str = "FOOTFALL_TEST_POSTGRES";

/// The test's database, one per `dir` (SQLite: `collector.db` in it; PostgreSQL: a schema made on the first call
/// and named in a file in `dir`), so a collector restarted on `dir` finds what the first one stored.
pub fn database(dir: &Path) -> DatabaseUrl {
    let server = match std::env::var(POSTGRES_ENV) {
        Ok(server) if !server.is_empty() => server,
        _ => return DatabaseUrl::Sqlite(dir.join("collector.db")),
    };
    let named = dir.join("database-url");
    if let Ok(url) = std::fs::read_to_string(&named) {
        return DatabaseUrl::Postgres(url);
    }
    let url = fresh_schema(&server);
    std::fs::write(&named, &url).unwrap();
    DatabaseUrl::Postgres(url)
}

/// Whether this run is on PostgreSQL (a few tests are about a SQLite file's own behaviour).
pub fn on_postgres() -> bool {
    std::env::var(POSTGRES_ENV).is_ok_and(|s| !s.is_empty())
}

fn fresh_schema(server: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let schema = format!("t{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    // The schema is made over a plain connection (the URL's TLS options are the collector's, which it tests);
    // on a thread of its own: the sync client refuses to run inside a test's async runtime.
    let admin = server.split('?').next().unwrap_or(server);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut client = postgres::Client::connect(admin, postgres::NoTls).expect("the test PostgreSQL server");
            client.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("a fresh schema");
        });
    });
    let separator = if server.contains('?') { '&' } else { '?' };
    format!("{server}{separator}options=-csearch_path%3D{schema}")
}
