//! The campaign part of the remote config (`GET /v1/config`, member `proximity`): quiet hours, the daily cap and
//! the campaigns. Parsed strictly enough that a typo cannot make the SDK speak more often or at other times than
//! the product team meant: every bad value refuses the whole document, naming the campaign and the problem.
//! Unknown members are ignored (newer consoles may add some); `proximity.zones` belongs to the zone parser.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Map, Number, Value};

use super::audience::{AudienceRule, MAX_WITHIN_DAYS};
use super::error::{clip, CampaignError, Problem};
use super::schedule::{DailySpan, TimeOfDay, Weekdays, Window};

/// Limits of the numbers a document may state; beyond them a value is a typo, not a plan.
pub const MAX_PRIORITY: u64 = 1_000_000;
pub const MAX_AT_LEAST: u64 = 10_000;
pub const MAX_CAP_COUNT: u64 = 1_000;
/// A cap's window is at most the 90 days of offer history the caller keeps.
pub const MAX_CAP_WINDOW_DAYS: u64 = 90;
pub const MAX_COOLDOWN_MINUTES: u64 = 7 * 24 * 60;
pub const MAX_DAILY_CAP: u64 = 1_000;
const MAX_COPY_CHARS: usize = 256;
const MAX_ZONE_ID_CHARS: usize = 128;
const MAX_COUPON_ID_CHARS: usize = 128;

/// Which presence transition may start an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// The shopper entered the zone.
    Enter,
    /// The shopper has stayed in the zone for the zone's dwell time.
    Dwell,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Enter => "enter",
            Trigger::Dwell => "dwell",
        }
    }
}

/// At most `count` offers of one campaign in any `window_days` × 24 h (a rolling window, not calendar days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequencyCap {
    pub count: u32,
    pub window_days: u32,
}

/// What the shopper is shown: copy keys the app resolves to localized text, and maybe a wallet coupon to grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub title: String,
    pub body: String,
    pub coupon_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: String,
    /// Zone ids (`store/zone`) whose presence transitions may trigger it.
    pub zones: Vec<String>,
    pub trigger: Trigger,
    /// Higher wins when several campaigns are eligible at once; ties go to the smaller id.
    pub priority: u32,
    /// UTC milliseconds; inclusive. `None`: already started.
    pub starts_at_ms: Option<i64>,
    /// UTC milliseconds; exclusive. `None`: never ends.
    pub ends_at_ms: Option<i64>,
    /// In the store's local time. Empty: at any time.
    pub windows: Vec<Window>,
    pub audience: Option<AudienceRule>,
    pub cap: Option<FrequencyCap>,
    /// After any offer in a zone, this campaign is not offered in that zone for this long (0: no cooldown).
    pub cooldown_minutes: u32,
    pub offer: Offer,
}

/// The validated campaign document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProximityCampaigns {
    pub version: u32,
    /// In the shopper's local time: no offer at all during them.
    pub quiet_hours: Option<DailySpan>,
    /// Most offers per shopper-local calendar day, all campaigns together.
    pub daily_cap: Option<u32>,
    pub campaigns: Vec<Campaign>,
}

#[derive(Deserialize)]
struct RemoteConfig {
    #[serde(default)]
    proximity: Option<RawProximity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProximity {
    version: Number,
    #[serde(default)]
    quiet_hours: Option<RawSpan>,
    #[serde(default)]
    daily_cap: Option<Number>,
    /// Kept as values so a campaign whose shape is wrong can still be named in the error.
    #[serde(default)]
    campaigns: Vec<Value>,
}

#[derive(Deserialize)]
struct RawSpan {
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCampaign {
    id: String,
    zones: Vec<String>,
    trigger: String,
    #[serde(default)]
    priority: Option<Number>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default)]
    windows: Option<Vec<RawWindow>>,
    #[serde(default)]
    audience: Option<RawAudience>,
    #[serde(default)]
    cap: Option<RawCap>,
    #[serde(default)]
    cooldown_minutes: Option<Number>,
    offer: RawOffer,
}

#[derive(Deserialize)]
struct RawWindow {
    #[serde(default)]
    days: Option<Vec<String>>,
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAudience {
    event: String,
    #[serde(default, rename = "where")]
    where_: Map<String, Value>,
    #[serde(default)]
    at_least: Option<Number>,
    within_days: Number,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCap {
    count: Number,
    window_days: Number,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOffer {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    coupon_id: Option<String>,
}

impl ProximityCampaigns {
    /// Parses the `GET /v1/config` body. `Ok(None)`: the config has no `proximity` member (no campaigns).
    pub fn from_remote_config(json: &[u8]) -> Result<Option<ProximityCampaigns>, CampaignError> {
        // Syntax first, so invalid JSON is reported as such rather than as a repeated member.
        serde_json::from_slice::<serde::de::IgnoredAny>(json).map_err(|e| CampaignError::Shape(e.to_string()))?;
        crate::consent::unique_members::check(json).map_err(CampaignError::RepeatedMember)?;
        let config: RemoteConfig = serde_json::from_slice(json).map_err(|e| CampaignError::Shape(e.to_string()))?;
        config.proximity.map(ProximityCampaigns::validated).transpose()
    }

    /// Refuses campaigns naming a zone not in `known` (the zone ids the zone part of the same document declares).
    pub fn check_zones(&self, known: &[&str]) -> Result<(), CampaignError> {
        for campaign in &self.campaigns {
            if let Some(zone) = campaign.zones.iter().find(|z| !known.contains(&z.as_str())) {
                return Err(CampaignError::UnknownZone { campaign: campaign.id.clone(), zone: clip(zone) });
            }
        }
        Ok(())
    }

    /// The distinct audience rules (by [`AudienceRule::key`]), each with the longest `within_days` any campaign
    /// asks for under that key: what the storage must count, and for how long it must keep the daily counts.
    pub fn audience_rules(&self) -> Vec<AudienceRule> {
        let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
        let mut rules: Vec<AudienceRule> = Vec::new();
        for rule in self.campaigns.iter().filter_map(|c| c.audience.as_ref()) {
            match by_key.get(&rule.key()).and_then(|&i| rules.get_mut(i)) {
                Some(kept) => kept.within_days = kept.within_days.max(rule.within_days),
                None => {
                    by_key.insert(rule.key(), rules.len());
                    rules.push(rule.clone());
                }
            }
        }
        rules
    }

    pub fn campaign(&self, id: &str) -> Option<&Campaign> {
        self.campaigns.iter().find(|c| c.id == id)
    }

    fn validated(raw: RawProximity) -> Result<ProximityCampaigns, CampaignError> {
        let document = |member| move |problem| CampaignError::Document { member, problem };
        let version = whole(&raw.version, "version", 0, u64::from(u32::MAX)).map_err(document("version"))?;
        let quiet_hours = raw.quiet_hours.map(|s| span(&s.from, &s.to, "quietHours")).transpose();
        let quiet_hours = quiet_hours.map_err(document("quietHours"))?;
        let daily_cap = raw.daily_cap.map(|n| whole(&n, "dailyCap", 1, MAX_DAILY_CAP)).transpose();
        let daily_cap = daily_cap.map_err(document("dailyCap"))?;
        let mut ids = BTreeSet::new();
        let mut campaigns = Vec::with_capacity(raw.campaigns.len());
        for (index, value) in raw.campaigns.into_iter().enumerate() {
            let campaign = campaign(value, index)?;
            if !ids.insert(campaign.id.clone()) {
                return Err(CampaignError::DuplicateCampaign(campaign.id));
            }
            campaigns.push(campaign);
        }
        Ok(ProximityCampaigns { version, quiet_hours, daily_cap, campaigns })
    }
}

/// One campaign, with errors naming it (by id when it has a readable one, else by position).
fn campaign(value: Value, index: usize) -> Result<Campaign, CampaignError> {
    let label = match value.get("id").and_then(Value::as_str) {
        Some(id) => clip(id),
        None => format!("campaigns[{index}]"),
    };
    let named = |problem| CampaignError::Campaign { campaign: label.clone(), problem };
    let raw: RawCampaign = serde_json::from_value(value).map_err(|e| named(Problem::Shape(e.to_string())))?;
    validated_campaign(raw).map_err(named)
}

fn validated_campaign(raw: RawCampaign) -> Result<Campaign, Problem> {
    if !valid_id(&raw.id) {
        return Err(Problem::BadId);
    }
    if raw.zones.is_empty() {
        return Err(Problem::NoZones);
    }
    let mut zones = BTreeSet::new();
    for zone in &raw.zones {
        if zone.is_empty() || zone.chars().count() > MAX_ZONE_ID_CHARS || !zones.insert(zone.as_str()) {
            return Err(Problem::BadZone(clip(zone)));
        }
    }
    let trigger = match raw.trigger.as_str() {
        "enter" => Trigger::Enter,
        "dwell" => Trigger::Dwell,
        other => return Err(Problem::UnknownTrigger(clip(other))),
    };
    let priority = raw.priority.map(|n| whole(&n, "priority", 0, MAX_PRIORITY)).transpose()?.unwrap_or(0);
    let starts_at_ms = raw.starts_at.as_deref().map(|s| instant(s, "startsAt")).transpose()?;
    let ends_at_ms = raw.ends_at.as_deref().map(|s| instant(s, "endsAt")).transpose()?;
    if let (Some(start), Some(end)) = (starts_at_ms, ends_at_ms) {
        if end <= start {
            return Err(Problem::EndsNotAfterStart);
        }
    }
    let windows = match raw.windows {
        None => Vec::new(),
        Some(windows) if windows.is_empty() => return Err(Problem::NoWindows),
        Some(windows) => windows.iter().map(window).collect::<Result<_, _>>()?,
    };
    let audience = raw.audience.map(audience).transpose()?;
    let cap = raw.cap.map(cap).transpose()?;
    let cooldown_minutes = raw.cooldown_minutes.map(|n| whole(&n, "cooldownMinutes", 0, MAX_COOLDOWN_MINUTES));
    let cooldown_minutes = cooldown_minutes.transpose()?.unwrap_or(0);
    Ok(Campaign {
        id: raw.id,
        zones: raw.zones,
        trigger,
        priority,
        starts_at_ms,
        ends_at_ms,
        windows,
        audience,
        cap,
        cooldown_minutes,
        offer: offer(raw.offer)?,
    })
}

/// 1 to 64 of `a-z 0-9 _ - . /`: safe in logs, event properties and storage keys.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'/'))
}

/// A JSON number that is a whole number in `min..=max` (`2.0` counts as 2; `-1`, `2.5` and `1e30` do not).
fn whole(n: &Number, member: &'static str, min: u64, max: u64) -> Result<u32, Problem> {
    let out_of_range = Problem::OutOfRange { member, min, max };
    let value = match (n.as_u64(), n.as_f64()) {
        (Some(v), _) => v,
        (None, Some(f)) if f.fract() == 0.0 && f >= 0.0 && f <= max as f64 => f as u64,
        _ => return Err(out_of_range),
    };
    if !(min..=max).contains(&value) {
        return Err(out_of_range);
    }
    u32::try_from(value).map_err(|_| out_of_range)
}

fn time(text: &str, member: &'static str) -> Result<TimeOfDay, Problem> {
    TimeOfDay::parse(text).ok_or_else(|| Problem::BadTime { member, value: clip(text) })
}

fn span(from: &str, to: &str, member: &'static str) -> Result<DailySpan, Problem> {
    let (from, to) = (time(from, member)?, time(to, member)?);
    DailySpan::new(from, to).ok_or_else(|| Problem::EmptySpan { member, from: from.to_string() })
}

fn instant(text: &str, member: &'static str) -> Result<i64, Problem> {
    let parsed = text.parse::<jiff::Timestamp>();
    parsed.map(|t| t.as_millisecond()).map_err(|_| Problem::BadInstant { member, value: clip(text) })
}

fn window(raw: &RawWindow) -> Result<Window, Problem> {
    let days = match &raw.days {
        None => Weekdays::ALL,
        Some(names) => Weekdays::parse(names.iter().map(String::as_str)).map_err(|d| Problem::UnknownDay(clip(d)))?,
    };
    if days.is_empty() {
        return Err(Problem::NoDays);
    }
    Ok(Window { days, span: span(&raw.from, &raw.to, "windows")? })
}

fn audience(raw: RawAudience) -> Result<AudienceRule, Problem> {
    let at_least = raw.at_least.map(|n| whole(&n, "audience.atLeast", 1, MAX_AT_LEAST)).transpose()?.unwrap_or(1);
    let within_days = whole(&raw.within_days, "audience.withinDays", 1, u64::from(MAX_WITHIN_DAYS))?;
    AudienceRule::new(raw.event, raw.where_, at_least, within_days)
}

fn cap(raw: RawCap) -> Result<FrequencyCap, Problem> {
    Ok(FrequencyCap {
        count: whole(&raw.count, "cap.count", 1, MAX_CAP_COUNT)?,
        window_days: whole(&raw.window_days, "cap.windowDays", 1, MAX_CAP_WINDOW_DAYS)?,
    })
}

fn offer(raw: RawOffer) -> Result<Offer, Problem> {
    let copy_ok = |s: &str| !s.trim().is_empty() && s.chars().count() <= MAX_COPY_CHARS;
    if !copy_ok(&raw.title) {
        return Err(Problem::MissingCopy("title"));
    }
    if !copy_ok(&raw.body) {
        return Err(Problem::MissingCopy("body"));
    }
    if let Some(coupon) = &raw.coupon_id {
        let bad = |c: char| c.is_whitespace() || c.is_control();
        if coupon.is_empty() || coupon.chars().count() > MAX_COUPON_ID_CHARS || coupon.chars().any(bad) {
            return Err(Problem::BadCouponId);
        }
    }
    Ok(Offer { title: raw.title, body: raw.body, coupon_id: raw.coupon_id })
}
