//! Encryption at rest, as an app asks for it: rotating the data key.

use super::Footfall;
use crate::error::Result;

impl Footfall {
    /// Re-encrypts everything sealed on the device under a new data key, wrapped by the key provider's key as it is
    /// now (after the app rotated its Keystore or Keychain key, say), in one transaction; events tracked before the
    /// call are included. The new key's id; `None` when encryption is off.
    pub fn rotate_encryption_key(&self) -> Result<Option<u32>> {
        let storage = self.storage()?;
        self.handoff.barrier()?;
        storage.rotate_encryption_key()
    }
}
