//! Purposes, jurisdictions and what a purpose defaults to before the shopper has decided anything.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

pub const ESSENTIAL: &str = "essential";
pub const ANALYTICS: &str = "analytics";
pub const PERSONALIZATION: &str = "personalization";
pub const MARKETING: &str = "marketing";
pub const LOCATION: &str = "location";

/// The purposes Footfall knows without a policy; a remote policy may declare custom ones beside them.
pub const BUILT_IN: [&str; 5] = [ESSENTIAL, ANALYTICS, PERSONALIZATION, MARKETING, LOCATION];

/// A purpose id: 1–64 characters of `a-z`, `0-9`, `_`, `-` (the same rule `track()` applies).
pub fn validate(purpose: &str) -> Result<(), ValidationError> {
    crate::event::validate_purpose(purpose)
}

/// `essential` is never gated: it carries consent records and deletion requests.
pub fn is_essential(purpose: &str) -> bool {
    purpose == ESSENTIAL
}

/// The legal regime the app says applies to this shopper. It picks the default mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Jurisdiction {
    Gdpr,
    Appi,
    Ccpa,
    /// Not known: treated as the strictest (opt-in).
    #[default]
    Unknown,
}

impl Jurisdiction {
    pub fn mode(self) -> Mode {
        match self {
            Jurisdiction::Ccpa => Mode::OptOut,
            Jurisdiction::Gdpr | Jurisdiction::Appi | Jurisdiction::Unknown => Mode::OptIn,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Jurisdiction::Gdpr => "gdpr",
            Jurisdiction::Appi => "appi",
            Jurisdiction::Ccpa => "ccpa",
            Jurisdiction::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Jurisdiction> {
        match text.to_ascii_lowercase().as_str() {
            "gdpr" => Some(Jurisdiction::Gdpr),
            "appi" => Some(Jurisdiction::Appi),
            "ccpa" => Some(Jurisdiction::Ccpa),
            "unknown" => Some(Jurisdiction::Unknown),
            _ => None,
        }
    }
}

/// The shopper's age band, when the app knows it. Minors get stricter defaults than their jurisdiction's: GDPR
/// Art. 8 (a child's consent below 16 needs a parent) and the CCPA (sale of data of under-16s is opt-in) make
/// every purpose opt-in, and under 13 (COPPA) the purposes that profile or track the child never count as granted:
/// verifiable parental consent is a flow the app owns, not a tap on a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    Adult,
    /// 13 to 15.
    Under16,
    Under13,
}

impl AgeBand {
    pub fn as_str(self) -> &'static str {
        match self {
            AgeBand::Adult => "adult",
            AgeBand::Under16 => "under16",
            AgeBand::Under13 => "under13",
        }
    }

    pub fn parse(text: &str) -> Option<AgeBand> {
        match text.to_ascii_lowercase().as_str() {
            "adult" => Some(AgeBand::Adult),
            "under16" => Some(AgeBand::Under16),
            "under13" => Some(AgeBand::Under13),
            _ => None,
        }
    }

    fn is_minor(self) -> bool {
        self != AgeBand::Adult
    }
}

/// Whether `purpose` is closed to this age band whatever the shopper answers: marketing, personalization and
/// location for under-13s.
pub fn blocked_for_age(purpose: &str, age_band: Option<AgeBand>) -> bool {
    age_band == Some(AgeBand::Under13) && [MARKETING, PERSONALIZATION, LOCATION].contains(&purpose)
}

/// Whether silence means no (opt-in) or yes until the shopper says no (opt-out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    OptIn,
    OptOut,
}

/// What a purpose is when no valid decision exists for it.
///
/// Opt-in: denied. Opt-out (CCPA): allowed, except `location` — precise geolocation is sensitive personal
/// information under the CPRA, so it always waits for a yes — and `marketing` when the app reports a Global Privacy
/// Control signal, which counts as an opt-out of sale/sharing.
/// The jurisdiction's mode, except that a minor (see [`AgeBand`]) is opt-in everywhere.
pub fn mode_for(jurisdiction: Jurisdiction, age_band: Option<AgeBand>) -> Mode {
    if age_band.is_some_and(AgeBand::is_minor) {
        return Mode::OptIn;
    }
    jurisdiction.mode()
}

pub fn default_allowed(
    purpose: &str,
    jurisdiction: Jurisdiction,
    global_privacy_control: bool,
    age_band: Option<AgeBand>,
) -> bool {
    if is_essential(purpose) {
        return true;
    }
    match mode_for(jurisdiction, age_band) {
        Mode::OptIn => false,
        Mode::OptOut => purpose != LOCATION && !(global_privacy_control && purpose == MARKETING),
    }
}

/// Google Consent Mode v2 signals derived from our purposes, for the app to forward to Firebase/gtag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GoogleConsentMode {
    pub analytics_storage: bool,
    pub ad_storage: bool,
    pub ad_user_data: bool,
    pub ad_personalization: bool,
}

impl GoogleConsentMode {
    /// `allowed(purpose)` is the SDK's gating decision for each purpose.
    pub fn from_decisions(allowed: impl Fn(&str) -> bool) -> Self {
        let marketing = allowed(MARKETING);
        GoogleConsentMode {
            analytics_storage: allowed(ANALYTICS),
            ad_storage: marketing,
            ad_user_data: marketing,
            // Personalised ads need both: ads at all, and personalisation.
            ad_personalization: marketing && allowed(PERSONALIZATION),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_in_regimes_deny_everything_but_essential() {
        for j in [Jurisdiction::Gdpr, Jurisdiction::Appi, Jurisdiction::Unknown] {
            assert!(default_allowed(ESSENTIAL, j, false, None));
            for p in [ANALYTICS, PERSONALIZATION, MARKETING, LOCATION, "loyalty_sync"] {
                assert!(!default_allowed(p, j, false, None), "{p} under {j:?}");
            }
        }
    }

    #[test]
    fn ccpa_is_opt_out_with_gpc_and_location_exceptions() {
        let j = Jurisdiction::Ccpa;
        assert!(default_allowed(ANALYTICS, j, false, None));
        assert!(default_allowed(MARKETING, j, false, Some(AgeBand::Adult)));
        assert!(!default_allowed(MARKETING, j, true, None), "GPC opts out of marketing");
        assert!(default_allowed(ANALYTICS, j, true, None), "GPC is about sale/sharing only");
        assert!(!default_allowed(LOCATION, j, false, None), "precise location is always opt-in");
        for minor in [AgeBand::Under16, AgeBand::Under13] {
            assert!(!default_allowed(ANALYTICS, j, false, Some(minor)), "minors are opt-in under the CCPA too");
            assert!(default_allowed(ESSENTIAL, j, false, Some(minor)));
        }
    }

    #[test]
    fn consent_mode_mapping() {
        let all = GoogleConsentMode::from_decisions(|_| true);
        assert_eq!(
            all,
            GoogleConsentMode {
                analytics_storage: true,
                ad_storage: true,
                ad_user_data: true,
                ad_personalization: true
            }
        );
        let no_personalization = GoogleConsentMode::from_decisions(|p| p != PERSONALIZATION);
        assert!(no_personalization.ad_storage && !no_personalization.ad_personalization);
        let analytics_only = GoogleConsentMode::from_decisions(|p| p == ANALYTICS);
        assert_eq!(
            analytics_only,
            GoogleConsentMode {
                analytics_storage: true,
                ad_storage: false,
                ad_user_data: false,
                ad_personalization: false
            }
        );
    }

    #[test]
    fn under_thirteen_closes_profiling_and_tracking_purposes_only() {
        for p in [MARKETING, PERSONALIZATION, LOCATION] {
            assert!(blocked_for_age(p, Some(AgeBand::Under13)));
            assert!(!blocked_for_age(p, Some(AgeBand::Under16)) && !blocked_for_age(p, None));
        }
        assert!(
            !blocked_for_age(ANALYTICS, Some(AgeBand::Under13)) && !blocked_for_age(ESSENTIAL, Some(AgeBand::Under13))
        );
        for band in [AgeBand::Adult, AgeBand::Under16, AgeBand::Under13] {
            assert_eq!(AgeBand::parse(band.as_str()), Some(band));
        }
        assert_eq!(AgeBand::parse("teen"), None);
    }

    #[test]
    fn jurisdictions_round_trip_and_unknown_text_is_refused() {
        for j in [Jurisdiction::Gdpr, Jurisdiction::Appi, Jurisdiction::Ccpa, Jurisdiction::Unknown] {
            assert_eq!(Jurisdiction::parse(j.as_str()), Some(j));
        }
        assert_eq!(Jurisdiction::parse("GDPR"), Some(Jurisdiction::Gdpr));
        assert_eq!(Jurisdiction::parse("lgpd"), None);
    }
}
