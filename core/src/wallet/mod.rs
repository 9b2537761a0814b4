//! The coupon wallet. Its rules are pure functions — deterministic given their inputs (time is a parameter; the
//! only randomness is inside ECDSA signing) — and [`service`] runs them over the storage type for the device:
//!
//! - [`grant`]: the issuer's signed coupon — a till part and a display part, each signed with Ed25519, verified
//!   before anything is returned; [`keys`]: the pinned issuer key set, its JSON and rotation under a trusted key;
//! - [`validity`]: store-local days in an IANA zone to UTC bounds, grace, the server-time offset from `Date`;
//! - [`evaluate`](mod@evaluate): "why didn't it apply?" — per coupon, the discount or the reason codes, with stacking;
//! - [`redemption`]: device-bound redemption codes (P-256 proof, counter, time bucket, till challenge) and the
//!   offline till's [`verify_redemption`]; [`issuer`]: the issuer's check of a code at its presentation time;
//!   [`qr`]: the code's QR module matrix; `base45`: its text form;
//! - [`feed`]: a feed page read and every grant in it verified, entry by entry; [`lifecycle`]: a coupon's states;
//! - [`service`]: the device's wallet over storage — list, clip, present (counter durable before the code),
//!   evaluate, feed pages and the issuer's answers applied. The sync layer's `wallet_feed` and `wallet_outbox`
//!   move it over the network, and `Footfall` exposes it (this module imports neither).

mod base45;
mod codec;
pub mod evaluate;
pub mod feed;
pub mod grant;
pub mod issuer;
pub mod keys;
pub mod lifecycle;
pub mod qr;
pub mod redemption;
pub mod service;
pub mod validity;

pub use codec::CodecError;
pub use evaluate::{
    evaluate, standing, Basket, BasketError, BasketLine, CouponOutcome, CouponState, Reason, WalletCoupon,
};
pub use grant::{
    display_terms_ref, verify_grant, Discount, Eligibility, Grant, GrantError, Gtin, OfflinePolicy, VerifiedGrant,
};
pub use issuer::{refusal_reason, verify_at_issuer, IssuerRedemption};
pub use keys::{sign_rotation, IssuerKey, IssuerSigner, KeySet, KeySetError};
pub use qr::{qr_matrix, QrError, QrMatrix};
pub use redemption::{
    decode_code, device_id, encode_code, present_code, sign_proof, verify_redemption, DecodedCode, DeviceSigner,
    DeviceSignerError, PresentError, Proof, RedeemedSerials, RedemptionRefused, SoftwareDeviceSigner,
    VerifiedRedemption,
};
pub use validity::{
    local_day_bounds, parse_imf_fixdate, DateHeaderError, LocalDate, LocalDates, OutsideValidity, ServerClock,
    Validity, ValidityError,
};
