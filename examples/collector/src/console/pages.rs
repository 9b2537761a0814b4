//! The console's pages and forms. Every page but sign-in needs a live session; every form carries the session's
//! CSRF token (the sign-in form a double-submit cookie), checked before anything is read from it.

use askama::Template;
use axum::extract::{Query, State as Extract};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use footfall_core::consent::policy::Policy;

use super::db::{self, AuditEntry, Revision};
use super::publish::change;
use super::remote_config::Change;
use super::reports::{self, DeletionRow, TimelineEvent};
use super::session::{self, COOKIE as SESSION_COOKIE, SESSION_SECS, SIGN_IN_COOKIE};
use super::sorting::{fixed, sortable, Column, Header, SortQuery, Sorting};
use super::throttle;
use super::web::{
    audit, blocking, cookie_header, forbidden, form_session, page, redirect, server_error, set_cookie, signed_in, Form,
    Message, Notice, State,
};
use super::{campaigns, charts, coupons};
use crate::db::DbError;

pub(crate) fn router(state: State) -> Router {
    Router::new()
        .route("/console", get(|| async { redirect("/console/consent") }))
        .route("/console/", get(|| async { redirect("/console/consent") }))
        .route("/console/style.css", get(style))
        .route("/console/sign-in", get(sign_in_page).post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/consent", get(consent_page))
        .route("/console/consent/prompt", post(switch_prompt))
        .route("/console/consent/publish", post(publish))
        .route("/console/audit", get(audit_page))
        .route("/console/events", get(events_page))
        .route("/console/deletions", get(deletions_page))
        .route("/console/campaigns", get(campaigns::campaigns_page))
        .route("/console/campaigns/stop", post(campaigns::stop))
        .route("/console/coupons", get(coupons::coupons_page))
        .route("/console/coupons/issue", post(coupons::issue))
        .route("/console/coupons/revoke", post(coupons::revoke))
        // A catch-all route, not a fallback: the collector's router, which this one is merged into, has its own.
        .route("/console/{*rest}", get(not_found).post(not_found))
        .with_state(state)
}

// ---- templates -------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    error: Option<&'a str>,
}

struct PromptRow {
    id: String,
    enabled: bool,
    purposes: String,
    copy: String,
    triggers: String,
}

struct PurposeRow {
    id: String,
    material_change_version: u32,
}

#[derive(Template)]
#[template(path = "console/consent.html")]
struct ConsentPage<'a> {
    user: &'a str,
    csrf: &'a str,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    live: Option<&'a Revision>,
    policy_version: u32,
    purposes: Vec<PurposeRow>,
    prompts: Vec<PromptRow>,
    history: &'a [Revision],
    rates_chart: String,
    /// (purpose, [(jurisdiction, granted, denied, rate)])
    by_jurisdiction: Vec<(String, Vec<JurisdictionRow>)>,
}

struct JurisdictionRow {
    jurisdiction: String,
    granted: u64,
    denied: u64,
    rate: String,
}

#[derive(Template)]
#[template(path = "console/events.html")]
struct EventsPage<'a> {
    user: &'a str,
    csrf: &'a str,
    totals: reports::EventTotals,
    per_hour_chart: String,
    per_hour: Vec<(String, u64)>,
    top: Vec<(String, u64)>,
    shopper: Option<&'a str>,
    timeline: Vec<TimelineEvent>,
}

#[derive(Template)]
#[template(path = "console/deletions.html")]
struct DeletionsPage<'a> {
    user: &'a str,
    csrf: &'a str,
    headers: Vec<Header>,
    requests: Vec<DeletionRow>,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage<'a> {
    user: &'a str,
    csrf: &'a str,
    entries: &'a [AuditEntry],
}

// ---- handlers --------------------------------------------------------------------------------------------------

async fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, &Message::new("Not found", "There is no such console page."))
}

async fn style() -> Response {
    let mut resp = include_str!("../../templates/console/style.css").into_response();
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    resp
}

async fn sign_in_page(Extract(state): Extract<State>, headers: HeaderMap) -> Response {
    if signed_in(&state, &headers).await.is_some() {
        return redirect("/console/consent");
    }
    sign_in_form(&state, StatusCode::OK, None)
}

fn sign_in_form(state: &State, status: StatusCode, error: Option<&str>) -> Response {
    let csrf = session::random_token();
    let mut resp = page(status, &SignInPage { csrf: &csrf, error });
    set_cookie(&mut resp, &session::set_cookie(SIGN_IN_COOKIE, &csrf, 3600, state.console.secure_cookies));
    resp
}

async fn sign_in(Extract(state): Extract<State>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let expected = session::cookie(cookie_header(&headers), SIGN_IN_COOKIE);
    let sent = form.get("csrf");
    if !matches!((expected, sent), (Some(e), Some(s)) if crate::compare::constant_time_eq(e.as_bytes(), s.as_bytes())) {
        return forbidden();
    }
    let user = form.get("user").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let now = state.shared.now_secs();
    // What was typed as the user name, cut short: a password typed into the wrong field stays mostly out.
    let tried: String = user.chars().take(32).collect();
    let shared = state.shared.clone();
    let Ok(wait) = blocking(move || throttle::wait_secs(shared.store.db(), now)).await else { return server_error() };
    if wait > 0 {
        // Not even the right password gets in while locked: a guesser learns nothing from trying.
        audit(&state, &tried, "sign-in refused: locked after repeated failures", None).await;
        let message = format!("Too many failed sign-ins. Try again in {wait} seconds.");
        return locked_out(&state, &message, wait);
    }
    if !state.console.admin.accepts(user, password) {
        let shared = state.shared.clone();
        let Ok(locked) = blocking(move || throttle::failed(shared.store.db(), now)).await else {
            return server_error();
        };
        audit(&state, &tried, "sign-in refused", None).await;
        if locked > 0 {
            let message = format!("Too many failed sign-ins. Try again in {locked} seconds.");
            return locked_out(&state, &message, locked);
        }
        return sign_in_form(&state, StatusCode::UNAUTHORIZED, Some("That user name and password do not match."));
    }
    let (shared, name) = (state.shared.clone(), user.to_owned());
    let opened = blocking(move || {
        throttle::succeeded(shared.store.db())?;
        session::open(shared.store.db(), &name, now)
    })
    .await;
    let Ok(token) = opened else { return server_error() };
    audit(&state, user, "signed in", None).await;
    let mut resp = redirect("/console/consent");
    let secure = state.console.secure_cookies;
    set_cookie(&mut resp, &session::set_cookie(SESSION_COOKIE, &token, SESSION_SECS, secure));
    set_cookie(&mut resp, &session::set_cookie(SIGN_IN_COOKIE, "", 0, secure));
    resp
}

/// 429 with the sign-in form, its message, and `Retry-After`.
fn locked_out(state: &State, message: &str, wait_secs: i64) -> Response {
    let mut resp = sign_in_form(state, StatusCode::TOO_MANY_REQUESTS, Some(message));
    resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait_secs));
    resp
}

async fn sign_out(Extract(state): Extract<State>, headers: HeaderMap, body: Bytes) -> Response {
    let (token, session) = match form_session(&state, &headers, &Form::parse(&body)).await {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    let shared = state.shared.clone();
    if blocking(move || session::close(shared.store.db(), &token)).await.is_err() {
        return server_error();
    }
    audit(&state, &session.user, "signed out", None).await;
    let mut resp = redirect("/console/sign-in");
    set_cookie(&mut resp, &session::set_cookie(SESSION_COOKIE, "", 0, state.console.secure_cookies));
    resp
}

async fn consent_page(Extract(state): Extract<State>, headers: HeaderMap, Query(notice): Query<Notice>) -> Response {
    let Some((_, session)) = signed_in(&state, &headers).await else { return redirect("/console/sign-in") };
    let shared = state.shared.clone();
    let read = tokio::task::spawn_blocking(move || {
        shared
            .store
            .db()
            .read(|tx| Ok::<_, DbError>((db::latest(tx)?, db::history(tx, 50)?, reports::decision_rates(tx)?)))
    })
    .await;
    let Ok(Ok((live, history, rates))) = read else { return server_error() };
    let (rates_chart, by_jurisdiction) = rate_views(&rates);
    let policy = live.as_ref().and_then(|r| Policy::from_remote_config(r.body.as_bytes()).ok());
    let purposes = policy
        .iter()
        .flat_map(|p| &p.purposes)
        .map(|p| PurposeRow { id: p.id.clone(), material_change_version: p.material_change_version })
        .collect();
    let prompts = policy
        .iter()
        .flat_map(|p| &p.prompts)
        .map(|p| PromptRow {
            id: p.id.clone(),
            enabled: p.enabled,
            purposes: p.purposes.join(", "),
            copy: [p.copy.title.as_str(), p.copy.body.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" · "),
            triggers: p.triggers.join(", "),
        })
        .collect();
    page(
        StatusCode::OK,
        &ConsentPage {
            user: &session.user,
            csrf: &session.csrf,
            notice: notice.done.as_deref(),
            error: notice.error.as_deref(),
            live: live.as_ref(),
            policy_version: policy.as_ref().map_or(0, |p| p.policy_version),
            purposes,
            prompts,
            history: &history,
            rates_chart,
            by_jurisdiction,
        },
    )
}

/// The decision rates as a chart by day (the last 30 days with decisions) and a table by jurisdiction.
fn rate_views(rates: &reports::DecisionRates) -> (String, Vec<(String, Vec<JurisdictionRow>)>) {
    let mut days: Vec<String> = rates.by_day.values().flat_map(|d| d.keys().cloned()).collect();
    days.sort();
    days.dedup();
    let days = days.split_off(days.len().saturating_sub(30));
    let series: Vec<(String, Vec<Option<f64>>)> = rates
        .by_day
        .iter()
        .map(|(purpose, by_day)| (purpose.clone(), days.iter().map(|d| by_day.get(d).and_then(|t| t.rate())).collect()))
        .collect();
    let chart = if series.is_empty() {
        String::new()
    } else {
        charts::rates("Share of decisions that granted, per purpose and day", &days, &series)
    };
    let table = rates
        .by_jurisdiction
        .iter()
        .map(|(purpose, rows)| {
            let rows = rows
                .iter()
                .map(|(jurisdiction, t)| JurisdictionRow {
                    jurisdiction: jurisdiction.clone(),
                    granted: t.granted,
                    denied: t.denied,
                    rate: t.rate().map_or_else(|| "–".into(), |r| format!("{r:.0} %")),
                })
                .collect();
            (purpose.clone(), rows)
        })
        .collect();
    (chart, table)
}

#[derive(serde::Deserialize)]
struct Search {
    user: Option<String>,
}

async fn events_page(Extract(state): Extract<State>, headers: HeaderMap, Query(search): Query<Search>) -> Response {
    let Some((_, session)) = signed_in(&state, &headers).await else { return redirect("/console/sign-in") };
    let shopper = search.user.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    let shared = state.shared.clone();
    let wanted = shopper.clone();
    let read = tokio::task::spawn_blocking(move || {
        shared.store.db().read(|tx| {
            let timeline = match &wanted {
                Some(user) => reports::timeline(tx, user, 500)?,
                None => Vec::new(),
            };
            Ok::<_, DbError>((
                reports::event_totals(tx)?,
                reports::events_per_hour(tx, 48)?,
                reports::top_names(tx, 10)?,
                timeline,
            ))
        })
    })
    .await;
    let Ok(Ok((totals, per_hour, top, timeline))) = read else { return server_error() };
    let per_hour_chart = if per_hour.is_empty() {
        String::new()
    } else {
        let labelled: Vec<(String, u64)> =
            per_hour.iter().map(|(h, n)| (format!("{}h", &h[h.len().saturating_sub(5)..]), *n)).collect();
        charts::bars("Events received per hour (UTC)", &labelled)
    };
    page(
        StatusCode::OK,
        &EventsPage {
            user: &session.user,
            csrf: &session.csrf,
            totals,
            per_hour_chart,
            per_hour,
            top,
            shopper: shopper.as_deref(),
            timeline,
        },
    )
}

const DELETION_COLUMNS: [Column; 7] = [
    fixed("Request"),
    sortable("user", "User id"),
    fixed("Anonymous ids"),
    sortable("requested", "Requested"),
    sortable("received", "Received"),
    sortable("repeats", "Repeats"),
    fixed("Erased"),
];

async fn deletions_page(Extract(state): Extract<State>, headers: HeaderMap, Query(sort): Query<SortQuery>) -> Response {
    let Some((_, session)) = signed_in(&state, &headers).await else { return redirect("/console/sign-in") };
    let shared = state.shared.clone();
    let read =
        tokio::task::spawn_blocking(move || shared.store.db().read(|tx| reports::deletion_requests(tx, 500))).await;
    let Ok(Ok(mut requests)) = read else { return server_error() };
    let sorting = Sorting::from_query(&sort, &DELETION_COLUMNS, ("received", true));
    sorting.apply(&mut requests, |key, a, b| match key {
        "user" => a.user_id.cmp(&b.user_id),
        "requested" => a.requested_at.cmp(&b.requested_at),
        "repeats" => a.duplicates.cmp(&b.duplicates),
        _ => a.received_at.cmp(&b.received_at),
    });
    let headers = sorting.headers("/console/deletions", &DELETION_COLUMNS);
    page(StatusCode::OK, &DeletionsPage { user: &session.user, csrf: &session.csrf, headers, requests })
}

async fn switch_prompt(Extract(state): Extract<State>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let id = form.get("prompt").unwrap_or_default().to_owned();
    let enabled = form.get("enabled") == Some("true");
    change(state, headers, &form, Change::Prompt { id, enabled }, "/console/consent").await
}

async fn publish(Extract(state): Extract<State>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let material = form.all("material").map(str::to_owned).collect();
    change(state, headers, &form, Change::Publish { material }, "/console/consent").await
}

async fn audit_page(Extract(state): Extract<State>, headers: HeaderMap) -> Response {
    let Some((_, session)) = signed_in(&state, &headers).await else { return redirect("/console/sign-in") };
    let shared = state.shared.clone();
    let read = tokio::task::spawn_blocking(move || shared.store.db().read(|tx| db::audit_log(tx, 200))).await;
    let Ok(Ok(entries)) = read else { return server_error() };
    page(StatusCode::OK, &AuditPage { user: &session.user, csrf: &session.csrf, entries: &entries })
}
