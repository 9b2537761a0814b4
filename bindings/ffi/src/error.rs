//! The one error type foreign code sees. Kotlin gets `FootfallException` with one subclass per variant, Swift
//! `FootfallError`. Foreign callbacks return it too; an undeclared foreign exception arrives as `Callback`.

use footfall_core::{Error, WalletError};

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
    /// A callback implemented by the app (transport, log sink, listener, device signer) threw something
    /// undeclared.
    #[error("callback failed: {reason}")]
    Callback { reason: String },
    /// A wallet operation was refused and nothing changed. `kind` says which refusal; `coupon_id` names the
    /// coupon when one was asked for; `reasons` are the codes a `CouponUnusable` refusal gives (`expired`,
    /// `uses_exhausted`, `redeemed`, …; empty otherwise); `detail` is the English sentence.
    #[error("wallet: {detail}")]
    Wallet { kind: WalletErrorKind, coupon_id: Option<String>, reasons: Vec<String>, detail: String },
}

/// Which wallet refusal a [`FootfallError::Wallet`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum WalletErrorKind {
    /// No issuer key set is configured (`FootfallConfig.wallet_keyset`): the wallet is off.
    NotConfigured,
    /// No coupon with that id is in the wallet.
    UnknownCoupon,
    /// The coupon cannot be used now; see `reasons`.
    CouponUnusable,
    /// The device key failed (a locked keystore, a key that is gone, a signer that returned something unusable).
    DeviceKey,
    /// The request itself is invalid (a basket line, a store id, a till challenge).
    Invalid,
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
            Error::Wallet(e) => e.into(),
            // Not a sighting, or a pickup that cannot be watched for: the input was refused, nothing kept.
            Error::Proximity(e) => FootfallError::InvalidInput { reason: e.to_string() },
        }
    }
}

impl From<WalletError> for FootfallError {
    fn from(e: WalletError) -> Self {
        let detail = e.to_string();
        let (kind, coupon_id, reasons) = match e {
            WalletError::NotConfigured => (WalletErrorKind::NotConfigured, None, Vec::new()),
            WalletError::UnknownCoupon(id) => (WalletErrorKind::UnknownCoupon, Some(id), Vec::new()),
            WalletError::Unusable { coupon_id, reasons } => (WalletErrorKind::CouponUnusable, Some(coupon_id), reasons),
            WalletError::DeviceKey(_) => (WalletErrorKind::DeviceKey, None, Vec::new()),
            WalletError::Invalid(_) => (WalletErrorKind::Invalid, None, Vec::new()),
        };
        FootfallError::Wallet { kind, coupon_id, reasons, detail }
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
