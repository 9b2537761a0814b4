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
use super::config::{Campaign, ProximityCampaigns, Trigger};
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
