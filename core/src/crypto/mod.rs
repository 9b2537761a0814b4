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
