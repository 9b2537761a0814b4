use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong outside a request; bad requests become HTTP error responses instead.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot start the collector runtime: {0}")]
    Runtime(std::io::Error),
    #[error("no collector database at {0}")]
    MissingDatabase(PathBuf),
    /// `database`: the SQLite file or the PostgreSQL URL without its password.
    #[error("collector database {database}: {source}")]
    Database { database: String, source: crate::db::DbError },
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
    #[error("invalid rate limit: {0}")]
    RateLimit(String),
    #[error("the collector has stopped")]
    Stopped,
    #[error("issuer key file {path}: {problem}")]
    IssuerKey { path: PathBuf, problem: String },
    #[error("key set rotation {path}: {problem}")]
    KeysetRotation { path: PathBuf, problem: String },
    #[error("invalid coupon: {0}")]
    InvalidCoupon(String),
    #[error("coupon '{0}' already exists")]
    CouponExists(String),
    #[error("no coupon '{0}'")]
    UnknownCoupon(String),
    #[error("console: {0}")]
    Console(String),
    #[error("no wallet key set in {0}: serve it once with --issuer-key, or read the key file instead")]
    NoKeyset(PathBuf),
}

impl CollectorError {
    /// Maps a storage failure of `database` (a [`crate::DatabaseUrl`] or an open database: both print without
    /// a password).
    pub(crate) fn db(database: &impl std::fmt::Display) -> impl FnOnce(crate::db::DbError) -> CollectorError + '_ {
        move |source| CollectorError::Database { database: database.to_string(), source }
    }
}
