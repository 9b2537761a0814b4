//! The coupon wallet's pure core: everything the phone and the till decide without storage or network. Every
//! function here is deterministic given its inputs (time is a parameter; the only randomness is inside ECDSA
//! signing), so the storage, feed, FFI and CLI layers wrap it without re-deciding anything.
//!
//! - [`grant`]: the issuer's signed coupon — compact canonical bytes, Ed25519, verified before it is returned;
//! - [`keys`]: the pinned issuer key set, its JSON form and rotation signed by a trusted key;
//! - [`validity`]: store-local days in an IANA zone to UTC bounds, grace, and the server-time offset from
//!   `Date` headers;
//! - [`evaluate`]: "why didn't it apply?" — per coupon, the discount or the reason codes, with stacking;
//! - [`redemption`]: device-bound redemption codes (P-256 proof, counter, time bucket, till challenge) and the
//!   offline till's [`verify_redemption`]; [`qr`]: the code's QR module matrix; `base45`: its text form.
//!
//! How the next layers use it:
//! - feed: each grant's bytes go through [`verify_grant`] with the pinned [`KeySet`] and the server-corrected
//!   time ([`ServerClock`]); a [`GrantError`] is counted with its reason and the rest of the feed applies; only
//!   [`VerifiedGrant::bytes`] are stored, and re-verified when read back. Key set updates go through
//!   [`KeySet::accept_rotation`] before they replace the pinned set.
//! - storage: keeps [`CouponState`] per coupon (uses, offline uses and value since sync, revoked) and the
//!   device's presentation counter, which must be durable *before* [`present_code`] is called with it; the
//!   software device key's PKCS#8 ([`SoftwareDeviceSigner`]) when the platform offers no hardware key.
//! - FFI: [`DeviceSigner`] becomes a foreign trait (its error type must absorb UniFFI's unexpected-callback
//!   error); [`QrMatrix`], [`CouponOutcome`] and [`Reason::code`] map onto records; every function here returns
//!   a typed error for bad input and never panics.

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
