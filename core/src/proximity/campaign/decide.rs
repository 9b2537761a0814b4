//! The decision: given a presence transition (enter or dwell in a zone, during a visit), which campaign's offer
//! the shopper gets now, if any, and why every other candidate was skipped. Pure and deterministic: the same
//! inputs give the same decision and the same offer id, so a process that dies after deciding and decides again
//! cannot make a second offer for the same (campaign, visit).
//!
//! Each candidate (a campaign listing the zone with the same trigger) is checked in this order; the first rule it
//! fails is reported: `not_started`, `ended`, `outside_windows`, `quiet_hours`, `already_offered_in_visit`,
//! `cap_reached`, `zone_cooldown`, `daily_cap_reached`, `needs_personalization`, `audience_not_met`. Among the
//! eligible, the highest priority wins, ties to the smaller campaign id; the others are `outranked`.

use jiff::tz::TimeZone;

use super::audience::AudienceRule;
/// Re-exported: the decision is asked per trigger.
pub use super::config::Trigger;
use super::config::{Campaign, ProximityCampaigns};
use super::schedule::{local_day_ms, local_time, TimeOfDay};

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;

/// An offer already made (whatever the shopper did with it). `at_ms`: UTC milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferRecord {
    pub campaign_id: String,
    pub zone: String,
    pub visit_id: String,
    pub at_ms: i64,
}

/// Everything a decision depends on besides the campaigns.
pub struct OfferContext<'a> {
    pub trigger: Trigger,
    pub zone: &'a str,
    pub visit_id: &'a str,
    /// UTC wall clock, milliseconds.
    pub now_ms: i64,
    /// The zone's store: campaign windows are in its local time.
    pub store_tz: &'a TimeZone,
    /// Where the shopper's phone is set: quiet hours and the daily cap's calendar day are in its local time.
    pub shopper_tz: &'a TimeZone,
    /// Whether the shopper allowed `personalization`; audience rules are not evaluated without it. (The
    /// `location` consent is the caller's to check before deciding at all.)
    pub personalization_allowed: bool,
    /// Offers made before, covering at least the last 90 days (the longest cap window). Records later than
    /// `now_ms` (a clock set back) count as recent: that errs on silence.
    pub history: &'a [OfferRecord],
    /// How many events matching the rule happened in its last `within_days` days.
    pub audience_count: &'a dyn Fn(&AudienceRule) -> u32,
}

/// Why an eligible-looking candidate got no offer. [`SkipReason::code`] is stable: logs and dashboards use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    NotStarted,
    Ended,
    OutsideWindows,
    QuietHours,
    AlreadyOfferedInVisit,
    CapReached,
    ZoneCooldown,
    DailyCapReached,
    NeedsPersonalization,
    AudienceNotMet,
    /// Eligible, but another eligible campaign won (at most one offer per decision).
    Outranked,
}

impl SkipReason {
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::NotStarted => "not_started",
            SkipReason::Ended => "ended",
            SkipReason::OutsideWindows => "outside_windows",
            SkipReason::QuietHours => "quiet_hours",
            SkipReason::AlreadyOfferedInVisit => "already_offered_in_visit",
            SkipReason::CapReached => "cap_reached",
            SkipReason::ZoneCooldown => "zone_cooldown",
            SkipReason::DailyCapReached => "daily_cap_reached",
            SkipReason::NeedsPersonalization => "needs_personalization",
            SkipReason::AudienceNotMet => "audience_not_met",
            SkipReason::Outranked => "outranked",
        }
    }
}

/// The offer to make. The caller records it (as an [`OfferRecord`]) before showing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenOffer {
    /// Deterministic per (campaign, visit): see [`offer_id`].
    pub offer_id: String,
    pub campaign_id: String,
    pub title: String,
    pub body: String,
    pub coupon_id: Option<String>,
    pub zone: String,
    pub visit_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    pub offer: Option<ChosenOffer>,
    /// Candidates that got nothing, in document order, with the first rule each failed.
    pub skipped: Vec<(String, SkipReason)>,
}

/// At most one offer for this transition.
pub fn decide(campaigns: &ProximityCampaigns, ctx: &OfferContext) -> Decision {
    let shopper_time = TimeOfDay::of(local_time(ctx.now_ms, ctx.shopper_tz));
    let quiet = campaigns.quiet_hours.is_some_and(|q| q.contains(shopper_time));
    let (day_start, day_end) = local_day_ms(ctx.now_ms, ctx.shopper_tz);
    let offers_today = ctx.history.iter().filter(|r| (day_start..day_end).contains(&r.at_ms)).count();
    let daily_cap_reached = campaigns.daily_cap.is_some_and(|cap| offers_today >= cap as usize);

    let mut decision = Decision::default();
    let mut eligible: Vec<&Campaign> = Vec::new();
    let candidates =
        campaigns.campaigns.iter().filter(|c| c.trigger == ctx.trigger && c.zones.iter().any(|z| z == ctx.zone));
    for campaign in candidates {
        match first_failed_rule(campaign, ctx, quiet, daily_cap_reached) {
            Some(reason) => decision.skipped.push((campaign.id.clone(), reason)),
            None => eligible.push(campaign),
        }
    }
    eligible.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.id.cmp(&b.id)));
    let mut eligible = eligible.into_iter();
    decision.offer = eligible.next().map(|winner| ChosenOffer {
        offer_id: offer_id(&winner.id, ctx.visit_id),
        campaign_id: winner.id.clone(),
        title: winner.offer.title.clone(),
        body: winner.offer.body.clone(),
        coupon_id: winner.offer.coupon_id.clone(),
        zone: ctx.zone.to_string(),
        visit_id: ctx.visit_id.to_string(),
    });
    decision.skipped.extend(eligible.map(|c| (c.id.clone(), SkipReason::Outranked)));
    decision
}

fn first_failed_rule(
    campaign: &Campaign,
    ctx: &OfferContext,
    quiet: bool,
    daily_cap_reached: bool,
) -> Option<SkipReason> {
    let now = ctx.now_ms;
    if campaign.starts_at_ms.is_some_and(|start| now < start) {
        return Some(SkipReason::NotStarted);
    }
    if campaign.ends_at_ms.is_some_and(|end| now >= end) {
        return Some(SkipReason::Ended);
    }
    if !campaign.windows.is_empty() {
        let store_time = local_time(now, ctx.store_tz);
        if !campaign.windows.iter().any(|w| w.contains(store_time)) {
            return Some(SkipReason::OutsideWindows);
        }
    }
    if quiet {
        return Some(SkipReason::QuietHours);
    }
    let own = || ctx.history.iter().filter(|r| r.campaign_id == campaign.id);
    if own().any(|r| r.visit_id == ctx.visit_id) {
        return Some(SkipReason::AlreadyOfferedInVisit);
    }
    if let Some(cap) = campaign.cap {
        // Rolling: an offer counts for exactly window_days × 24 h after it was made.
        let since = now.saturating_sub(i64::from(cap.window_days) * MS_PER_DAY);
        if own().filter(|r| r.at_ms > since).count() >= cap.count as usize {
            return Some(SkipReason::CapReached);
        }
    }
    if campaign.cooldown_minutes > 0 {
        let since = now.saturating_sub(i64::from(campaign.cooldown_minutes) * MS_PER_MINUTE);
        if ctx.history.iter().any(|r| r.zone == ctx.zone && r.at_ms > since) {
            return Some(SkipReason::ZoneCooldown);
        }
    }
    if daily_cap_reached {
        return Some(SkipReason::DailyCapReached);
    }
    if let Some(rule) = &campaign.audience {
        if !ctx.personalization_allowed {
            return Some(SkipReason::NeedsPersonalization);
        }
        if (ctx.audience_count)(rule) < rule.at_least {
            return Some(SkipReason::AudienceNotMet);
        }
    }
    None
}

/// The id of the offer of `campaign_id` in `visit_id`: a version 8 UUID from SHA-256 over both, so deciding again
/// (after a restart) names the same offer and storage can refuse a second one.
pub fn offer_id(campaign_id: &str, visit_id: &str) -> String {
    // Campaign ids hold no NUL, so the separator makes the pair unambiguous.
    let input = format!("footfall.offer.v1\0{campaign_id}\0{visit_id}");
    let digest = ring::digest::digest(&ring::digest::SHA256, input.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.as_ref().get(..16).unwrap_or(&[0; 16]));
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn doc(campaigns: &[String], top: &str) -> ProximityCampaigns {
        let json = format!(r#"{{"proximity": {{"version": 1 {top}, "campaigns": [{}]}}}}"#, campaigns.join(","));
        ProximityCampaigns::from_remote_config(json.as_bytes()).unwrap().unwrap()
    }

    /// A campaign on zone `z`, trigger enter, with extra members (`, "priority": 3`).
    fn campaign(id: &str, extra: &str) -> String {
        format!(
            r#"{{"id": "{id}", "zones": ["z"], "trigger": "enter", "offer": {{"title": "t", "body": "b"}} {extra}}}"#
        )
    }

    fn ms(utc: &str) -> i64 {
        utc.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn record(campaign: &str, zone: &str, visit: &str, at: i64) -> OfferRecord {
        OfferRecord { campaign_id: campaign.into(), zone: zone.into(), visit_id: visit.into(), at_ms: at }
    }

    /// Decides for an enter in zone `z`, visit `v`, with the store and the shopper in the given zones.
    struct Case<'a> {
        now_ms: i64,
        store: TimeZone,
        shopper: TimeZone,
        history: &'a [OfferRecord],
        personalization: bool,
        audience_count: u32,
    }

    impl Case<'_> {
        fn at(now_ms: i64) -> Case<'static> {
            Case {
                now_ms,
                store: tz("Asia/Tokyo"),
                shopper: tz("Asia/Tokyo"),
                history: &[],
                personalization: true,
                audience_count: 0,
            }
        }

        fn decide(&self, campaigns: &ProximityCampaigns) -> Decision {
            let count = |_: &AudienceRule| self.audience_count;
            decide(
                campaigns,
                &OfferContext {
                    trigger: Trigger::Enter,
                    zone: "z",
                    visit_id: "v",
                    now_ms: self.now_ms,
                    store_tz: &self.store,
                    shopper_tz: &self.shopper,
                    personalization_allowed: self.personalization,
                    history: self.history,
                    audience_count: &count,
                },
            )
        }
    }

    fn offered(decision: &Decision) -> Option<&str> {
        decision.offer.as_ref().map(|o| o.campaign_id.as_str())
    }

    /// 2026-12-07 is a Monday; 12:00 in Tokyo is 03:00 UTC.
    const MONDAY_NOON_TOKYO: &str = "2026-12-07T03:00:00Z";

    #[test]
    fn every_skip_reason_fires_and_is_reported_with_its_code() {
        let now = ms(MONDAY_NOON_TOKYO);
        let hour = 3_600_000;
        let audience = r#", "audience": {"event": "viewed", "withinDays": 7, "atLeast": 2}"#;
        let history = [
            record("visited", "other", "v", now - hour),
            record("capped", "other", "v0", now - 2 * hour),
            record("cooled", "z", "v0", now - 25 * hour),
        ];
        let campaigns = doc(
            &[
                campaign("early", r#", "startsAt": "2026-12-07T03:00:00.001Z""#),
                campaign("late", r#", "endsAt": "2026-12-07T03:00:00Z""#),
                campaign("weekend", r#", "windows": [{"days": ["sat", "sun"], "from": "00:00", "to": "23:59"}]"#),
                campaign("visited", ""),
                campaign("capped", r#", "cap": {"count": 1, "windowDays": 1}"#),
                campaign("cooled", r#", "cooldownMinutes": 1501"#),
                campaign("gated", audience),
                campaign("unmet", &audience.replace("viewed", "bought")),
            ],
            "",
        );
        let case = Case { history: &history, personalization: true, audience_count: 1, ..Case::at(now) };
        let decision = case.decide(&campaigns);
        assert_eq!(decision.offer, None);
        let codes: Vec<(&str, &str)> = decision.skipped.iter().map(|(c, r)| (c.as_str(), r.code())).collect();
        assert_eq!(
            codes,
            [
                ("early", "not_started"),
                ("late", "ended"),
                ("weekend", "outside_windows"),
                ("visited", "already_offered_in_visit"),
                ("capped", "cap_reached"),
                ("cooled", "zone_cooldown"),
                ("gated", "audience_not_met"),
                ("unmet", "audience_not_met"),
            ]
        );
        let no_consent = Case { personalization: false, ..case }.decide(&campaigns);
        assert!(no_consent.skipped.contains(&("gated".into(), SkipReason::NeedsPersonalization)));

        let quiet = doc(&[campaign("a", "")], r#", "quietHours": {"from": "11:00", "to": "13:00"}"#);
        assert_eq!(Case::at(now).decide(&quiet).skipped, [("a".into(), SkipReason::QuietHours)]);
        let capped = doc(&[campaign("a", "")], r#", "dailyCap": 1"#);
        let today = [record("x", "elsewhere", "v9", now - hour)];
        let decision = Case { history: &today, ..Case::at(now) }.decide(&capped);
        assert_eq!(decision.skipped, [("a".into(), SkipReason::DailyCapReached)]);
        let both = doc(&[campaign("a", ""), campaign("b", "")], "");
        assert_eq!(Case::at(now).decide(&both).skipped, [("b".into(), SkipReason::Outranked)]);
    }

    #[test]
    fn other_zones_and_triggers_are_not_candidates() {
        let campaigns = doc(
            &[
                campaign("dwell", "").replace("enter", "dwell"),
                campaign("elsewhere", "").replace(r#"["z"]"#, r#"["y"]"#),
                campaign("here", "").replace(r#"["z"]"#, r#"["y", "z"]"#),
            ],
            "",
        );
        let decision = Case::at(ms(MONDAY_NOON_TOKYO)).decide(&campaigns);
        assert_eq!((offered(&decision), decision.skipped.len()), (Some("here"), 0));
    }

    #[test]
    fn the_highest_priority_wins_and_ties_go_to_the_smaller_id() {
        let now = ms(MONDAY_NOON_TOKYO);
        let campaigns = doc(
            &[
                campaign("b", r#", "priority": 5"#),
                campaign("c", r#", "priority": 9"#),
                campaign("a", r#", "priority": 9"#),
                campaign("d", ""),
            ],
            "",
        );
        let decision = Case::at(now).decide(&campaigns);
        assert_eq!(offered(&decision), Some("a"));
        let outranked: Vec<&str> = decision.skipped.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(outranked, ["c", "b", "d"]);
        let offer = decision.offer.unwrap();
        assert_eq!((offer.zone.as_str(), offer.visit_id.as_str(), offer.title.as_str()), ("z", "v", "t"));
        // A lower priority is offered when the winner is not eligible.
        let history = [record("a", "z", "v", now - 1)];
        assert_eq!(offered(&Case { history: &history, ..Case::at(now) }.decide(&campaigns)), Some("c"));
    }

    #[test]
    fn the_offer_id_is_the_same_for_the_same_campaign_and_visit_only() {
        let with_coupon = campaign("a", "").replace(r#""body": "b""#, r#""body": "b", "couponId": "xmas""#);
        let campaigns = doc(&[with_coupon], "");
        let case = Case::at(ms(MONDAY_NOON_TOKYO));
        let first = case.decide(&campaigns).offer.unwrap();
        let again = Case::at(ms(MONDAY_NOON_TOKYO) + 60_000).decide(&campaigns).offer.unwrap();
        assert_eq!(first, again);
        assert_eq!(first.coupon_id.as_deref(), Some("xmas"));
        assert_eq!(first.offer_id, offer_id("a", "v"));
        assert_eq!(offer_id("a", "v"), "069a8e0e-4a07-8377-b86c-21e7ae5f83e2", "ids are stored: they must not change");
        assert_ne!(offer_id("a", "v"), offer_id("a", "v2"));
        assert_ne!(offer_id("a", "bc"), offer_id("ab", "c"));
    }

    #[test]
    fn quiet_hours_cross_midnight_in_tokyo() {
        let campaigns = doc(&[campaign("a", "")], r#", "quietHours": {"from": "21:00", "to": "08:00"}"#);
        // Tokyo is UTC+9 all year: 21:00 JST is 12:00 UTC.
        for (utc, quiet) in [
            ("2026-12-07T11:59:59Z", false),
            ("2026-12-07T12:00:00Z", true),
            ("2026-12-07T15:00:00Z", true),
            ("2026-12-07T22:59:59Z", true),
            ("2026-12-07T23:00:00Z", false),
        ] {
            let decision = Case::at(ms(utc)).decide(&campaigns);
            assert_eq!(decision.skipped.contains(&("a".into(), SkipReason::QuietHours)), quiet, "{utc}");
            assert_eq!(decision.offer.is_some(), !quiet, "{utc}");
        }
    }

    #[test]
    fn quiet_hours_follow_the_wall_clock_across_dst_in_new_york() {
        let campaigns = doc(&[campaign("a", "")], r#", "quietHours": {"from": "22:00", "to": "07:00"}"#);
        let new_york = |utc: &str| Case { shopper: tz("America/New_York"), ..Case::at(ms(utc)) };
        // The same UTC time of day: 06:30 EST before clocks go forward on 2026-03-08, 07:30 EDT after.
        assert!(new_york("2026-03-07T11:30:00Z").decide(&campaigns).offer.is_none());
        assert!(new_york("2026-03-08T11:30:00Z").decide(&campaigns).offer.is_some());
        // Clocks fall back on 2026-11-01: 01:30 happens twice, quiet both times; 22:00 EST is 03:00 UTC.
        let night = doc(&[campaign("a", "")], r#", "quietHours": {"from": "01:00", "to": "02:00"}"#);
        assert!(new_york("2026-11-01T05:30:00Z").decide(&night).offer.is_none());
        assert!(new_york("2026-11-01T06:30:00Z").decide(&night).offer.is_none());
        assert!(new_york("2026-11-01T07:00:00Z").decide(&night).offer.is_some());
        assert!(new_york("2026-11-02T02:59:00Z").decide(&campaigns).offer.is_some());
        assert!(new_york("2026-11-02T03:00:00Z").decide(&campaigns).offer.is_none());
    }

    #[test]
    fn windows_read_the_store_clock_and_quiet_hours_the_shopper_clock() {
        let window = r#", "windows": [{"days": ["mon","tue","wed","thu","fri"], "from": "10:00", "to": "20:00"}]"#;
        let plain = doc(&[campaign("a", window)], "");
        let quiet = doc(&[campaign("a", window)], r#", "quietHours": {"from": "21:00", "to": "08:00"}"#);
        let visitor = |utc: &str| Case { shopper: tz("America/New_York"), ..Case::at(ms(utc)) };
        // Friday 11:00 in Tokyo is Thursday 21:00 in New York: the store is open, the shopper's evening is quiet.
        let friday_morning_tokyo = "2026-12-04T02:00:00Z";
        assert_eq!(offered(&visitor(friday_morning_tokyo).decide(&plain)), Some("a"));
        assert_eq!(visitor(friday_morning_tokyo).decide(&quiet).skipped, [("a".into(), SkipReason::QuietHours)]);
        assert_eq!(offered(&Case::at(ms(friday_morning_tokyo)).decide(&quiet)), Some("a"));
        // Saturday 11:00 in Tokyo is still Friday in New York, but the window is the store's: closed.
        let saturday = visitor("2026-12-05T02:00:00Z").decide(&plain);
        assert_eq!(saturday.skipped, [("a".into(), SkipReason::OutsideWindows)]);
        // Friday 09:59 and 20:00 in Tokyo are outside; 19:59 inside.
        for (utc, open) in
            [("2026-12-04T00:59:00Z", false), ("2026-12-04T10:59:00Z", true), ("2026-12-04T11:00:00Z", false)]
        {
            assert_eq!(visitor(utc).decide(&plain).offer.is_some(), open, "{utc}");
        }
    }

    #[test]
    fn a_rolling_cap_frees_a_slot_exactly_window_days_after_an_offer() {
        let campaigns = doc(&[campaign("a", r#", "cap": {"count": 2, "windowDays": 7}"#)], "");
        let first = ms("2026-12-01T03:00:00Z");
        let week = 7 * 86_400_000;
        let history = [record("a", "z", "v1", first), record("a", "z", "v2", first + 3_600_000)];
        let at = |now| Case { history: &history, ..Case::at(now) }.decide(&campaigns);
        assert_eq!(at(first + week - 1).skipped, [("a".into(), SkipReason::CapReached)]);
        assert_eq!(offered(&at(first + week)), Some("a"));
    }

    #[test]
    fn the_zone_cooldown_ends_exactly_after_its_minutes() {
        let campaigns = doc(&[campaign("a", r#", "cooldownMinutes": 60"#)], "");
        let last = ms(MONDAY_NOON_TOKYO);
        let history = [record("other", "z", "v1", last), record("a", "y", "v2", last + 1)];
        let at = |now| Case { history: &history, ..Case::at(now) }.decide(&campaigns);
        assert_eq!(at(last + 3_600_000 - 1).skipped, [("a".into(), SkipReason::ZoneCooldown)]);
        assert_eq!(offered(&at(last + 3_600_000)), Some("a"));
    }

    #[test]
    fn the_daily_cap_resets_at_the_shoppers_local_midnight() {
        let campaigns = doc(&[campaign("a", "")], r#", "dailyCap": 1"#);
        // 23:00 on Monday in Tokyo; Tokyo's midnight is 15:00 UTC, nine hours before UTC's.
        let history = [record("b", "y", "v1", ms("2026-12-07T14:00:00Z"))];
        let tokyo = |utc: &str| Case { history: &history, ..Case::at(ms(utc)) }.decide(&campaigns);
        assert_eq!(tokyo("2026-12-07T14:59:59.999Z").skipped, [("a".into(), SkipReason::DailyCapReached)]);
        assert_eq!(offered(&tokyo("2026-12-07T15:00:00Z")), Some("a"));
        // The offer was made at 09:00 in New York: the same day there until 05:00 UTC the next day.
        let new_york = |utc: &str| Case { history: &history, shopper: tz("America/New_York"), ..Case::at(ms(utc)) };
        assert!(new_york("2026-12-08T04:59:59Z").decide(&campaigns).offer.is_none());
        assert!(new_york("2026-12-08T05:00:00Z").decide(&campaigns).offer.is_some());
    }

    #[test]
    fn audience_counts_are_not_asked_for_without_personalization() {
        let audience = r#", "audience": {"event": "viewed", "withinDays": 14, "atLeast": 2}"#;
        let campaigns = doc(&[campaign("a", audience)], "");
        let asked = Cell::new(0);
        let count = |rule: &AudienceRule| {
            asked.set(asked.get() + 1);
            assert_eq!(rule.within_days, 14);
            2
        };
        let store = tz("Asia/Tokyo");
        let mut ctx = OfferContext {
            trigger: Trigger::Enter,
            zone: "z",
            visit_id: "v",
            now_ms: ms(MONDAY_NOON_TOKYO),
            store_tz: &store,
            shopper_tz: &store,
            personalization_allowed: false,
            history: &[],
            audience_count: &count,
        };
        assert_eq!(decide(&campaigns, &ctx).skipped, [("a".into(), SkipReason::NeedsPersonalization)]);
        assert_eq!(asked.get(), 0);
        ctx.personalization_allowed = true;
        assert_eq!(offered(&decide(&campaigns, &ctx)), Some("a"));
        assert_eq!(asked.get(), 1);
    }

    #[test]
    fn any_instant_is_decided_without_panicking() {
        let campaigns = doc(
            &[campaign("a", r#", "cap": {"count": 1, "windowDays": 90}, "cooldownMinutes": 10080"#)],
            r#", "dailyCap": 1, "quietHours": {"from": "00:00", "to": "00:01"}"#,
        );
        let history = [record("a", "z", "v0", i64::MIN), record("a", "z", "v1", i64::MAX)];
        for now in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX] {
            let _ = Case { history: &history, ..Case::at(now) }.decide(&campaigns);
        }
    }
}
