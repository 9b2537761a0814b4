//! Footfall's foreign-language facade: UniFFI proc-macro exports over `footfall-core`, nothing more.
//! Kotlin (`dev.footfall.ffi`) and Swift bindings are generated from the built library in library mode.
//!
//! One job per file: [`config`] (the settings record), [`error`] (the one error enum), [`footfall`] (the
//! long-lived SDK object), [`consent`] (its consent and rights methods), [`consent_records`] (their records), [`records`] (what it reports), [`transport`] (the app's HTTP client as a foreign
//! trait), [`log`] (`tracing` records to a foreign log sink), [`listener`] (SDK events to the app), [`wallet`]
//! (the coupon wallet's methods and the till's check), [`wallet_records`] (their records), [`device_signer`]
//! (the wallet's device key as a foreign trait), [`key_provider`] (the platform's key store, which wraps the data
//! key of encryption at rest, as a foreign trait), [`proximity`] (store proximity's methods) and
//! [`proximity_records`] (their records).

uniffi::setup_scaffolding!();

pub mod config;
pub mod consent;
pub mod consent_records;
pub mod device_signer;
pub mod error;
pub mod footfall;
pub mod key_provider;
pub mod listener;
pub mod log;
pub mod proximity;
pub mod proximity_records;
pub mod records;
pub mod transport;
pub mod wallet;
pub mod wallet_records;

pub use config::{ConsentSettings, FlushPolicy, FootfallConfig, StorageLimits};
pub use device_signer::DeviceSigner;
pub use error::{FootfallError, WalletErrorKind};
pub use footfall::{BatchReport, Footfall, StampedEvent, TrackedEvent};
pub use key_provider::{KeyProvider, KeyProviderError};
pub use listener::{EventListener, FootfallEvent};
pub use log::{LogLevel, LogRecord, LogSink};
pub use proximity_records::{Ingested, Offer, Pickup, ProximityStatus, Visit, VisitPhase, ZonePresence};
pub use records::{DeadLetter, Evicted, FlushOutcome, FlushReport, LaneCondition, LaneStatus, Status};
pub use transport::{HttpHeader, HttpRequest, HttpResponse, HttpTransport};
pub use wallet::{qr_code, verify_redemption, Till};
pub use wallet_records::{
    Basket, BasketLine, Coupon, CouponOutcome, CouponState, PresentedCode, QrCode, RedemptionVerdict, WalletRefusal,
    WalletSyncReport,
};
