//! The wallet's device key from the platform (Android Keystore, the Secure Enclave) as a foreign trait, adapted to
//! the core's `DeviceSigner`. Kept apart from the wallet's methods so the constructor (`footfall.rs`) can take one.

use std::sync::Arc;

use footfall_core::wallet::{self as core_wallet, DeviceSignerError};

use crate::error::FootfallError;

/// The wallet's per-device P-256 key, implemented by the platform layer with Android Keystore or the Secure
/// Enclave so the private key never leaves them. Without one the SDK keeps a software key in its database:
/// weaker, since a copy of the app's data can present as this device. Called on the thread of
/// `wallet_present` (never the main thread through the Kotlin and Swift layers); a thrown error refuses that
/// presentation with a `DeviceKey` wallet error and uses no counter twice.
#[uniffi::export(with_foreign)]
pub trait DeviceSigner: Send + Sync {
    /// The 65-byte uncompressed SEC1 public key (`0x04 ‖ x ‖ y`).
    fn public_key(&self) -> Result<Vec<u8>, FootfallError>;
    /// ECDSA P-256 with SHA-256 over `message`, as 64 bytes `r ‖ s` (not DER).
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, FootfallError>;
}

/// The core-side signer that forwards to the foreign one. Any error, an undeclared foreign exception included
/// (it arrives as `FootfallError::Callback`), becomes the core's signer error.
pub(crate) struct ForeignSigner(pub Arc<dyn DeviceSigner>);

impl core_wallet::DeviceSigner for ForeignSigner {
    fn public_key(&self) -> Result<Vec<u8>, DeviceSignerError> {
        self.0.public_key().map_err(|e| DeviceSignerError(e.to_string()))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DeviceSignerError> {
        self.0.sign(message.to_vec()).map_err(|e| DeviceSignerError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_foreign_signer_becomes_the_cores_signer_error() {
        struct Locked;
        impl DeviceSigner for Locked {
            fn public_key(&self) -> Result<Vec<u8>, FootfallError> {
                Err(FootfallError::Callback { reason: "KeyStoreException: locked".into() })
            }
            fn sign(&self, _: Vec<u8>) -> Result<Vec<u8>, FootfallError> {
                Err(FootfallError::Callback { reason: "unreachable".into() })
            }
        }
        let signer = ForeignSigner(Arc::new(Locked));
        let e = core_wallet::DeviceSigner::public_key(&signer).unwrap_err();
        assert!(e.0.contains("KeyStoreException: locked"), "{e}");
    }
}
