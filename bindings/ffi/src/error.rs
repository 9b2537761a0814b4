//! The one error type foreign code sees. Kotlin gets `FootfallException` with one subclass per variant, Swift
//! `FootfallError`. Foreign callbacks return it too; an undeclared foreign exception arrives as `Callback`.

use footfall_core::Error;

#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
pub enum FootfallError {
    /// The input was refused (empty name, properties that are not a JSON object, too large or too deep, a bad
    /// purpose or user id); nothing was recorded.
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
    /// The in-memory hand-off to storage is full; the event was not recorded (counted in the status).
    #[error("the hand-off queue is full; the event was not recorded")]
    QueueFull,
    /// The configuration cannot work: a bad endpoint or limit, no endpoint for a flush, no transport.
    #[error("configuration: {reason}")]
    Config { reason: String },
    /// The database could not be used; `retryable` is true when it was locked or busy.
    #[error("storage: {reason}")]
    Storage { reason: String, retryable: bool },
    /// The network or the server failed. Foreign transports throw this for failures below HTTP.
    #[error("network: {reason}")]
    Network { reason: String },
    /// Foreign transports throw this when the server's TLS certificate was refused (untrusted issuer, expired,
    /// wrong host name, ...): the lane pauses with `certificate_invalid` instead of retrying within seconds.
    #[error("the server's TLS certificate was refused: {reason}")]
    CertificateInvalid { reason: String },
    /// The shopper has not allowed this purpose; nothing was recorded (counted in the status).
    #[error("consent for purpose '{purpose}' is not given; the event was not recorded")]
    ConsentDenied { purpose: String },
    /// The SDK instance was closed.
    #[error("the SDK is closed")]
    Closed,
    /// Something failed inside the SDK that the app cannot fix (a thread that could not start); a bug to report.
    #[error("internal: {reason}")]
    Internal { reason: String },
    /// A callback implemented by the app (transport, log sink, listener) threw something undeclared.
    #[error("callback failed: {reason}")]
    Callback { reason: String },
}

impl From<Error> for FootfallError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidInput(v) => FootfallError::InvalidInput { reason: v.to_string() },
            Error::QueueFull => FootfallError::QueueFull,
            Error::Config(reason) => FootfallError::Config { reason },
            Error::Storage { message, retryable } => FootfallError::Storage { reason: message, retryable },
            Error::Network(reason) => FootfallError::Network { reason },
            Error::ConsentDenied { purpose } => FootfallError::ConsentDenied { purpose },
            Error::Closed => FootfallError::Closed,
            Error::Internal(reason) => FootfallError::Internal { reason },
            // The wallet is not exposed through the FFI yet; its own variant comes with it.
            Error::Wallet(e) => FootfallError::Internal { reason: e.to_string() },
        }
    }
}

impl From<footfall_core::ValidationError> for FootfallError {
    fn from(e: footfall_core::ValidationError) -> Self {
        FootfallError::InvalidInput { reason: e.to_string() }
    }
}

/// Without this a foreign exception the trait does not declare would become a Rust panic.
impl From<uniffi::UnexpectedUniFFICallbackError> for FootfallError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FootfallError::Callback { reason: e.reason }
    }
}

pub type Result<T, E = FootfallError> = std::result::Result<T, E>;
