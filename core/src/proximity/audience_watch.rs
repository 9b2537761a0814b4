//! Counts, per UTC day, the events the campaigns' audience rules watch ("viewed category `shoes` ≥ 2 times in 14
//! days"), so rules are judged on the device after the events themselves have been uploaded and deleted. Only
//! under `personalization`: without it nothing is counted, and a withdrawal deletes the counts.

use std::sync::Arc;

use super::config::ConfigCell;
use crate::consent::purpose::PERSONALIZATION;
use crate::consent::view::ConsentView;
use crate::event::{MessageKind, PendingMessage};
use crate::storage::Storage;

pub(crate) struct AudienceWatch {
    pub config: Arc<ConfigCell>,
    pub consent: Arc<ConsentView>,
}

impl AudienceWatch {
    /// Called by the writer after it committed `messages`.
    pub fn tally<I>(&self, storage: &Storage, messages: &[(PendingMessage, I)], now_ms: i64) {
        let config = self.config.get();
        let rules = &config.audience;
        if rules.is_empty() || self.consent.is_allowed(PERSONALIZATION, now_ms) != Some(true) {
            return;
        }
        let mut hits: Vec<(String, i64)> = Vec::new();
        for (message, _) in messages.iter().filter(|(m, _)| m.kind == MessageKind::Track) {
            if !rules.iter().any(|(rule, _)| rule.event == message.name()) {
                continue;
            }
            let Ok(properties) = serde_json::from_str::<serde_json::Value>(message.payload()) else { continue };
            for (_, key) in rules.iter().filter(|(rule, _)| rule.matches(message.name(), &properties)) {
                hits.push((key.clone(), message.timestamp_ms.div_euclid(86_400_000)));
            }
        }
        if hits.is_empty() {
            return;
        }
        let written = storage.write(|tx| {
            for (rule, day) in &hits {
                tx.tally_audience(rule, *day)?;
            }
            Ok(())
        });
        if let Err(e) = written {
            tracing::warn!(error = %e, "audience counts not written");
        }
    }
}
