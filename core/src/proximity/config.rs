//! Store proximity's configuration: the `proximity` member of the remote configuration (`GET /v1/config`), or the
//! same document bundled with the app. Versioned like the consent policy (a lower version never replaces the
//! one in force) and checked whole: a bad zone or campaign refuses the document and the one in force stays.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use serde::Deserialize;

use super::campaign::{AudienceRule, ProximityCampaigns};
use super::presence::PresenceEngine;
use super::smoothing::SmoothingStrategy;
use super::zone::ZoneConfig;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProximityConfigError {
    #[error("not JSON of the documented shape: {0}")]
    Shape(String),
    #[error("the document has no `proximity` member")]
    Missing,
    #[error("zone: {0}")]
    Zone(String),
    #[error("zone '{0}' is declared twice")]
    DuplicateZone(String),
    #[error("campaigns: {0}")]
    Campaign(String),
    #[error("version {offered} is older than version {in_force}, which is in force")]
    Rollback { offered: u32, in_force: u32 },
}

/// Zones, smoothing and campaigns, checked.
#[derive(Debug, Clone)]
pub struct ProximityConfig {
    pub version: u32,
    pub zones: Vec<ZoneConfig>,
    pub smoothing: SmoothingStrategy,
    pub campaigns: ProximityCampaigns,
    /// The campaigns' distinct audience rules with their keys, worked out once: the writer matches every committed
    /// event against them.
    pub audience: Vec<(AudienceRule, String)>,
}

#[derive(Deserialize)]
struct Document {
    proximity: Option<Member>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Member {
    version: u32,
    #[serde(default)]
    zones: Vec<ZoneConfig>,
    #[serde(default)]
    smoothing: Option<SmoothingStrategy>,
}

impl ProximityConfig {
    /// No zones, no campaigns: version 0, so any served document is newer.
    pub fn empty() -> ProximityConfig {
        ProximityConfig {
            version: 0,
            zones: Vec::new(),
            smoothing: SmoothingStrategy::default(),
            campaigns: ProximityCampaigns::default(),
            audience: Vec::new(),
        }
    }

    /// A document that must carry a `proximity` member (the app's bundled one).
    pub fn from_document(json: &[u8]) -> Result<ProximityConfig, ProximityConfigError> {
        Self::from_remote_config(json)?.ok_or(ProximityConfigError::Missing)
    }

    /// The remote configuration's `proximity` member; `None` when the document has none.
    pub fn from_remote_config(json: &[u8]) -> Result<Option<ProximityConfig>, ProximityConfigError> {
        let document: Document =
            serde_json::from_slice(json).map_err(|e| ProximityConfigError::Shape(e.to_string()))?;
        let Some(member) = document.proximity else { return Ok(None) };
        let mut ids = BTreeSet::new();
        for zone in &member.zones {
            zone.validate().map_err(|e| ProximityConfigError::Zone(e.to_string()))?;
            if !ids.insert(zone.id.as_str()) {
                return Err(ProximityConfigError::DuplicateZone(zone.id.clone()));
            }
        }
        let campaigns = ProximityCampaigns::from_remote_config(json)
            .map_err(|e| ProximityConfigError::Campaign(e.to_string()))?
            .unwrap_or_default();
        let known: Vec<&str> = ids.into_iter().collect();
        campaigns.check_zones(&known).map_err(|e| ProximityConfigError::Campaign(e.to_string()))?;
        let audience = campaigns.audience_rules().into_iter().map(|rule| {
            let key = rule.key();
            (rule, key)
        });
        Ok(Some(ProximityConfig {
            version: member.version,
            zones: member.zones,
            smoothing: member.smoothing.unwrap_or_default(),
            audience: audience.collect(),
            campaigns,
        }))
    }

    /// Refuses replacing `self` (in force) with an older version.
    pub fn check_successor(&self, next: &ProximityConfig) -> Result<(), ProximityConfigError> {
        if next.version < self.version {
            return Err(ProximityConfigError::Rollback { offered: next.version, in_force: self.version });
        }
        Ok(())
    }

    pub fn zone(&self, id: &str) -> Option<&ZoneConfig> {
        self.zones.iter().find(|z| z.id == id)
    }

    /// The store's time zone for a zone, when the zone names one.
    pub fn store_time_zone(&self, zone: &str) -> Option<jiff::tz::TimeZone> {
        self.zone(zone)?.time_zone.as_deref().and_then(|name| jiff::tz::TimeZone::get(name).ok())
    }

    /// A fresh engine for these zones (validated when the document was read, so never the idle fallback).
    pub fn engine(&self) -> PresenceEngine {
        PresenceEngine::new(self.zones.clone(), self.smoothing).unwrap_or_else(|e| {
            tracing::error!(error = %e, "proximity zones refused by the engine; presence is off");
            PresenceEngine::idle()
        })
    }
}

/// The configuration in force, shared by the live side and the writer side.
#[derive(Debug)]
pub struct ConfigCell(RwLock<Arc<ProximityConfig>>);

impl ConfigCell {
    pub fn new(config: ProximityConfig) -> ConfigCell {
        ConfigCell(RwLock::new(Arc::new(config)))
    }

    pub fn get(&self) -> Arc<ProximityConfig> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, config: ProximityConfig) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON blocks of a document that carry a `proximity` member.
    fn examples(markdown: &str) -> Vec<String> {
        markdown
            .split("```json")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .map(|block| block.split_once('\n').map_or("", |(_, body)| body).to_string())
            .filter(|body| body.contains("\"proximity\""))
            .collect()
    }

    #[test]
    fn the_documented_examples_are_what_the_sdk_accepts() {
        let docs = [include_str!("../../../docs/protocol.md"), include_str!("../../../docs/proximity.md")];
        let found: Vec<String> = docs.iter().flat_map(|d| examples(d)).collect();
        assert_eq!(found.len(), 2, "one example in each document");
        for example in found {
            let config =
                ProximityConfig::from_document(example.as_bytes()).unwrap_or_else(|e| panic!("{e}: {example}"));
            assert_eq!(config.zones.len(), 1);
            assert_eq!(config.campaigns.campaigns.len(), 1);
            assert_eq!(config.campaigns.campaigns[0].offer.coupon_id.as_deref(), Some("visit-500"));
        }
    }

    fn document(zones: &str, campaigns: &str, version: u32) -> String {
        format!(r#"{{"proximity": {{"version": {version}, "zones": {zones}, "campaigns": {campaigns}}}}}"#)
    }

    const ZONE: &str =
        r#"[{"id": "a", "store": "s", "beacons": ["2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2"], "enterRssi": -70}]"#;

    #[test]
    fn a_bad_zone_or_campaign_or_an_older_version_refuses_the_whole_document() {
        let good = ProximityConfig::from_document(document(ZONE, "[]", 3).as_bytes()).unwrap();
        let twice = format!("[{0}, {0}]", &ZONE[1..ZONE.len() - 1]);
        let unknown_zone =
            r#"[{"id": "c", "zones": ["nowhere"], "trigger": "enter", "offer": {"title": "t", "body": "b"}}]"#;
        for (doc, expected) in [
            (document(&twice, "[]", 3), "declared twice"),
            (document(r#"[{"id": "a", "store": "s", "beacons": [], "enterRssi": -70}]"#, "[]", 3), "no beacons"),
            (document(ZONE, unknown_zone, 3), "nowhere"),
            (r#"{"proximity": {"zones": []}}"#.to_string(), "version"),
        ] {
            let err = ProximityConfig::from_document(doc.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let older = ProximityConfig::from_document(document(ZONE, "[]", 2).as_bytes()).unwrap();
        assert!(matches!(
            good.check_successor(&older),
            Err(ProximityConfigError::Rollback { offered: 2, in_force: 3 })
        ));
        assert!(matches!(ProximityConfig::from_remote_config(br#"{"consent": {}}"#), Ok(None)));
        assert_eq!(ProximityConfig::from_document(br#"{"consent": {}}"#).unwrap_err(), ProximityConfigError::Missing);
    }
}
