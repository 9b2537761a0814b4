//! The one error type of the core. Every public fallible function returns [`Error`]; the FFI facade maps it
//! one-to-one onto a foreign exception, so variants are few and each says what the app can do about it.

use std::fmt;

/// Why an event, identity or configuration value was refused at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("event name is empty")]
    EmptyName,
    #[error("event name is {len} characters; the limit is {max}")]
    NameTooLong { len: usize, max: usize },
    #[error("properties must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    #[error("properties are not valid JSON: {0}")]
    InvalidJson(String),
    #[error("properties are {size} bytes serialized; the limit is {max}")]
    TooLarge { size: usize, max: usize },
    #[error("properties are nested {depth} levels deep; the limit is {max}")]
    TooDeep { depth: usize, max: usize },
    #[error("purpose '{0}' is not a valid purpose id (1-64 chars of a-z, 0-9, '_' or '-')")]
    InvalidPurpose(String),
    #[error("user id is empty")]
    EmptyUserId,
    #[error("user id is {len} characters; the limit is {max}")]
    UserIdTooLong { len: usize, max: usize },
    #[error("TC string: {0}")]
    TcString(String),
    #[error("purpose '{0}' is decided by the app's CMP in TCF import mode; change it there")]
    DecidedByCmp(String),
    #[error("a TCF import is recorded only by importing the CMP's TC string (importTcf in Kotlin and Swift, import_tcf in Rust)")]
    TcfImportMethod,
}

/// Why a wallet operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// No issuer key set was configured (`Config::wallet_keyset`): the wallet is off.
    #[error("the wallet is not configured (no issuer key set)")]
    NotConfigured,
    #[error("no coupon '{0}' in the wallet")]
    UnknownCoupon(String),
    /// The coupon cannot be used now; `reasons` are the evaluator's codes (`expired`, `uses_exhausted`, …) or
    /// the coupon's state (`redeemed`, `revoked`, …).
    #[error("coupon '{coupon_id}' cannot be used now: {}", reasons.join(", "))]
    Unusable { coupon_id: String, reasons: Vec<String> },
    /// The platform's device key failed (locked keystore, key gone).
    #[error("device key: {0}")]
    DeviceKey(String),
    /// The request itself is invalid (a basket line, a store id, a challenge).
    #[error("invalid: {0}")]
    Invalid(String),
}

/// Why a proximity call was refused; nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProximityError {
    /// The input is not a beacon sighting (a malformed or identity-less frame, no RSSI reading, a bad UUID).
    #[error("not a sighting: {0}")]
    NotASighting(String),
    /// An expected pickup that cannot be watched for (empty order or store id, a window that ends before it starts).
    #[error("pickup: {0}")]
    InvalidPickup(String),
}

/// Everything that can go wrong in the core.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The input was refused; nothing was recorded.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] ValidationError),
    /// The in-memory hand-off to the storage writer is full; the event was not recorded (counted in status).
    #[error("the hand-off queue is full; the event was not recorded")]
    QueueFull,
    /// The configuration cannot work (bad endpoint, plain HTTP to a non-loopback host, no endpoint for a flush).
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be used. `retryable` is true when the file is locked or the disk is busy.
    #[error("storage: {message}")]
    Storage { message: String, retryable: bool },
    /// The network or the server failed; data is kept and retried.
    #[error("network: {0}")]
    Network(String),
    /// The shopper has not allowed this purpose; nothing was recorded (counted in status as `consent_refused`).
    #[error("consent for purpose '{purpose}' is not given; the event was not recorded")]
    ConsentDenied { purpose: String },
    /// The SDK instance was closed.
    #[error("the SDK is closed")]
    Closed,
    /// A wallet operation was refused; nothing changed.
    #[error("wallet: {0}")]
    Wallet(#[from] WalletError),
    /// A proximity call was refused; nothing changed.
    #[error("proximity: {0}")]
    Proximity(#[from] ProximityError),
    /// Something failed inside the SDK that the app cannot fix (a thread that could not start, a lost reply):
    /// a bug or an exhausted system, reported with the exact cause.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn storage(message: impl fmt::Display) -> Self {
        Error::Storage { message: message.to_string(), retryable: false }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
