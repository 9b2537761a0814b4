//! The coupons page: the coupons in the wallet with their redemption counts, issuing and revoking one (audited),
//! and the redemptions received, double spends with the device that made them next to the device whose use
//! counted.

use askama::Template;
use axum::extract::{Query, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use footfall_core::wallet::{Discount, LocalDate, OfflinePolicy};

use super::sorting::{fixed, sortable, Column, Header, SortQuery, Sorting};
use super::web::{changed, encode, form_session, page, redirect, server_error, signed_in, Form, Notice, State};
use crate::db::{args, DbError, Sql};
use crate::timefmt::now_rfc3339_ms;
use crate::wallet::{add_coupon_and, parse_discount, revoke_coupon_and, CouponSpec, UNLIMITED_VALUE};

struct CouponRow {
    id: String,
    title: String,
    discount: String,
    days: String,
    uses: i64,
    offline: bool,
    user: Option<String>,
    revoked: bool,
    accepted: i64,
    double_spends: i64,
    rejected: i64,
}

struct RedemptionRow {
    coupon: String,
    serial: String,
    store: String,
    presented_at: String,
    status: String,
    reason: String,
    device: String,
    /// For a double spend: the device whose use of that serial counted.
    counted_device: String,
}

#[derive(Template)]
#[template(path = "console/coupons.html")]
struct CouponsPage<'a> {
    user: &'a str,
    csrf: &'a str,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    wallet_served: bool,
    headers: Vec<Header>,
    coupons: Vec<CouponRow>,
    redemptions: Vec<RedemptionRow>,
}

const COLUMNS: [Column; 9] = [
    sortable("coupon", "Coupon"),
    fixed("Discount"),
    fixed("Valid (store days)"),
    sortable("uses", "Uses"),
    fixed("For"),
    sortable("accepted", "Accepted"),
    sortable("double_spends", "Double spends"),
    sortable("rejected", "Rejected"),
    fixed("State"),
];

pub(super) async fn coupons_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Query(notice): Query<Notice>,
    Query(sort): Query<SortQuery>,
) -> Response {
    let Some((_, session)) = signed_in(&state, &headers).await else { return redirect("/console/sign-in") };
    let shared = state.shared.clone();
    let read = tokio::task::spawn_blocking(move || {
        shared.store.db().read(|tx| Ok::<_, DbError>((coupons(tx)?, redemptions(tx, 200)?)))
    })
    .await;
    let Ok(Ok((mut coupons, redemptions))) = read else { return server_error() };
    // Newest first unless a header asks otherwise (the query's order is the newest first).
    let sorting = Sorting::from_query(&sort, &COLUMNS, ("", false));
    sorting.apply(&mut coupons, |key, a, b| match key {
        "coupon" => a.id.cmp(&b.id),
        "uses" => a.uses.cmp(&b.uses),
        "accepted" => a.accepted.cmp(&b.accepted),
        "double_spends" => a.double_spends.cmp(&b.double_spends),
        "rejected" => a.rejected.cmp(&b.rejected),
        _ => std::cmp::Ordering::Equal,
    });
    page(
        StatusCode::OK,
        &CouponsPage {
            user: &session.user,
            csrf: &session.csrf,
            notice: notice.done.as_deref(),
            error: notice.error.as_deref(),
            wallet_served: state.shared.wallet.is_some(),
            headers: sorting.headers("/console/coupons", &COLUMNS),
            coupons,
            redemptions,
        },
    )
}

pub(super) async fn issue(Extract(state): Extract<State>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let (_, session) = match form_session(&state, &headers, &form).await {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    let spec = match spec(&form) {
        Ok(spec) => spec,
        Err(problem) => return redirect(&format!("/console/coupons?error={}", encode(&problem))),
    };
    let id = spec.id.clone();
    let summary = format!("coupon '{id}' issued: {}", spec.title);
    let after = serde_json::json!({"id": id, "title": spec.title, "discount": form.get("discount"),
        "currency": spec.currency, "until": form.get("valid_until"), "zone": spec.zone, "uses": spec.max_uses,
        "user": spec.user});
    let shared = state.shared.clone();
    let (actor, action) = (session.user.clone(), summary.clone());
    let issued = tokio::task::spawn_blocking(move || {
        add_coupon_and(&shared.store, spec, |tx| {
            super::db::audit(tx, &now_rfc3339_ms(), &actor, &action, None, Some(&after.to_string()))
        })
    })
    .await;
    changed("/console/coupons", issued.map(|done| done.map(|()| summary).map_err(|e| e.to_string())))
}

pub(super) async fn revoke(Extract(state): Extract<State>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let (_, session) = match form_session(&state, &headers, &form).await {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    let id = form.get("coupon").unwrap_or_default().to_owned();
    let summary = format!("coupon '{id}' revoked");
    let shared = state.shared.clone();
    let (actor, action) = (session.user.clone(), summary.clone());
    let after = serde_json::json!({"id": id, "revoked": true}).to_string();
    let revoked = tokio::task::spawn_blocking(move || {
        revoke_coupon_and(&shared.store, &id, |tx| {
            super::db::audit(tx, &now_rfc3339_ms(), &actor, &action, None, Some(&after))
        })
    })
    .await;
    changed("/console/coupons", revoked.map(|done| done.map(|()| summary).map_err(|e| e.to_string())))
}

/// The issue form as a coupon: the same notation as `footfall collector coupon add` (`10%`, `300 JPY`).
fn spec(form: &Form) -> Result<CouponSpec, String> {
    let field = |name: &str| form.get(name).map(str::trim).unwrap_or_default();
    let (discount, own_currency) = parse_discount(field("discount")).map_err(|e| format!("discount {e}"))?;
    let currency = own_currency.unwrap_or_else(|| field("currency").to_ascii_uppercase());
    let until = LocalDate::parse(field("valid_until")).map_err(|e| format!("last day: {e}"))?;
    let mut spec = CouponSpec::new(field("id"), field("title"), discount, currency, until, field("zone"));
    spec.terms = field("terms").to_owned();
    let uses = field("uses");
    spec.max_uses = if uses.is_empty() { 1 } else { uses.parse().map_err(|_| "uses: a whole number".to_owned())? };
    spec.offline = OfflinePolicy {
        accepted: form.get("offline") == Some("on"),
        max_uses: spec.max_uses,
        max_value_minor: UNLIMITED_VALUE,
    };
    spec.user = Some(field("user").to_owned()).filter(|u| !u.is_empty());
    Ok(spec)
}

fn coupons(tx: &mut dyn Sql) -> Result<Vec<CouponRow>, DbError> {
    if !tx.has_table("wallet_coupons")? {
        return Ok(Vec::new());
    }
    let counts = tx.has_table("wallet_redemptions")?;
    let sql = format!(
        "SELECT c.coupon_id, c.title, c.discount_kind, c.discount_value, c.currency, c.first_day, c.last_day, c.zone,
                c.uses_allowed, c.offline_accepted, c.target_user, c.revoked_at IS NOT NULL, {}
         FROM wallet_coupons c ORDER BY c.created_at DESC, c.coupon_id",
        if counts {
            "(SELECT COUNT(*) FROM wallet_redemptions r WHERE r.coupon_id = c.coupon_id AND r.status = 'accepted'),
             (SELECT COUNT(*) FROM wallet_redemptions r WHERE r.coupon_id = c.coupon_id AND r.status = 'double_spend'),
             (SELECT COUNT(*) FROM wallet_redemptions r WHERE r.coupon_id = c.coupon_id AND r.status = 'rejected')"
        } else {
            "0, 0, 0"
        }
    );
    tx.query(&sql, &[])?
        .iter()
        .map(|r| {
            let kind: String = r.get(2)?;
            let value: i64 = r.get(3)?;
            let currency: String = r.get(4)?;
            let discount = if kind == "percent" {
                Discount::Percent { basis_points: value as u16 }
            } else {
                Discount::Amount { minor: value as u64 }
            };
            Ok(CouponRow {
                id: r.get(0)?,
                title: r.get(1)?,
                discount: describe(&discount, &currency),
                days: format!("{} – {} ({})", r.get::<String>(5)?, r.get::<String>(6)?, r.get::<String>(7)?),
                uses: r.get(8)?,
                offline: r.get(9)?,
                user: r.get(10)?,
                revoked: r.get(11)?,
                accepted: r.get(12)?,
                double_spends: r.get(13)?,
                rejected: r.get(14)?,
            })
        })
        .collect()
}

fn redemptions(tx: &mut dyn Sql, limit: usize) -> Result<Vec<RedemptionRow>, DbError> {
    if !tx.has_table("wallet_redemptions")? {
        return Ok(Vec::new());
    }
    let rows = tx.query(
        "SELECT COALESCE(r.coupon_id, ''), COALESCE(r.serial, ''), r.store_id, r.presented_at, r.status,
                COALESCE(r.reason, ''), COALESCE(r.device_id, ''), COALESCE(s.exhausted_device, '')
         FROM wallet_redemptions r
         LEFT JOIN wallet_serials s ON s.coupon_id = r.coupon_id AND s.serial = r.serial
         ORDER BY r.rx DESC LIMIT ?1",
        &args![limit as i64],
    )?;
    rows.iter()
        .map(|r| {
            let status: String = r.get(4)?;
            let exhausted: String = r.get(7)?;
            Ok(RedemptionRow {
                coupon: r.get(0)?,
                serial: r.get(1)?,
                store: r.get(2)?,
                presented_at: r.get(3)?,
                reason: r.get(5)?,
                device: r.get(6)?,
                counted_device: if status == "double_spend" { exhausted } else { String::new() },
                status,
            })
        })
        .collect()
}

fn describe(discount: &Discount, currency: &str) -> String {
    match discount {
        Discount::Percent { basis_points } if basis_points % 100 == 0 => format!("{} %", basis_points / 100),
        Discount::Percent { basis_points } => format!("{}.{:02} %", basis_points / 100, basis_points % 100),
        Discount::Amount { minor } => format!("{minor} {currency} (minor units)"),
    }
}
