//! Proof of consent: append-only records, each carrying the hash of the one before it, so editing or removing a
//! stored record breaks the chain. Fields follow ISO/IEC TS 27560 and the Kantara consent receipt.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::purpose::Jurisdiction;

/// `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How a decision was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Method {
    /// The shopper answered this prompt.
    Prompt { prompt_id: String },
    /// The shopper changed it in the app's privacy settings.
    Settings,
    /// The app called the API directly.
    Api,
    /// Imported from another CMP's IAB TCF string.
    TcfImport { cmp_id: u16 },
}

/// What a record says happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// Decisions for the listed purposes.
    Decision,
    /// A prompt was about to render. Never a decision: a kill while it is visible leaves the shopper undecided.
    PromptShown,
}

/// One entry of the consent log. `hash` covers every other field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub record_id: String,
    pub kind: RecordKind,
    /// Pseudonymous: the anonymous id in force, never the user id.
    pub subject_id: String,
    pub timestamp_ms: i64,
    pub policy_version: u32,
    pub notice_hash: String,
    /// purpose → granted; empty for `PromptShown`.
    pub decisions: BTreeMap<String, bool>,
    pub method: Method,
    pub jurisdiction: Jurisdiction,
    pub app_version: String,
    pub sdk_version: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A record before it is chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub record_id: String,
    pub kind: RecordKind,
    pub subject_id: String,
    pub timestamp_ms: i64,
    pub policy_version: u32,
    pub notice_hash: String,
    pub decisions: BTreeMap<String, bool>,
    pub method: Method,
    pub jurisdiction: Jurisdiction,
    pub app_version: String,
}

impl NewRecord {
    /// Links the record after `prev_hash` and seals it.
    pub fn chain(self, prev_hash: &str) -> ConsentRecord {
        let mut record = ConsentRecord {
            record_id: self.record_id,
            kind: self.kind,
            subject_id: self.subject_id,
            timestamp_ms: self.timestamp_ms,
            policy_version: self.policy_version,
            notice_hash: self.notice_hash,
            decisions: self.decisions,
            method: self.method,
            jurisdiction: self.jurisdiction,
            app_version: self.app_version,
            sdk_version: env!("CARGO_PKG_VERSION").to_string(),
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        record
    }
}

impl ConsentRecord {
    /// SHA-256 over the canonical JSON of every field but `hash` (struct order, sorted maps: deterministic).
    pub fn compute_hash(&self) -> String {
        let mut unsealed = self.clone();
        unsealed.hash = String::new();
        let canonical = serde_json::to_vec(&unsealed).unwrap_or_default();
        hex(ring::digest::digest(&ring::digest::SHA256, &canonical).as_ref())
    }
}

/// Where a chain stops verifying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("record {index} ({record_id}) does not match its hash: it was edited")]
    Tampered { index: usize, record_id: String },
    #[error("record {index} ({record_id}) does not follow the record before it: one was removed or reordered")]
    Broken { index: usize, record_id: String },
}

/// Verifies the whole log from the genesis hash; `Ok` holds the hash of the last record.
pub fn verify_chain(records: &[ConsentRecord]) -> Result<String, ChainError> {
    let mut prev = GENESIS_HASH.to_string();
    for (index, record) in records.iter().enumerate() {
        if record.prev_hash != prev {
            return Err(ChainError::Broken { index, record_id: record.record_id.clone() });
        }
        if record.compute_hash() != record.hash {
            return Err(ChainError::Tampered { index, record_id: record.record_id.clone() });
        }
        prev = record.hash.clone();
    }
    Ok(prev)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(id: &str, analytics: bool) -> NewRecord {
        NewRecord {
            record_id: id.into(),
            kind: RecordKind::Decision,
            subject_id: "anon-1".into(),
            timestamp_ms: 1_795_000_000_000,
            policy_version: 3,
            notice_hash: "sha256:abc".into(),
            decisions: BTreeMap::from([("analytics".to_string(), analytics)]),
            method: Method::Prompt { prompt_id: "main".into() },
            jurisdiction: Jurisdiction::Gdpr,
            app_version: "1.2.3".into(),
        }
    }

    fn chain(n: usize) -> Vec<ConsentRecord> {
        let mut out: Vec<ConsentRecord> = Vec::new();
        for i in 0..n {
            let prev = out.last().map_or(GENESIS_HASH.to_string(), |r| r.hash.clone());
            out.push(new(&format!("r{i}"), i % 2 == 0).chain(&prev));
        }
        out
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let records = chain(5);
        assert_eq!(verify_chain(&records), Ok(records[4].hash.clone()));
        assert_eq!(verify_chain(&[]), Ok(GENESIS_HASH.to_string()));
        assert_eq!(records[0].hash.len(), 64);
    }

    type Edit = Box<dyn Fn(&mut ConsentRecord)>;

    #[test]
    fn editing_any_field_is_detected() {
        let records = chain(4);
        let edits: Vec<Edit> = vec![
            Box::new(|r| *r.decisions.get_mut("analytics").unwrap() ^= true),
            Box::new(|r| r.timestamp_ms += 1),
            Box::new(|r| r.policy_version += 1),
            Box::new(|r| r.method = Method::Api),
            Box::new(|r| r.subject_id.push('x')),
        ];
        for edit in edits {
            let mut tampered = records.clone();
            edit(&mut tampered[2]);
            assert_eq!(verify_chain(&tampered), Err(ChainError::Tampered { index: 2, record_id: "r2".into() }));
        }
    }

    #[test]
    fn removing_or_reordering_records_is_detected() {
        let mut removed = chain(4);
        removed.remove(1);
        assert!(matches!(verify_chain(&removed), Err(ChainError::Broken { index: 1, .. })));
        let mut swapped = chain(4);
        swapped.swap(1, 2);
        assert!(matches!(verify_chain(&swapped), Err(ChainError::Broken { index: 1, .. })));
    }

    #[test]
    fn a_resealed_edit_still_breaks_the_next_link() {
        let mut records = chain(3);
        records[1].decisions.insert("analytics".into(), true);
        records[1].hash = records[1].compute_hash();
        assert!(matches!(verify_chain(&records), Err(ChainError::Broken { index: 2, .. })));
    }
}
