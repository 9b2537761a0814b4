//! A seeded randomized check of the decision's promises: many enters and dwells across visits, zones, consent
//! changes and DST dates, every chosen offer fed back into the history, then the invariants checked on the whole
//! history. Deterministic: each seed replays the same run.

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;

use super::audience::AudienceRule;
use super::config::{ProximityCampaigns, Trigger};
use super::decide::{decide, OfferContext, OfferRecord};
use super::schedule::{local_day_ms, local_time, TimeOfDay};

const ZONES: [&str; 3] = ["s1/entrance", "s1/shoes", "s2/entrance"];
const TIME_ZONES: [&str; 3] = ["Asia/Tokyo", "Europe/Berlin", "America/New_York"];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn time(rng: &mut fastrand::Rng) -> String {
    format!("{:02}:{:02}", rng.u8(0..24), [0, 15, 30, 59][rng.usize(0..4)])
}

fn random_document(rng: &mut fastrand::Rng) -> ProximityCampaigns {
    let mut campaigns = Vec::new();
    for i in 0..rng.usize(1..8) {
        let zones: Vec<String> = ZONES.iter().filter(|_| rng.bool()).map(|z| format!("\"{z}\"")).collect::<Vec<_>>();
        let zones = if zones.is_empty() { vec![format!("\"{}\"", ZONES[0])] } else { zones };
        let mut members = vec![
            format!(r#""id": "c{i}""#),
            format!(r#""zones": [{}]"#, zones.join(",")),
            format!(r#""trigger": "{}""#, if rng.u8(0..4) == 0 { "dwell" } else { "enter" }),
            format!(r#""priority": {}"#, rng.u8(0..3)),
            r#""offer": {"title": "t", "body": "b"}"#.to_string(),
        ];
        if rng.bool() {
            members.push(format!(r#""cap": {{"count": {}, "windowDays": {}}}"#, rng.u8(1..4), rng.u8(1..8)));
        }
        if rng.bool() {
            members.push(format!(r#""cooldownMinutes": {}"#, [0, 30, 120, 600][rng.usize(0..4)]));
        }
        if rng.u8(0..3) == 0 {
            let days: Vec<String> = DAYS.iter().filter(|_| rng.u8(0..4) != 0).map(|d| format!("\"{d}\"")).collect();
            let (from, to) = (time(rng), time(rng));
            if !days.is_empty() && from != to {
                members
                    .push(format!(r#""windows": [{{"days": [{}], "from": "{from}", "to": "{to}"}}]"#, days.join(",")));
            }
        }
        if rng.u8(0..3) == 0 {
            members.push(format!(
                r#""audience": {{"event": "viewed", "where": {{"n": {}}}, "atLeast": {}, "withinDays": 14}}"#,
                rng.u8(0..2),
                rng.u8(1..3)
            ));
        }
        if rng.u8(0..4) == 0 {
            members.push(r#""startsAt": "2026-03-05T00:00:00Z", "endsAt": "2026-04-20T00:00:00+02:00""#.into());
        }
        campaigns.push(format!("{{{}}}", members.join(",")));
    }
    let mut top = String::new();
    if rng.u8(0..4) != 0 {
        top.push_str(&format!(r#", "dailyCap": {}"#, rng.u8(1..5)));
    }
    let (from, to) = (time(rng), time(rng));
    if rng.u8(0..4) != 0 && from != to {
        top.push_str(&format!(r#", "quietHours": {{"from": "{from}", "to": "{to}"}}"#));
    }
    let json = format!(r#"{{"proximity": {{"version": 1{top}, "campaigns": [{}]}}}}"#, campaigns.join(","));
    match ProximityCampaigns::from_remote_config(json.as_bytes()) {
        Ok(Some(doc)) => doc,
        other => panic!("{json}: {other:?}"),
    }
}

/// One offer as made, with what the check needs to know about the moment.
struct Made {
    record: OfferRecord,
    personalization_allowed: bool,
}

#[test]
fn random_triggers_never_break_the_promises() {
    let mut total_offers = 0;
    for seed in 0..40 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let campaigns = random_document(&mut rng);
        let shopper_tz = TimeZone::get(TIME_ZONES[rng.usize(0..3)]).unwrap();
        let store_tz = TimeZone::get(TIME_ZONES[rng.usize(0..3)]).unwrap();
        // March and April hold the DST changes of New York (8 March) and Berlin (29 March).
        let mut now = "2026-03-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
        let mut history: Vec<OfferRecord> = Vec::new();
        let mut made: Vec<Made> = Vec::new();
        let mut visit = 0u32;
        let mut zone = ZONES[0];
        for _ in 0..1500 {
            // Sometimes the same transition is reported again at the same instant (a retry after a restart).
            if rng.u8(0..5) != 0 {
                now += i64::from(rng.u32(1..600)) * 60_000;
                if rng.u8(0..3) == 0 {
                    visit += 1;
                    zone = ZONES[rng.usize(0..3)];
                }
            }
            let visit_id = format!("visit-{visit}");
            let personalization_allowed = rng.bool();
            let count = rng.u32(0..4);
            let audience_count = move |_: &AudienceRule| count;
            let ctx = OfferContext {
                trigger: if rng.bool() { Trigger::Enter } else { Trigger::Dwell },
                zone,
                visit_id: &visit_id,
                now_ms: now,
                store_tz: &store_tz,
                shopper_tz: &shopper_tz,
                personalization_allowed,
                history: &history,
                audience_count: &audience_count,
            };
            if let Some(offer) = decide(&campaigns, &ctx).offer {
                let record = OfferRecord {
                    campaign_id: offer.campaign_id,
                    zone: offer.zone,
                    visit_id: offer.visit_id,
                    at_ms: now,
                };
                history.push(record.clone());
                made.push(Made { record, personalization_allowed });
            }
        }
        total_offers += made.len();
        check(seed, &campaigns, &made, &store_tz, &shopper_tz);
    }
    assert!(total_offers > 500, "the simulation must make offers to test anything: {total_offers}");
}

fn check(seed: u64, campaigns: &ProximityCampaigns, made: &[Made], store_tz: &TimeZone, shopper_tz: &TimeZone) {
    let mut pairs = BTreeSet::new();
    let mut per_day: BTreeMap<i64, u32> = BTreeMap::new();
    for (i, m) in made.iter().enumerate() {
        let r = &m.record;
        let campaign = campaigns.campaign(&r.campaign_id).unwrap();
        assert!(
            pairs.insert((&r.campaign_id, &r.visit_id)),
            "seed {seed}: two offers of {} in one visit",
            r.campaign_id
        );
        let earlier = &made[..i];
        if let Some(cap) = campaign.cap {
            let window = i64::from(cap.window_days) * 86_400_000;
            let recent = earlier
                .iter()
                .filter(|e| e.record.campaign_id == r.campaign_id && e.record.at_ms > r.at_ms - window)
                .count();
            assert!(recent < cap.count as usize, "seed {seed}: cap of {} exceeded", r.campaign_id);
        }
        let cooldown = i64::from(campaign.cooldown_minutes) * 60_000;
        if cooldown > 0 {
            let cooling = earlier.iter().any(|e| e.record.zone == r.zone && e.record.at_ms > r.at_ms - cooldown);
            assert!(!cooling, "seed {seed}: {} offered during the cooldown of {}", r.campaign_id, r.zone);
        }
        let day = local_day_ms(r.at_ms, shopper_tz).0;
        let today = per_day.entry(day).or_default();
        *today += 1;
        assert!(campaigns.daily_cap.is_none_or(|cap| *today <= cap), "seed {seed}: daily cap exceeded");
        let shopper_time = TimeOfDay::of(local_time(r.at_ms, shopper_tz));
        assert!(!campaigns.quiet_hours.is_some_and(|q| q.contains(shopper_time)), "seed {seed}: offer in quiet hours");
        let store_time = local_time(r.at_ms, store_tz);
        assert!(campaign.windows.is_empty() || campaign.windows.iter().any(|w| w.contains(store_time)));
        assert!(campaign.audience.is_none() || m.personalization_allowed, "seed {seed}: audience without consent");
        assert!(campaign.starts_at_ms.is_none_or(|s| r.at_ms >= s) && campaign.ends_at_ms.is_none_or(|e| r.at_ms < e));
    }
}
