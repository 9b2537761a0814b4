//! Where the data key's wrapping key lives. The platform layers implement [`KeyProvider`] over Android Keystore
//! and the iOS Keychain; [`FileKeyProvider`] is the default for the CLI and desktops: a random key in an
//! owner-only file next to the database — weaker, since whoever can read the app's files reads both.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

/// The default provider's key file, in the data directory.
pub const KEY_FILE: &str = "footfall.key";
const WRAP_AAD: &[u8] = b"footfall/data-key/v1";
const NONCE: usize = 12;

/// Why the platform could not give the wrapping key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not now (the device is still locked after a restart; the keystore is busy): nothing is reset, and opening
    /// fails with a retryable error.
    #[error("the key is unavailable for now: {0}")]
    Unavailable(String),
    /// Gone for good (app data restored on another device, the keystore wiped, the key file deleted): what it
    /// protected can never be read again, so storage starts that data over, and counts it.
    #[error("the key is lost: {0}")]
    Lost(String),
}

/// Wraps and unwraps the data key with a key the platform keeps. Called at open and at key rotation only.
pub trait KeyProvider: Send + Sync {
    /// The data key encrypted for storage (e.g. AES-GCM under a Keystore key that never leaves the hardware).
    fn wrap(&self, data_key: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// The data key back from what [`KeyProvider::wrap`] returned.
    fn unwrap(&self, wrapped: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// Where the wrapping key lives, for `status()` and diagnostics (`"file"`, `"android-keystore"`, …).
    fn describe(&self) -> String;
}

/// A random AES-256 key in a file readable by the owner only (created on first use, mode 0600).
#[derive(Debug, Clone)]
pub struct FileKeyProvider {
    path: PathBuf,
}

impl FileKeyProvider {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileKeyProvider { path: path.into() }
    }

    /// The default: [`KEY_FILE`] in the data directory.
    pub fn in_dir(dir: &Path) -> Self {
        FileKeyProvider::new(dir.join(KEY_FILE))
    }

    fn key(&self, create: bool) -> Result<LessSafeKey, KeyError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => self.create()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Lost(format!("no key file at {}", self.path.display())))
            }
            Err(e) => return Err(KeyError::Unavailable(format!("cannot read the key file: {e}"))),
        };
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| KeyError::Lost(format!("the key file {} is damaged", self.path.display())))?;
        Ok(LessSafeKey::new(key))
    }

    fn create(&self) -> Result<Vec<u8>, KeyError> {
        let unavailable = |e: std::io::Error| KeyError::Unavailable(format!("cannot create the key file: {e}"));
        let mut bytes = vec![0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::Unavailable(format!("no randomness: {e}")))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        match options.open(&self.path) {
            Ok(mut file) => {
                file.write_all(&bytes).map_err(unavailable)?;
                file.sync_all().map_err(unavailable)?;
                Ok(bytes)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(&self.path).map_err(unavailable),
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl KeyProvider for FileKeyProvider {
    fn wrap(&self, data_key: &[u8]) -> Result<Vec<u8>, KeyError> {
        let key = self.key(true)?;
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce).map_err(|e| KeyError::Unavailable(format!("no randomness: {e}")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(data_key);
        let tag = key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(WRAP_AAD), &mut out[NONCE..])
            .map_err(|_| KeyError::Unavailable("cannot wrap the data key".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Vec<u8>, KeyError> {
        let key = self.key(false)?;
        if wrapped.len() < NONCE + 16 {
            return Err(KeyError::Lost("the wrapped data key is damaged".into()));
        }
        let mut nonce = [0u8; NONCE];
        nonce.copy_from_slice(&wrapped[..NONCE]);
        let mut body = wrapped[NONCE..].to_vec();
        let plain = key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(WRAP_AAD), &mut body)
            // Another key file (restored from elsewhere, replaced): this data key can never be had again.
            .map_err(|_| KeyError::Lost("the key file does not open the stored data key".into()))?;
        Ok(plain.to_vec())
    }

    fn describe(&self) -> String {
        "file".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_owner_only_and_wraps_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let provider = FileKeyProvider::in_dir(dir.path());
        let wrapped = provider.wrap(&[7; 32]).unwrap();
        assert_eq!(provider.unwrap(&wrapped).unwrap(), vec![7; 32]);
        assert!(!wrapped.windows(32).any(|w| w == [7; 32]), "wrapped, not copied");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_missing_or_other_key_file_is_a_lost_key_never_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let provider = FileKeyProvider::in_dir(dir.path());
        let wrapped = provider.wrap(&[1; 32]).unwrap();
        std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        assert!(matches!(provider.unwrap(&wrapped), Err(KeyError::Lost(_))));
        assert!(!dir.path().join(KEY_FILE).exists(), "unwrapping never creates a key");
        provider.wrap(&[2; 32]).unwrap();
        assert!(matches!(provider.unwrap(&wrapped), Err(KeyError::Lost(_))), "a new key file opens nothing old");
        std::fs::write(dir.path().join(KEY_FILE), b"short").unwrap();
        assert!(matches!(provider.unwrap(&wrapped), Err(KeyError::Lost(_))));
    }
}
