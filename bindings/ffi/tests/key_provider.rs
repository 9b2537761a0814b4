//! The platform's key store through the facade, as Kotlin and Swift pass theirs: a foreign `KeyProvider` wraps the
//! data key instead of the default key file, a lost key is a counted reset, an unavailable one a retry that
//! resets nothing, and a database sealed under one key store is refused by another.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use footfall_ffi::{FlushPolicy, Footfall, FootfallConfig, FootfallError, KeyProvider, KeyProviderError};

fn config(dir: &std::path::Path) -> FootfallConfig {
    let mut config = footfall_ffi::config::default_config(dir.to_string_lossy().into_owned());
    config.flush_policy = FlushPolicy { automatic: false, ..FlushPolicy::default() };
    config.consent.enforce = false;
    config.consent.policy_refresh_interval_ms = 0;
    config
}

/// What `unwrap` answers next: the scripted failures first, then the real answer.
#[derive(Clone)]
enum Answer {
    Lost,
    Unavailable,
}

/// A key store of one fixed pad (a reversible stand-in for AES-GCM: the plumbing is under test, not the cipher).
struct PadProvider {
    name: &'static str,
    wraps: AtomicUsize,
    unwraps: AtomicUsize,
    script: Mutex<Vec<Answer>>,
}

impl PadProvider {
    fn new(name: &'static str, script: &[Answer]) -> Arc<Self> {
        Arc::new(PadProvider {
            name,
            wraps: AtomicUsize::new(0),
            unwraps: AtomicUsize::new(0),
            script: Mutex::new(script.to_vec()),
        })
    }

    fn xor(bytes: &[u8]) -> Vec<u8> {
        bytes.iter().enumerate().map(|(i, b)| b ^ (0xA5 ^ i as u8)).collect()
    }
}

impl KeyProvider for PadProvider {
    fn wrap(&self, data_key: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
        self.wraps.fetch_add(1, Ordering::SeqCst);
        Ok(Self::xor(&data_key))
    }

    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
        self.unwraps.fetch_add(1, Ordering::SeqCst);
        let mut script = self.script.lock().unwrap();
        match (!script.is_empty()).then(|| script.remove(0)) {
            Some(Answer::Lost) => Err(KeyProviderError::Lost { reason: "key invalidated".into() }),
            Some(Answer::Unavailable) => Err(KeyProviderError::Unavailable { reason: "device locked".into() }),
            None => Ok(Self::xor(&wrapped)),
        }
    }

    fn describe(&self) -> Result<String, KeyProviderError> {
        Ok(self.name.into())
    }
}

/// Tracks an event with a property and identifies a user under `provider`, then closes.
fn seal_some(dir: &std::path::Path, provider: &Arc<PadProvider>) {
    let sdk = Footfall::new(config(dir), None, None, None, Some(provider.clone())).unwrap();
    sdk.track("product_viewed".into(), r#"{"sku":"secret-sku-4901"}"#.into(), None).unwrap();
    sdk.identify("shopper-42".into(), "{}".into()).unwrap();
    sdk.flush_to_disk().unwrap();
    sdk.close();
}

#[test]
fn the_foreign_provider_wraps_the_data_key_and_reopening_reads_what_it_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let provider = PadProvider::new("test-pad", &[]);
    seal_some(dir.path(), &provider);
    assert_eq!(provider.wraps.load(Ordering::SeqCst), 1, "one data key, wrapped once");
    assert!(!dir.path().join("footfall.key").exists(), "no key file: the provider holds the wrapping key");

    let sdk = Footfall::new(config(dir.path()), None, None, None, Some(provider.clone())).unwrap();
    let export = sdk.export_data().unwrap();
    assert!(export.contains("secret-sku-4901") && export.contains("shopper-42"), "{export}");
    let status = sdk.status().unwrap();
    assert_eq!((status.pending, status.key_resets, status.unreadable_values), (2, 0, 0));
    assert_eq!((provider.wraps.load(Ordering::SeqCst), provider.unwraps.load(Ordering::SeqCst)), (1, 1));
}

#[test]
fn a_lost_key_starts_the_sealed_data_over_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    seal_some(dir.path(), &PadProvider::new("test-pad", &[]));

    let lost = PadProvider::new("test-pad", &[Answer::Lost]);
    let sdk = Footfall::new(config(dir.path()), None, None, None, Some(lost.clone())).unwrap();
    let status = sdk.status().unwrap();
    assert_eq!((status.pending, status.key_resets), (0, 1));
    let export = sdk.export_data().unwrap();
    assert!(!export.contains("shopper-42"), "{export}");
    assert_eq!(lost.wraps.load(Ordering::SeqCst), 1, "a new data key, wrapped by the same provider");
    // The new key is in force: what is tracked now survives the next start.
    sdk.track("after_reset".into(), "{}".into(), None).unwrap();
    sdk.close();
    let sdk = Footfall::new(config(dir.path()), None, None, None, Some(lost)).unwrap();
    let status = sdk.status().unwrap();
    assert_eq!((status.pending, status.key_resets), (1, 1));
}

#[test]
fn an_unavailable_key_is_retried_and_resets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    seal_some(dir.path(), &PadProvider::new("test-pad", &[]));

    // Locked twice (the writer retries after 50 and 100 ms), then there.
    let locked = PadProvider::new("test-pad", &[Answer::Unavailable, Answer::Unavailable]);
    let sdk = Footfall::new(config(dir.path()), None, None, None, Some(locked.clone())).unwrap();
    let status = sdk.status().unwrap();
    assert_eq!((status.pending, status.key_resets), (2, 0));
    assert_eq!(locked.unwraps.load(Ordering::SeqCst), 3);
    assert_eq!(locked.wraps.load(Ordering::SeqCst), 0, "no new data key");
    assert!(sdk.export_data().unwrap().contains("secret-sku-4901"));
}

#[test]
fn a_database_sealed_under_one_key_store_is_refused_by_another() {
    let dir = tempfile::tempdir().unwrap();
    seal_some(dir.path(), &PadProvider::new("test-pad", &[]));

    let other = PadProvider::new("other-store", &[]);
    let sdk = Footfall::new(config(dir.path()), None, None, None, Some(other.clone())).unwrap();
    assert!(
        matches!(sdk.status(), Err(FootfallError::Config { reason }) if reason.contains("'test-pad', not 'other-store'"))
    );
    assert_eq!(other.unwraps.load(Ordering::SeqCst), 0, "never taken for a lost key");
    sdk.close();
    // The default key file is another key store too.
    let sdk = Footfall::new(config(dir.path()), None, None, None, None).unwrap();
    assert!(matches!(sdk.status(), Err(FootfallError::Config { reason }) if reason.contains("not 'file'")));
    sdk.close();
    let sdk = Footfall::new(config(dir.path()), None, None, None, Some(PadProvider::new("test-pad", &[]))).unwrap();
    assert_eq!(sdk.status().unwrap().key_resets, 0, "the right provider still opens it");
}
