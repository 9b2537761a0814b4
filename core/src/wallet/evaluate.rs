//! "Why didn't it apply?": a deterministic evaluator. Given verified coupons with their local state and a basket,
//! it says for each coupon whether it applies, the discount in minor units and every reason it does not — the
//! same answer on the phone, the till and in a test, because time, connectivity and state are all parameters.
//!
//! Rules: a coupon applies only with no reason against it; the basket total must reach the minimum; the
//! discount is taken from the eligible lines' value still left after coupons that applied before it, so neither
//! one coupon nor a stack of them ever exceeds what the items cost; at most one coupon per stack group applies,
//! chosen as the highest discount, then the smallest coupon id, then the smallest serial.

use std::collections::BTreeMap;

use super::grant::{Discount, Eligibility, Gtin, VerifiedGrant};
use super::validity::OutsideValidity;

/// Why a coupon does not apply; [`Reason::code`] is the stable name apps and the CLI show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    Revoked,
    NotYetValid,
    Expired,
    UsesExhausted,
    /// The grant does not allow offline redemption, and the device is offline.
    OfflineNotAccepted,
    /// Offline uses or value since the last sync would pass the grant's offline limit.
    OfflineLimit,
    CurrencyMismatch,
    NotEligibleItem,
    MinBasket,
    /// Another coupon of the same stack group gives more (or ties and sorts first).
    StackConflict,
}

impl Reason {
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Revoked => "revoked",
            Reason::NotYetValid => "not_yet_valid",
            Reason::Expired => "expired",
            Reason::UsesExhausted => "uses_exhausted",
            Reason::OfflineNotAccepted => "offline_not_accepted",
            Reason::OfflineLimit => "offline_limit",
            Reason::CurrencyMismatch => "currency_mismatch",
            Reason::NotEligibleItem => "not_eligible_item",
            Reason::MinBasket => "min_basket",
            Reason::StackConflict => "stack_conflict",
        }
    }
}

/// What the device knows locally about one coupon (kept by the storage layer, not here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CouponState {
    /// Redemptions so far, confirmed or pending.
    pub uses: u32,
    /// Redemptions made offline since the last successful sync.
    pub offline_uses_since_sync: u32,
    /// Discount value (minor units) redeemed offline since the last successful sync.
    pub offline_value_since_sync: u64,
    /// The feed said the issuer revoked it.
    pub revoked: bool,
}

/// A coupon to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct WalletCoupon<'a> {
    pub grant: &'a VerifiedGrant,
    pub state: CouponState,
}

/// One basket line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasketLine {
    pub gtin: Gtin,
    /// The item's product family code, when the store knows it.
    pub family: Option<String>,
    pub quantity: u32,
    pub unit_price_minor: u64,
}

/// What is being bought, where and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basket {
    pub store_id: String,
    /// ISO 4217 code of every price in the basket.
    pub currency: String,
    pub lines: Vec<BasketLine>,
    /// UTC seconds, already corrected to server time.
    pub at: i64,
    /// Whether the device can reach the issuer now; offline, the grants' offline policies apply.
    pub online: bool,
}

/// Why a basket cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BasketError {
    #[error("basket line {0} is worth more than the largest amount this evaluator handles")]
    LineOverflow(usize),
    #[error("the basket total is more than the largest amount this evaluator handles")]
    TotalOverflow,
}

/// The verdict for one coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponOutcome {
    pub coupon_id: String,
    pub serial: String,
    pub applies: bool,
    /// Minor units of the basket's currency; 0 unless it applies.
    pub discount_minor: u64,
    /// Every reason against it, sorted; empty when it applies.
    pub reasons: Vec<Reason>,
}

/// Evaluates every coupon against `basket`; outcomes come back in the order of `coupons`.
pub fn evaluate(coupons: &[WalletCoupon<'_>], basket: &Basket) -> Result<Vec<CouponOutcome>, BasketError> {
    let line_values = basket
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| u64::from(l.quantity).checked_mul(l.unit_price_minor).ok_or(BasketError::LineOverflow(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let total = line_values.iter().try_fold(0u64, |sum, v| sum.checked_add(*v)).ok_or(BasketError::TotalOverflow)?;

    // First each coupon alone: its reasons and the discount it would give on the full basket.
    let mut outcomes: Vec<CouponOutcome> = coupons
        .iter()
        .map(|c| {
            let (reasons, discount) = assess(c, basket, &line_values, total, &line_values);
            let g = c.grant.grant();
            CouponOutcome {
                coupon_id: g.coupon_id.clone(),
                serial: g.serial.clone(),
                applies: reasons.is_empty(),
                discount_minor: discount,
                reasons,
            }
        })
        .collect();

    // Then stacking, in a fixed order: the best candidate first.
    let mut order: Vec<usize> = (0..coupons.len()).filter(|i| outcomes[*i].applies).collect();
    order.sort_by(|a, b| {
        let (x, y) = (&outcomes[*a], &outcomes[*b]);
        y.discount_minor
            .cmp(&x.discount_minor)
            .then_with(|| x.coupon_id.cmp(&y.coupon_id))
            .then_with(|| x.serial.cmp(&y.serial))
    });
    let mut taken_groups: BTreeMap<&str, usize> = BTreeMap::new();
    let mut remaining = line_values.clone();
    for i in order {
        let grant = coupons[i].grant.grant();
        if let Some(group) = grant.stack_group.as_deref() {
            if taken_groups.insert(group, i).is_some() {
                outcomes[i].applies = false;
                outcomes[i].reasons.push(Reason::StackConflict);
                continue;
            }
        }
        let (_, discount) = assess(&coupons[i], basket, &line_values, total, &remaining);
        take(&mut remaining, &eligible_lines(coupons[i].grant, basket), discount);
        outcomes[i].discount_minor = discount;
    }
    for outcome in outcomes.iter_mut().filter(|o| !o.applies) {
        outcome.discount_minor = 0;
        outcome.reasons.sort();
    }
    Ok(outcomes)
}

/// The reasons against a coupon whatever the basket: revoked, outside its validity at `now`, no use left, or
/// (counting a fixed discount's value) past its offline limits since the last sync. What a wallet list shows as
/// "usable now", and what `present` refuses on.
pub fn standing(coupon: &WalletCoupon<'_>, now: i64) -> Vec<Reason> {
    let grant = coupon.grant.grant();
    let state = coupon.state;
    let mut reasons = Vec::new();
    if state.revoked {
        reasons.push(Reason::Revoked);
    }
    match grant.validity.check(now) {
        Ok(()) => {}
        Err(OutsideValidity::NotYetValid) => reasons.push(Reason::NotYetValid),
        Err(OutsideValidity::Expired) => reasons.push(Reason::Expired),
    }
    if state.uses >= grant.uses_allowed {
        reasons.push(Reason::UsesExhausted);
    }
    let fixed = match grant.discount {
        Discount::Amount { minor } => minor,
        Discount::Percent { .. } => 0,
    };
    let policy = grant.offline;
    if policy.accepted
        && (state.offline_uses_since_sync >= policy.max_uses
            || state.offline_value_since_sync.saturating_add(fixed) > policy.max_value_minor)
    {
        reasons.push(Reason::OfflineLimit);
    }
    reasons
}

/// The reasons against one coupon and the discount it gives from `available` value per line.
fn assess(
    coupon: &WalletCoupon<'_>,
    basket: &Basket,
    line_values: &[u64],
    total: u64,
    available: &[u64],
) -> (Vec<Reason>, u64) {
    let grant = coupon.grant.grant();
    let state = coupon.state;
    let mut reasons = Vec::new();
    if state.revoked {
        reasons.push(Reason::Revoked);
    }
    match grant.validity.check(basket.at) {
        Ok(()) => {}
        Err(OutsideValidity::NotYetValid) => reasons.push(Reason::NotYetValid),
        Err(OutsideValidity::Expired) => reasons.push(Reason::Expired),
    }
    if state.uses >= grant.uses_allowed {
        reasons.push(Reason::UsesExhausted);
    }
    if grant.currency != basket.currency {
        reasons.push(Reason::CurrencyMismatch);
    }
    let eligible = eligible_lines(coupon.grant, basket);
    let eligible_full: u64 = eligible.iter().map(|i| line_values[*i]).sum();
    if eligible.is_empty() || eligible_full == 0 {
        reasons.push(Reason::NotEligibleItem);
    }
    if total < grant.min_basket_minor {
        reasons.push(Reason::MinBasket);
    }
    let eligible_available: u64 = eligible.iter().map(|i| available[*i]).sum();
    let discount = match grant.discount {
        Discount::Percent { basis_points } => {
            // Of the full eligible value (a percentage does not shrink because another coupon came first), then
            // capped by what is left; u128 so no basket can overflow.
            let full = u128::from(eligible_full) * u128::from(basis_points) / 10_000;
            (full as u64).min(eligible_available)
        }
        Discount::Amount { minor } => minor.min(eligible_available),
    };
    if !basket.online {
        let policy = grant.offline;
        if !policy.accepted {
            reasons.push(Reason::OfflineNotAccepted);
        } else if state.offline_uses_since_sync >= policy.max_uses
            || state.offline_value_since_sync.saturating_add(discount) > policy.max_value_minor
        {
            reasons.push(Reason::OfflineLimit);
        }
    }
    (reasons, if eligible_available == 0 { 0 } else { discount })
}

fn eligible_lines(grant: &VerifiedGrant, basket: &Basket) -> Vec<usize> {
    let eligibility = &grant.grant().eligibility;
    (0..basket.lines.len())
        .filter(|i| {
            let line = &basket.lines[*i];
            match eligibility {
                Eligibility::AnyItem => true,
                Eligibility::Gtins(gtins) => gtins.contains(&line.gtin),
                Eligibility::Family(code) => line.family.as_deref() == Some(code.as_str()),
            }
        })
        .collect()
}

/// Takes `amount` from the lines' remaining value, first line first.
fn take(remaining: &mut [u64], lines: &[usize], mut amount: u64) {
    for i in lines {
        let part = amount.min(remaining[*i]);
        remaining[*i] -= part;
        amount -= part;
    }
}

#[cfg(test)]
mod tests {
    use super::super::grant::tests::{issuer, keys, sample, NOW};
    use super::super::grant::{verify_grant, Grant, OfflinePolicy};
    use super::*;

    const ITEM: &str = "4901234567894";
    const OTHER: &str = "4901234567887";

    fn verified(edit: impl FnOnce(&mut Grant)) -> VerifiedGrant {
        let mut g = sample();
        edit(&mut g);
        verify_grant(&g.sign(&issuer()).unwrap(), &keys(), NOW).unwrap()
    }

    fn line(gtin: &str, quantity: u32, unit_price_minor: u64) -> BasketLine {
        BasketLine { gtin: Gtin::parse(gtin).unwrap(), family: Some("F100".into()), quantity, unit_price_minor }
    }

    fn basket(lines: Vec<BasketLine>) -> Basket {
        Basket { store_id: "tokyo-01".into(), currency: "JPY".into(), lines, at: NOW, online: true }
    }

    fn one(grant: &VerifiedGrant, state: CouponState, basket: &Basket) -> CouponOutcome {
        evaluate(&[WalletCoupon { grant, state }], basket).unwrap().remove(0)
    }

    #[test]
    fn ten_percent_of_the_eligible_items_only() {
        let g = verified(|_| {});
        let out = one(&g, CouponState::default(), &basket(vec![line(ITEM, 2, 1980), line(OTHER, 1, 5000)]));
        assert_eq!((out.applies, out.discount_minor, out.reasons), (true, 396, vec![]));
    }

    #[test]
    fn each_reason_is_reached() {
        let g = verified(|_| {});
        let ok = basket(vec![line(ITEM, 1, 2000)]);
        let reasons = |g: &VerifiedGrant, state: CouponState, b: &Basket| one(g, state, b).reasons;
        let revoked = CouponState { revoked: true, ..Default::default() };
        assert_eq!(reasons(&g, revoked, &ok), vec![Reason::Revoked]);
        let mut early = ok.clone();
        early.at = g.grant().validity.not_before - 1;
        assert_eq!(reasons(&g, CouponState::default(), &early), vec![Reason::NotYetValid]);
        let mut late = ok.clone();
        late.at = g.grant().validity.not_after + 900;
        assert_eq!(reasons(&g, CouponState::default(), &late), vec![Reason::Expired]);
        let used = CouponState { uses: 1, ..Default::default() };
        assert_eq!(reasons(&g, used, &ok), vec![Reason::UsesExhausted]);
        assert_eq!(
            reasons(&g, CouponState::default(), &basket(vec![line(OTHER, 1, 2000)])),
            vec![Reason::NotEligibleItem]
        );
        assert_eq!(reasons(&g, CouponState::default(), &basket(vec![line(ITEM, 1, 999)])), vec![Reason::MinBasket]);
        let mut usd = ok.clone();
        usd.currency = "USD".into();
        assert_eq!(reasons(&g, CouponState::default(), &usd), vec![Reason::CurrencyMismatch]);
        let mut offline = ok.clone();
        offline.online = false;
        let spent = CouponState { offline_uses_since_sync: 1, ..Default::default() };
        assert_eq!(reasons(&g, spent, &offline), vec![Reason::OfflineLimit]);
        let near_value = CouponState { offline_value_since_sync: 4900, ..Default::default() };
        assert_eq!(reasons(&g, near_value, &offline), vec![Reason::OfflineLimit], "4900 + 200 > 5000");
        assert_eq!(reasons(&g, CouponState::default(), &offline), vec![]);
        let online_only = verified(|g| g.offline = OfflinePolicy { accepted: false, max_uses: 0, max_value_minor: 0 });
        assert_eq!(reasons(&online_only, CouponState::default(), &offline), vec![Reason::OfflineNotAccepted]);
    }

    #[test]
    fn all_reasons_are_reported_together_and_sorted() {
        let g = verified(|_| {});
        let mut b = basket(vec![line(OTHER, 1, 10)]);
        b.at = g.grant().validity.not_after + 10_000;
        let out = one(&g, CouponState { revoked: true, uses: 5, ..Default::default() }, &b);
        assert_eq!(
            out.reasons,
            vec![Reason::Revoked, Reason::Expired, Reason::UsesExhausted, Reason::NotEligibleItem, Reason::MinBasket]
        );
        assert_eq!((out.applies, out.discount_minor), (false, 0));
        let codes: Vec<_> = out.reasons.iter().map(Reason::code).collect();
        assert_eq!(codes, ["revoked", "expired", "uses_exhausted", "not_eligible_item", "min_basket"]);
    }

    #[test]
    fn one_coupon_per_stack_group_the_biggest_then_the_smallest_id() {
        let ten = verified(|g| g.coupon_id = "b-ten".into());
        let fixed = verified(|g| {
            g.coupon_id = "a-fixed".into();
            g.discount = Discount::Amount { minor: 300 };
        });
        let tie = verified(|g| g.coupon_id = "a-ten".into());
        let other_group = verified(|g| {
            g.coupon_id = "c-other".into();
            g.stack_group = Some("loyalty".into());
            g.discount = Discount::Amount { minor: 50 };
        });
        let b = basket(vec![line(ITEM, 1, 2000)]);
        let s = CouponState::default();
        let coupons = [ten, fixed, tie, other_group];
        let input: Vec<_> = coupons.iter().map(|grant| WalletCoupon { grant, state: s }).collect();
        let out = evaluate(&input, &b).unwrap();
        let summary: Vec<_> = out.iter().map(|o| (o.coupon_id.as_str(), o.applies, o.discount_minor)).collect();
        // fixed 300 beats 10 % (200); of the two 10 % coupons neither applies; another group stacks.
        assert_eq!(summary, [("b-ten", false, 0), ("a-fixed", true, 300), ("a-ten", false, 0), ("c-other", true, 50)]);
        assert_eq!(out[0].reasons, vec![Reason::StackConflict]);
        // Same input in another order, same verdicts.
        let mut reversed = input.clone();
        reversed.reverse();
        let again = evaluate(&reversed, &b).unwrap();
        assert_eq!(again.into_iter().rev().collect::<Vec<_>>(), out);
    }

    #[test]
    fn never_more_than_the_eligible_items_are_worth() {
        let big = verified(|g| {
            g.discount = Discount::Amount { minor: 50_000 };
            g.min_basket_minor = 0;
            g.offline.max_value_minor = 100_000;
        });
        let out = one(&big, CouponState::default(), &basket(vec![line(ITEM, 1, 700), line(OTHER, 1, 9000)]));
        assert_eq!(out.discount_minor, 700);
        // Two coupons in different groups on the same item share its value.
        let second = verified(|g| {
            g.coupon_id = "second".into();
            g.stack_group = None;
            g.discount = Discount::Amount { minor: 500 };
            g.min_basket_minor = 0;
        });
        let s = CouponState::default();
        let out = evaluate(
            &[WalletCoupon { grant: &big, state: s }, WalletCoupon { grant: &second, state: s }],
            &basket(vec![line(ITEM, 1, 700)]),
        )
        .unwrap();
        assert_eq!(out.iter().map(|o| o.discount_minor).sum::<u64>(), 700);
    }

    #[test]
    fn family_codes_and_overflow() {
        let family = verified(|g| g.eligibility = Eligibility::Family("F100".into()));
        assert!(one(&family, CouponState::default(), &basket(vec![line(OTHER, 1, 2000)])).applies);
        let b = basket(vec![line(ITEM, u32::MAX, u64::MAX)]);
        let input = [WalletCoupon { grant: &family, state: CouponState::default() }];
        assert_eq!(evaluate(&input, &b), Err(BasketError::LineOverflow(0)));
        let b = basket(vec![line(ITEM, 1, u64::MAX), line(OTHER, 1, 1)]);
        assert_eq!(evaluate(&input, &b), Err(BasketError::TotalOverflow));
    }
}
