//! Where the collector's data lives, as given on the command line (`--db FILE` or `--database-url postgres://…`).

use std::fmt;
use std::path::{Path, PathBuf};

/// A SQLite file, or a PostgreSQL connection URL (`postgres://user@host:port/db`, libpq's URL and key=value
/// forms; `?options=-csearch_path%3Dname` picks a schema).
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is a SQLite file path.
    pub fn parse(s: &str) -> DatabaseUrl {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            DatabaseUrl::Postgres(s.to_string())
        } else {
            DatabaseUrl::Sqlite(PathBuf::from(s))
        }
    }

    /// The SQLite file, if that is the engine.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DatabaseUrl::Sqlite(path) => Some(path),
            DatabaseUrl::Postgres(_) => None,
        }
    }
}

impl From<PathBuf> for DatabaseUrl {
    fn from(path: PathBuf) -> Self {
        DatabaseUrl::Sqlite(path)
    }
}

impl From<&Path> for DatabaseUrl {
    fn from(path: &Path) -> Self {
        DatabaseUrl::Sqlite(path.to_path_buf())
    }
}

impl From<&PathBuf> for DatabaseUrl {
    fn from(path: &PathBuf) -> Self {
        DatabaseUrl::Sqlite(path.clone())
    }
}

impl From<&DatabaseUrl> for DatabaseUrl {
    fn from(url: &DatabaseUrl) -> Self {
        url.clone()
    }
}

impl fmt::Display for DatabaseUrl {
    /// The path, or the URL with any password replaced by `***` (it ends up in error messages and logs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "{}", path.display()),
            DatabaseUrl::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; also `password=` query parameters.
pub(crate) fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            if let Some(colon) = out[rest..rest + at].find(':') {
                out.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    if let Some(start) = out.find("password=") {
        let value = start + "password=".len();
        let end = out[value..].find(['&', ' ']).map_or(out.len(), |i| value + i);
        out.replace_range(value..end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db.internal:5432/footfall?sslmode=disable");
        assert_eq!(url.to_string(), "postgres://app:***@db.internal:5432/footfall?sslmode=disable");
        let url = DatabaseUrl::parse("postgresql://app@db/footfall?password=s3cret&x=1");
        assert_eq!(url.to_string(), "postgresql://app@db/footfall?password=***&x=1");
        assert_eq!(DatabaseUrl::parse("postgres://db/footfall").to_string(), "postgres://db/footfall");
    }

    #[test]
    fn anything_but_a_postgres_url_is_a_file() {
        assert_eq!(DatabaseUrl::parse("collector.db").sqlite_path(), Some(Path::new("collector.db")));
        assert_eq!(DatabaseUrl::parse("postgres.db").sqlite_path(), Some(Path::new("postgres.db")));
    }
}
