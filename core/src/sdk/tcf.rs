//! TCF import mode on [`Footfall`]: the app's CMP decides the purposes TCF covers and Footfall records what its
//! TC string says (method `tcf_import`), so the two never disagree. The platform glue calls [`Footfall::import_tcf`]
//! at start-up and whenever `IABTCF_TCString` changes; calling it again with the same answer records nothing.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Footfall;
use crate::config::ConsentSource;
use crate::consent::record::Method;
use crate::consent::service::{ConsentChange, ConsentOutcome};
use crate::consent::tcf::{self, TcString};
use crate::consent::tcf_mapping;
use crate::consent::view::Snapshot;
use crate::error::{Error, Result, ValidationError};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcfImportResult {
    /// The CMP's answer was recorded.
    Recorded,
    /// The answer equals the recorded one; nothing was written.
    Unchanged,
    /// The CMP says GDPR does not apply (`IABTCF_gdprApplies` = 0); decisions are left as they are and the
    /// jurisdiction's defaults govern undecided purposes.
    GdprDoesNotApply,
    /// The CMP removed its TC string (the shopper reset consent): what it had granted is withdrawn.
    Cleared,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcfImport {
    pub result: TcfImportResult,
    /// What the string decided about each mapped purpose (empty when nothing was read from it).
    pub decisions: BTreeMap<String, bool>,
    #[serde(skip)]
    pub outcome: ConsentOutcome,
}

impl TcfImport {
    fn nothing(result: TcfImportResult) -> Self {
        TcfImport { result, decisions: BTreeMap::new(), outcome: ConsentOutcome::default() }
    }
}

impl Footfall {
    /// Imports the CMP's decision. `tc_string` is `IABTCF_TCString` (`None` or empty when the CMP has none),
    /// `gdpr_applies` is `IABTCF_gdprApplies` when the CMP set it. An unreadable string is refused with the
    /// decoder's reason and the current decisions stay.
    pub fn import_tcf(&self, tc_string: Option<&str>, gdpr_applies: Option<bool>) -> Result<TcfImport> {
        let ConsentSource::Tcf { vendor_id } = self.consent_source else {
            return Err(Error::Config(
                "TCF import mode is off: turn it on in the consent settings (tcfImport) first".into(),
            ));
        };
        if gdpr_applies == Some(false) {
            return Ok(TcfImport::nothing(TcfImportResult::GdprDoesNotApply));
        }
        let snapshot = self.loaded_consent()?;
        let Some(text) = tc_string.map(str::trim).filter(|s| !s.is_empty()) else {
            return self.clear_imported(&snapshot);
        };
        let tc: TcString = tcf::decode(text).map_err(|e| ValidationError::TcString(e.to_string()))?;
        let decisions = tcf_mapping::decisions(&tc, vendor_id);
        let now = self.clock.now_ms();
        let unchanged = decisions.iter().all(|(purpose, granted)| {
            snapshot.state.decisions.get(purpose).is_some_and(|d| {
                d.granted == *granted
                    && d.method == Method::TcfImport { cmp_id: tc.cmp_id }
                    && snapshot.state.decision_valid(purpose, &snapshot.policy, now)
            })
        });
        if unchanged {
            return Ok(TcfImport { result: TcfImportResult::Unchanged, decisions, outcome: ConsentOutcome::default() });
        }
        let method = Method::TcfImport { cmp_id: tc.cmp_id };
        let outcome = self.change_consent(ConsentChange::Decide { decisions: decisions.clone(), method })?;
        Ok(TcfImport { result: TcfImportResult::Recorded, decisions, outcome })
    }

    /// Withdraws the grants an earlier import made; nothing to do when there are none.
    fn clear_imported(&self, snapshot: &Snapshot) -> Result<TcfImport> {
        let mut cmp_id = None;
        let mut decisions = BTreeMap::new();
        for (purpose, decision) in &snapshot.state.decisions {
            if let (Method::TcfImport { cmp_id: id }, true) = (&decision.method, decision.granted) {
                cmp_id = Some(*id);
                decisions.insert(purpose.clone(), false);
            }
        }
        let Some(cmp_id) = cmp_id else {
            return Ok(TcfImport::nothing(TcfImportResult::Unchanged));
        };
        let change = ConsentChange::Decide { decisions: decisions.clone(), method: Method::TcfImport { cmp_id } };
        let outcome = self.change_consent(change)?;
        Ok(TcfImport { result: TcfImportResult::Cleared, decisions, outcome })
    }

    /// In TCF import mode the mapped purposes belong to the CMP: deciding them any other way would fight it.
    pub(super) fn check_decidable(&self, purposes: &[&str], method: &Method) -> Result<()> {
        // Only `import_tcf` records a TCF import (it does not come through here): an app cannot claim one.
        if matches!(method, Method::TcfImport { .. }) {
            return Err(ValidationError::TcfImportMethod.into());
        }
        if matches!(self.consent_source, ConsentSource::Tcf { .. }) {
            if let Some(p) = purposes.iter().find(|p| tcf_mapping::is_mapped(p)) {
                return Err(ValidationError::DecidedByCmp(p.to_string()).into());
            }
        }
        Ok(())
    }

    /// Whether Footfall's own prompts ask about `purpose` (not when the CMP does).
    pub(super) fn prompts_for(&self, purpose: &str) -> bool {
        !(matches!(self.consent_source, ConsentSource::Tcf { .. }) && tcf_mapping::is_mapped(purpose))
    }
}
