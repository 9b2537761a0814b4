//! The platform's key store (Android Keystore, the iOS Keychain) as a foreign trait, adapted to the core's
//! `KeyProvider`: it wraps the data key that encryption at rest seals personal values with. Kept apart so the
//! constructor (`footfall.rs`) can take one, like the device signer.

use std::sync::Arc;

use footfall_core::crypto::{self, KeyError};

/// Why the platform could not wrap or unwrap the data key. Which one it is decides what happens to the data, so a
/// key store that cannot tell says `Unavailable`: the SDK then retries, and never deletes anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum KeyProviderError {
    /// Not now (the device is still locked after a restart, the key store is busy, an error the key store does not
    /// explain): nothing is reset; opening the SDK's storage fails as retryable and the SDK tries again.
    #[error("the key is unavailable for now: {reason}")]
    Unavailable { reason: String },
    /// Gone for good (app data restored on another device, the key invalidated or deleted, a wrapped key the key
    /// no longer opens): the sealed data can never be read again, so the SDK starts it over and counts it in
    /// `Status::key_resets`.
    #[error("the key is lost: {reason}")]
    Lost { reason: String },
}

/// A foreign exception the trait does not declare is taken for `Unavailable`: a surprise must never delete data.
impl From<uniffi::UnexpectedUniFFICallbackError> for KeyProviderError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeyProviderError::Unavailable { reason: format!("the key provider failed: {}", e.reason) }
    }
}

/// The key that wraps the SDK's data key, kept by the platform: implemented by the platform layer with Android
/// Keystore or the iOS Keychain so the wrapping key stays on the device (never in a backup). Without one the SDK
/// keeps the wrapping key in a file next to its database: weaker, since whoever can read the app's files reads
/// both. Called on the SDK's writer thread when the database opens (`unwrap`) and when its data key is made
/// (`wrap`: the first open, and after a lost key), never on the app's thread.
#[uniffi::export(with_foreign)]
pub trait KeyProvider: Send + Sync {
    /// `data_key` (32 random bytes) encrypted by the platform's key, as the bytes to store.
    fn wrap(&self, data_key: Vec<u8>) -> Result<Vec<u8>, KeyProviderError>;
    /// The data key back from what `wrap` returned (in this install, or in the one a backup came from).
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyProviderError>;
    /// Which key store this is (`"android-keystore"`, `"ios-keychain"`): stored with the wrapped key, and a
    /// database wrapped by one key store is refused (a `Config` error) by a provider that names another (one of the
    /// default key file is moved to it, once), so the name must not change for the life of an install. Asked once, when the SDK is made: an error there is a
    /// configuration error for the app, never a failure on the SDK's threads.
    fn describe(&self) -> Result<String, KeyProviderError>;
}

/// The core-side provider that forwards to the foreign one: bytes copied across, errors mapped one to one; the
/// name read once.
pub(crate) struct ForeignKeyProvider {
    foreign: Arc<dyn KeyProvider>,
    name: String,
}

impl ForeignKeyProvider {
    pub(crate) fn new(foreign: Arc<dyn KeyProvider>) -> Result<Self, KeyProviderError> {
        let name = foreign.describe()?;
        Ok(ForeignKeyProvider { foreign, name })
    }
}

impl From<KeyProviderError> for KeyError {
    fn from(e: KeyProviderError) -> Self {
        match e {
            KeyProviderError::Unavailable { reason } => KeyError::Unavailable(reason),
            KeyProviderError::Lost { reason } => KeyError::Lost(reason),
        }
    }
}

impl crypto::KeyProvider for ForeignKeyProvider {
    fn wrap(&self, data_key: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(self.foreign.wrap(data_key.to_vec())?)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(self.foreign.unwrap(wrapped.to_vec())?)
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::KeyProvider as _;

    struct Failing(KeyProviderError);

    impl KeyProvider for Failing {
        fn wrap(&self, _: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
            Err(self.0.clone())
        }
        fn unwrap(&self, _: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
            Err(self.0.clone())
        }
        fn describe(&self) -> Result<String, KeyProviderError> {
            Ok("test".into())
        }
    }

    #[test]
    fn the_foreign_errors_become_the_cores_and_a_surprise_is_never_a_lost_key() {
        let lost = ForeignKeyProvider::new(Arc::new(Failing(KeyProviderError::Lost { reason: "invalidated".into() })))
            .unwrap();
        assert_eq!(lost.unwrap(&[1]), Err(KeyError::Lost("invalidated".into())));
        let busy =
            ForeignKeyProvider::new(Arc::new(Failing(KeyProviderError::Unavailable { reason: "locked".into() })))
                .unwrap();
        assert_eq!(busy.wrap(&[1]), Err(KeyError::Unavailable("locked".into())));
        assert_eq!(busy.describe(), "test");
        // What an undeclared foreign exception arrives as.
        let surprise: KeyProviderError = uniffi::UnexpectedUniFFICallbackError::new("IllegalStateException").into();
        assert!(
            matches!(KeyError::from(surprise), KeyError::Unavailable(why) if why.contains("IllegalStateException"))
        );
    }
}
