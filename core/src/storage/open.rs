//! Opening the database: pragmas, integrity check, migrations, and recovery from a corrupt file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

use super::schema::{LATEST, MIGRATIONS};
use super::DB_FILE;
use crate::error::{Error, Result};

/// How many moved-aside files are kept for diagnosis; older ones are deleted so recovery cannot fill the disk.
const KEEP_QUARANTINED: usize = 2;

/// Why a database could not be used.
#[derive(Debug)]
pub enum OpenFailure {
    /// Another connection holds a lock: try later, never treat as corrupt.
    Busy(String),
    /// Disk or permission trouble: try later; moving the file would not help.
    Io(String),
    /// The file is not a usable database (garbage, damaged pages, schema from a newer SDK).
    Corrupt(String),
}

pub fn classify(e: &rusqlite::Error) -> OpenFailure {
    let text = e.to_string();
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => OpenFailure::Busy(text),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => OpenFailure::Corrupt(text),
        _ => OpenFailure::Io(text),
    }
}

/// Returns the connection and whether a damaged file had to be moved aside.
pub fn open_or_recover(dir: &Path) -> Result<(Connection, bool)> {
    if dir.exists() && !dir.is_dir() {
        // A configuration mistake, not a transient condition: retrying cannot fix it.
        return Err(Error::Config(format!("data directory {} is not a directory", dir.display())));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Storage { message: format!("cannot create data directory: {e}"), retryable: true })?;
    let path = dir.join(DB_FILE);
    match try_open(&path) {
        Ok(conn) => Ok((conn, false)),
        Err(OpenFailure::Corrupt(why)) => {
            tracing::warn!(reason = %why, "database unusable; moving it aside and starting a new one");
            quarantine(&path)?;
            match try_open(&path) {
                Ok(conn) => Ok((conn, true)),
                Err(f) => Err(failure_to_error(f)),
            }
        }
        Err(f) => Err(failure_to_error(f)),
    }
}

fn failure_to_error(f: OpenFailure) -> Error {
    match f {
        OpenFailure::Busy(m) => Error::Storage { message: format!("database is locked: {m}"), retryable: true },
        OpenFailure::Io(m) => Error::Storage { message: m, retryable: true },
        OpenFailure::Corrupt(m) => Error::Storage { message: format!("database unusable: {m}"), retryable: false },
    }
}

fn try_open(path: &Path) -> std::result::Result<Connection, OpenFailure> {
    let conn = Connection::open(path).map_err(|e| classify(&e))?;
    // Waiting briefly on a lock beats failing; the writer retries beyond this.
    conn.busy_timeout(Duration::from_secs(2)).map_err(|e| classify(&e))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| classify(&e))?;
    if version > LATEST {
        return Err(OpenFailure::Corrupt(format!("schema v{version} is newer than this SDK's v{LATEST}")));
    }
    // A new file is made without fsyncs (switching it to WAL goes through a rollback journal: five fsyncs, about
    // 30 ms before the first event can be durable on a fresh install). Nothing is in it yet: a power cut while it
    // is made leaves a file the next open recreates. Every later commit has `NORMAL`, as below.
    let fresh = version == 0;
    conn.pragma_update(None, "synchronous", if fresh { "OFF" } else { "NORMAL" }).map_err(|e| classify(&e))?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| classify(&e))?;
    if version > 0 {
        let check: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0)).map_err(|e| classify(&e))?;
        if check != "ok" {
            return Err(OpenFailure::Corrupt(format!("integrity check failed: {check}")));
        }
    }
    migrate(&conn, version).map_err(|e| classify(&e))?;
    if fresh {
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| classify(&e))?;
    }
    Ok(conn)
}

/// Applies every migration after `from` in one transaction each, bumping `user_version` with it.
pub(crate) fn migrate(conn: &Connection, from: i64) -> rusqlite::Result<()> {
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Moves the damaged file (and its WAL/SHM) aside as `footfall.db.corrupt-N`, keeping only the newest few.
fn quarantine(path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let target: PathBuf = dir.join(format!("{DB_FILE}.corrupt-{stamp}"));
    std::fs::rename(path, &target).map_err(Error::storage)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let _ = std::fs::rename(&side, format!("{}{suffix}", target.display()));
        }
    }
    let mut quarantined: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(Error::storage)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("{DB_FILE}.corrupt-")) && !n.ends_with("-wal") && !n.ends_with("-shm")
            })
        })
        .collect();
    quarantined.sort();
    while quarantined.len() > KEEP_QUARANTINED {
        let old = quarantined.remove(0);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", old.display()));
        }
    }
    Ok(())
}
