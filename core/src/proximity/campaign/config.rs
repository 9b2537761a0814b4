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

/// The validated campaign document (the default: no campaigns).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of docs/proximity-campaigns.md.
    pub(crate) const EXAMPLE: &str = r#"{"consent": {"policyVersion": 1, "purposes": []},
      "proximity": {
        "version": 3,
        "zones": [{"id": "tokyo-1/entrance", "anything": ["the zone parser's business"]}],
        "quietHours": {"from": "21:00", "to": "08:00"},
        "dailyCap": 3,
        "campaigns": [{
          "id": "shoes-10",
          "zones": ["tokyo-1/entrance"],
          "trigger": "enter",
          "priority": 10,
          "startsAt": "2026-12-01T00:00:00Z", "endsAt": "2027-01-01T00:00:00Z",
          "windows": [{"days": ["mon","tue","wed","thu","fri"], "from": "10:00", "to": "20:00"}],
          "audience": {"event": "product_viewed", "where": {"category": "shoes"}, "atLeast": 2, "withinDays": 14},
          "cap": {"count": 2, "windowDays": 7},
          "cooldownMinutes": 60,
          "offer": {"title": "offer.shoes.title", "body": "offer.shoes.body", "couponId": "xmas"},
          "futureMember": true
        }]
      }}"#;

    fn parse(json: &str) -> Result<Option<ProximityCampaigns>, CampaignError> {
        ProximityCampaigns::from_remote_config(json.as_bytes())
    }

    /// The example with one campaign member replaced (or added): `member` is raw JSON `"name": value`.
    fn with_member(name: &str, value: &str) -> String {
        let mut campaign: Map<String, Value> = serde_json::from_str(
            r#"{"id": "c", "zones": ["z"], "trigger": "enter", "offer": {"title": "t", "body": "b"}}"#,
        )
        .unwrap();
        campaign.insert(name.into(), serde_json::from_str(value).unwrap());
        format!(r#"{{"proximity": {{"version": 1, "campaigns": [{}]}}}}"#, Value::Object(campaign))
    }

    #[test]
    fn the_documented_example_parses() {
        let doc = parse(EXAMPLE).unwrap().unwrap();
        assert_eq!(doc.version, 3);
        assert_eq!(doc.daily_cap, Some(3));
        let quiet = doc.quiet_hours.unwrap();
        assert_eq!((quiet.from.to_string(), quiet.to.to_string()), ("21:00".into(), "08:00".into()));
        let shoes = doc.campaign("shoes-10").unwrap();
        assert_eq!(shoes.zones, ["tokyo-1/entrance"]);
        assert_eq!((shoes.trigger, shoes.priority, shoes.cooldown_minutes), (Trigger::Enter, 10, 60));
        assert_eq!(shoes.starts_at_ms, Some(1_796_083_200_000));
        assert_eq!(shoes.ends_at_ms, Some(1_798_761_600_000));
        assert_eq!(shoes.windows.len(), 1);
        assert_eq!(shoes.cap, Some(FrequencyCap { count: 2, window_days: 7 }));
        let audience = shoes.audience.as_ref().unwrap();
        assert_eq!((audience.event.as_str(), audience.at_least, audience.within_days), ("product_viewed", 2, 14));
        assert_eq!(shoes.offer.coupon_id.as_deref(), Some("xmas"));
        doc.check_zones(&["tokyo-1/entrance", "tokyo-1/shoes"]).unwrap();
        let err = doc.check_zones(&["tokyo-1/shoes"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "campaign 'shoes-10' names zone 'tokyo-1/entrance', which the zones do not declare"
        );
    }

    #[test]
    fn optional_members_have_their_defaults() {
        assert_eq!(parse(r#"{"consent": {}}"#).unwrap(), None);
        assert_eq!(parse(r#"{"proximity": null}"#).unwrap(), None);
        let doc = parse(&with_member("trigger", r#""dwell""#)).unwrap().unwrap();
        assert_eq!((doc.quiet_hours, doc.daily_cap), (None, None));
        let c = &doc.campaigns[0];
        assert_eq!((c.trigger, c.priority, c.cooldown_minutes), (Trigger::Dwell, 0, 0));
        assert_eq!((c.starts_at_ms, c.ends_at_ms, c.cap, c.audience.is_none()), (None, None, None, true));
        assert!(c.windows.is_empty() && c.offer.coupon_id.is_none());
        let c = &parse(&with_member("audience", r#"{"event": "app_opened", "withinDays": 90}"#)).unwrap().unwrap();
        let rule = c.campaigns[0].audience.as_ref().unwrap();
        assert_eq!((rule.at_least, rule.where_.len()), (1, 0));
        let all_week = parse(&with_member("windows", r#"[{"from": "22:00", "to": "02:00"}]"#)).unwrap().unwrap();
        assert_eq!(all_week.campaigns[0].windows[0].days, Weekdays::ALL);
        let whole_float = parse(&with_member("priority", "5.0")).unwrap().unwrap();
        assert_eq!(whole_float.campaigns[0].priority, 5);
    }

    #[test]
    fn each_bad_campaign_member_is_refused_naming_the_campaign_and_the_problem() {
        let cases = [
            ("id", r#""Shoes""#, "campaign 'Shoes': the id is not 1 to 64"),
            ("id", r#""""#, "the id is not"),
            ("id", &format!("\"{}\"", "a".repeat(65)), "the id is not"),
            ("id", "7", "campaign 'campaigns[0]': not of the expected shape"),
            ("zones", "[]", "campaign 'c': zones is empty"),
            ("zones", r#"["z", "z"]"#, "zone 'z' is empty"),
            ("zones", r#"[""]"#, "zone '' is empty"),
            ("zones", r#""z""#, "not of the expected shape"),
            ("trigger", r#""exit""#, "trigger 'exit' is neither"),
            ("priority", "-1", "priority must be a whole number from 0 to 1000000"),
            ("priority", "1000001", "priority must be"),
            ("priority", "2.5", "priority must be"),
            ("priority", "1e300", "priority must be"),
            ("priority", "99999999999999999999999", "priority must be"),
            ("priority", r#""10""#, "not of the expected shape"),
            ("startsAt", r#""2026-12-01""#, "startsAt '2026-12-01' is not an RFC 3339 instant"),
            ("endsAt", r#""2026-12-01T00:00:00""#, "endsAt '2026-12-01T00:00:00' is not"),
            ("windows", "[]", "windows is empty"),
            ("windows", r#"[{"from": "25:00", "to": "08:00"}]"#, "windows '25:00' is not a time of day"),
            ("windows", r#"[{"from": "10:00", "to": "24:00"}]"#, "windows '24:00' is not"),
            ("windows", r#"[{"from": "9:00", "to": "18:00"}]"#, "windows '9:00' is not"),
            ("windows", r#"[{"from": "10:00", "to": "10:00"}]"#, "must not start where it ends"),
            ("windows", r#"[{"days": ["mon", "funday"], "from": "10:00", "to": "11:00"}]"#, "day 'funday'"),
            ("windows", r#"[{"days": ["Monday"], "from": "10:00", "to": "11:00"}]"#, "day 'Monday'"),
            ("windows", r#"[{"days": [], "from": "10:00", "to": "11:00"}]"#, "lists no days"),
            ("audience", r#"{"event": "e", "atLeast": 0, "withinDays": 7}"#, "audience.atLeast must be"),
            (
                "audience",
                r#"{"event": "e", "withinDays": 0}"#,
                "audience.withinDays must be a whole number from 1 to 90",
            ),
            ("audience", r#"{"event": "e", "withinDays": 91}"#, "audience.withinDays must be"),
            ("audience", r#"{"event": "e"}"#, "not of the expected shape"),
            ("audience", r#"{"event": "", "withinDays": 7}"#, "audience.event '' is not an event name"),
            ("audience", r#"{"event": "e", "withinDays": 7, "where": {"a": [1]}}"#, "audience.where.a"),
            ("cap", r#"{"count": 0, "windowDays": 7}"#, "cap.count must be a whole number from 1 to 1000"),
            ("cap", r#"{"count": 1, "windowDays": 0}"#, "cap.windowDays must be"),
            ("cap", r#"{"count": 1, "windowDays": 91}"#, "cap.windowDays must be"),
            ("cooldownMinutes", "-5", "cooldownMinutes must be a whole number from 0 to 10080"),
            ("cooldownMinutes", "10081", "cooldownMinutes must be"),
            ("offer", r#"{"body": "b"}"#, "offer.title is required"),
            ("offer", r#"{"title": "t", "body": " "}"#, "offer.body is required"),
            ("offer", r#"{"title": "t", "body": "b", "couponId": ""}"#, "offer.couponId is empty"),
            ("offer", r#"{"title": "t", "body": "b", "couponId": "a b"}"#, "offer.couponId"),
        ];
        for (member, value, needle) in cases {
            let err = parse(&with_member(member, value)).unwrap_err().to_string();
            assert!(err.contains(needle), "{member}={value}: {err}");
        }
        let reversed = r#"{"startsAt": "2027-01-01T00:00:00Z", "endsAt": "2026-12-01T00:00:00+09:00"}"#;
        let mut doc: Value = serde_json::from_str(&with_member("offer", r#"{"title": "t", "body": "b"}"#)).unwrap();
        let campaign = doc.pointer_mut("/proximity/campaigns/0").and_then(Value::as_object_mut).unwrap();
        campaign.extend(serde_json::from_str::<Map<String, Value>>(reversed).unwrap());
        let err = parse(&doc.to_string()).unwrap_err().to_string();
        assert_eq!(err, "campaign 'c': endsAt is not after startsAt");
    }

    #[test]
    fn bad_documents_are_refused_with_the_reason() {
        let campaign = r#"{"id": "c", "zones": ["z"], "trigger": "enter", "offer": {"title": "t", "body": "b"}}"#;
        let cases = [
            ("{", "not valid JSON"),
            (r#"{"proximity": []}"#, "expected shape"),
            (r#"{"proximity": {}}"#, "missing field `version`"),
            (r#"{"proximity": {"version": -1}}"#, "proximity.version: version must be"),
            (r#"{"proximity": {"version": 1, "dailyCap": 0}}"#, "proximity.dailyCap: dailyCap must be"),
            (r#"{"proximity": {"version": 1, "dailyCap": 1001}}"#, "dailyCap must be"),
            (r#"{"proximity": {"version": 1, "quietHours": {"from": "21:00", "to": "8"}}}"#, "quietHours '8'"),
            (r#"{"proximity": {"version": 1, "quietHours": {"from": "21:00", "to": "21:00"}}}"#, "must not start"),
            (r#"{"proximity": {"version": 1, "campaigns": {}}}"#, "expected shape"),
            (r#"{"proximity": {"version": 1, "campaigns": [7]}}"#, "campaign 'campaigns[0]'"),
            (r#"{"proximity": {"version": 1, "version": 2}}"#, "member 'version' appears twice"),
            (r#"{"proximity": {"version": 1}, "proximity": {"version": 2}}"#, "member 'proximity' appears twice"),
        ];
        for (json, needle) in cases {
            let err = parse(json).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
        let twice = format!(r#"{{"proximity": {{"version": 1, "campaigns": [{campaign}, {campaign}]}}}}"#);
        assert_eq!(parse(&twice).unwrap_err(), CampaignError::DuplicateCampaign("c".into()));
        let repeated =
            with_member("cap", r#"{"count": 1, "windowDays": 7}"#).replace(r#""count":1"#, r#""count":1,"count":9"#);
        assert!(parse(&repeated).unwrap_err().to_string().contains("member 'count' appears twice"), "{repeated}");
        let repeated_where = with_member("audience", r#"{"event": "e", "withinDays": 7, "where": {"a": 1}}"#)
            .replace(r#""a":1"#, r#""a":1,"a":2"#);
        assert!(parse(&repeated_where).unwrap_err().to_string().contains("member 'a' appears twice"));
    }

    #[test]
    fn mangled_documents_are_refused_or_parsed_never_a_panic() {
        let mut rng = fastrand::Rng::with_seed(13);
        let alphabet = b"{}[]\":,0123456789-.eE \\tnul/az";
        for _ in 0..3000 {
            let mut bytes = EXAMPLE.as_bytes().to_vec();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(0..bytes.len());
                match rng.u8(0..3) {
                    0 => bytes[at] = alphabet[rng.usize(0..alphabet.len())],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, alphabet[rng.usize(0..alphabet.len())]),
                }
            }
            if let Ok(Some(doc)) = ProximityCampaigns::from_remote_config(&bytes) {
                let _ = (doc.audience_rules(), doc.check_zones(&["tokyo-1/entrance"]));
            }
        }
    }

    #[test]
    fn audience_rules_are_listed_once_per_key_with_the_longest_look_back() {
        let doc = r#"{"proximity": {"version": 1, "campaigns": [
            {"id": "a", "zones": ["z"], "trigger": "enter", "offer": {"title": "t", "body": "b"},
             "audience": {"event": "viewed", "where": {"c": "shoes"}, "withinDays": 7}},
            {"id": "b", "zones": ["z"], "trigger": "enter", "offer": {"title": "t", "body": "b"},
             "audience": {"event": "viewed", "where": {"c": "shoes"}, "atLeast": 3, "withinDays": 30}},
            {"id": "c", "zones": ["z"], "trigger": "enter", "offer": {"title": "t", "body": "b"},
             "audience": {"event": "viewed", "where": {"c": "bags"}, "withinDays": 7}},
            {"id": "d", "zones": ["z"], "trigger": "enter", "offer": {"title": "t", "body": "b"}}]}}"#;
        let rules = parse(doc).unwrap().unwrap().audience_rules();
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[0].within_days, rules[0].where_["c"].as_str()), (30, Some("shoes")));
        assert_eq!((rules[1].within_days, rules[1].where_["c"].as_str()), (7, Some("bags")));
    }
}
