//! Encryption at rest: personal values in the database (event properties and traits, user ids, …) are sealed
//! with AES-256-GCM under a random data key; the data key is stored only wrapped by a key the platform keeps
//! ([`KeyProvider`]: Android Keystore, the iOS Keychain, or an owner-only file on desktops). Each sealed value is
//! bound to where it belongs (its [`Binding`]: what it is and which row), so a value copied to another row or
//! column fails to open like a tampered one. Pure: storage decides what to seal and when.

mod data_key;
mod nonces;
mod provider;

pub use data_key::{Binding, DataKey, Opened, SEAL_OVERHEAD};
pub use provider::{FileKeyProvider, KeyError, KeyProvider, KEY_FILE};

use std::sync::Arc;

/// Where the key that wraps the data key comes from (the SDK configuration's `encryption`).
#[derive(Clone, Default)]
pub enum Encryption {
    /// [`FileKeyProvider`] in the data directory: the default for the CLI and desktops.
    #[default]
    KeyFile,
    /// The platform's key store (Android Keystore, the iOS Keychain), through the bindings.
    Provider(Arc<dyn KeyProvider>),
    /// Nothing encrypted: for measuring what encryption costs (`footfall bench`), never for an app.
    Off,
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Encryption::KeyFile => f.write_str("KeyFile"),
            Encryption::Provider(p) => write!(f, "Provider({})", p.describe()),
            Encryption::Off => f.write_str("Off"),
        }
    }
}
