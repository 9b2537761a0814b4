//! The campaigns page: the store-proximity zones and campaigns in force (from the live config revision), what
//! devices reported of them (visits per store, offers per campaign, from the events they sent), and stopping a
//! campaign now (a new revision with its `endsAt` and a new `proximity.version`, audited like every change).

use askama::Template;
use axum::extract::{Query, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::db;
use super::publish::change;
use super::remote_config::Change;
use super::web::{page, redirect, server_error, signed_in, Form, Notice, State};
use crate::db::{DbError, Engine, Sql};
use crate::timefmt::{rfc3339_secs, unix_now_secs};

struct ZoneRow {
    id: String,
    store: String,
    time_zone: String,
    beacons: usize,
}

struct CampaignRow {
    id: String,
    zones: String,
    trigger: String,
    priority: i64,
    schedule: String,
    audience: String,
    limits: String,
    offer: String,
    offers_shown: u64,
    ended: bool,
}

struct StoreRow {
    store: String,
    visits: u64,
    average_minutes: String,
}

#[derive(Template)]
#[template(path = "console/campaigns.html")]
struct CampaignsPage<'a> {
    user: &'a str,
    csrf: &'a str,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    revision: i64,
    version: Option<u64>,
    rules: String,
    zones: Vec<ZoneRow>,
    campaigns: Vec<CampaignRow>,
    stores: Vec<StoreRow>,
}

pub(super) async fn campaigns_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Query(notice): Query<Notice>,
) -> Response {
    let Some((_, session)) = signed_in(&state, &headers).await else { return redirect("/console/sign-in") };
    let shared = state.shared.clone();
    let read = tokio::task::spawn_blocking(move || {
        shared
            .store
            .db()
            .read(|tx| Ok::<_, DbError>((db::latest(tx)?, offers_per_campaign(tx)?, visits_per_store(tx)?)))
    })
    .await;
    let Ok(Ok((live, offers, stores))) = read else { return server_error() };
    let doc: Value = live.as_ref().and_then(|r| serde_json::from_str(&r.body).ok()).unwrap_or(Value::Null);
    let proximity = &doc["proximity"];
    let now = unix_now_secs();
    let zones = list(proximity, "zones")
        .map(|z| ZoneRow {
            id: text(z, "id"),
            store: text(z, "store"),
            time_zone: text(z, "timeZone"),
            beacons: z["beacons"].as_array().map_or(0, Vec::len),
        })
        .collect();
    let campaigns = list(proximity, "campaigns")
        .map(|c| {
            let id = text(c, "id");
            CampaignRow {
                offers_shown: offers.iter().find(|(campaign, _)| *campaign == id).map_or(0, |(_, n)| *n),
                ended: c["endsAt"]
                    .as_str()
                    .and_then(|e| e.parse::<jiff::Timestamp>().ok())
                    .is_some_and(|e| e.as_second() <= now),
                id,
                zones: strings(&c["zones"]),
                trigger: text(c, "trigger"),
                priority: c["priority"].as_i64().unwrap_or(0),
                schedule: schedule(c),
                audience: audience(&c["audience"]),
                limits: limits(c),
                offer: offer(&c["offer"]),
            }
        })
        .collect();
    let rules = [
        proximity["dailyCap"].as_u64().map(|n| format!("at most {n} offers per shopper per day")),
        proximity["quietHours"]["from"].as_str().map(|from| {
            format!("quiet hours {from}–{} (store time)", proximity["quietHours"]["to"].as_str().unwrap_or("?"))
        }),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    page(
        StatusCode::OK,
        &CampaignsPage {
            user: &session.user,
            csrf: &session.csrf,
            notice: notice.done.as_deref(),
            error: notice.error.as_deref(),
            revision: live.as_ref().map_or(0, |r| r.revision),
            version: proximity["version"].as_u64(),
            rules,
            zones,
            campaigns,
            stores,
        },
    )
}

pub(super) async fn stop(Extract(state): Extract<State>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let id = form.get("campaign").unwrap_or_default().to_owned();
    let at = rfc3339_secs(state.shared.now_secs());
    change(state, headers, &form, Change::StopCampaign { id, at }, "/console/campaigns").await
}

fn offers_per_campaign(tx: &mut dyn Sql) -> Result<Vec<(String, u64)>, DbError> {
    let sql = format!(
        "SELECT {} AS campaign, COUNT(*) FROM events WHERE name = 'offer_shown' GROUP BY campaign",
        property(tx.engine(), "campaign_id")
    );
    tx.query(&sql, &[])?.iter().map(|r| Ok((r.get::<Option<String>>(0)?.unwrap_or_default(), r.get(1)?))).collect()
}

fn visits_per_store(tx: &mut dyn Sql) -> Result<Vec<StoreRow>, DbError> {
    let engine = tx.engine();
    // Only a number counts: a device sending something else must not fail the page or drag the average.
    let duration = match engine {
        Engine::Sqlite => "CASE WHEN json_type(properties, '$.duration_s') IN ('integer', 'real')
                          THEN json_extract(properties, '$.duration_s') END"
            .to_string(),
        Engine::Postgres => "CASE WHEN jsonb_typeof(CAST(properties AS JSONB) -> 'duration_s') = 'number'
                            THEN CAST(CAST(properties AS JSONB) ->> 'duration_s' AS DOUBLE PRECISION) END"
            .to_string(),
    };
    let sql = format!(
        "SELECT {} AS store,
                CAST(SUM(CASE WHEN name = 'visit_started' THEN 1 ELSE 0 END) AS BIGINT),
                CAST(AVG(CASE WHEN name = 'visit_ended' THEN {duration} END) AS DOUBLE PRECISION)
         FROM events WHERE name IN ('visit_started', 'visit_ended') GROUP BY store ORDER BY 2 DESC",
        property(engine, "store")
    );
    tx.query(&sql, &[])?
        .iter()
        .map(|r| {
            Ok(StoreRow {
                store: r.get::<Option<String>>(0)?.unwrap_or_default(),
                visits: r.get::<Option<u64>>(1)?.unwrap_or(0),
                average_minutes: r.get::<Option<f64>>(2)?.map_or_else(|| "–".into(), |s| format!("{:.1}", s / 60.0)),
            })
        })
        .collect()
}

/// One top-level key of an event's `properties` (JSON text): SQLite's value as stored, PostgreSQL's as text.
fn property(engine: Engine, key: &str) -> String {
    match engine {
        Engine::Sqlite => format!("json_extract(properties, '$.{key}')"),
        Engine::Postgres => format!("(CAST(properties AS JSONB) ->> '{key}')"),
    }
}

fn list<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value[key].as_array().into_iter().flatten()
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

fn strings(value: &Value) -> String {
    value.as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
}

fn schedule(campaign: &Value) -> String {
    let mut parts = Vec::new();
    if let (from, to @ Some(_)) | (from @ Some(_), to) = (campaign["startsAt"].as_str(), campaign["endsAt"].as_str()) {
        parts.push(format!("{} → {}", from.unwrap_or("now"), to.unwrap_or("no end")));
    }
    for window in list(campaign, "windows") {
        let days = strings(&window["days"]);
        let days = if days.is_empty() { "every day".to_owned() } else { days };
        parts.push(format!("{days} {}–{}", text(window, "from"), text(window, "to")));
    }
    if parts.is_empty() {
        "at any time".into()
    } else {
        parts.join("; ")
    }
}

fn audience(rule: &Value) -> String {
    let Some(event) = rule["event"].as_str() else { return "everyone".into() };
    let at_least = rule["atLeast"].as_u64().unwrap_or(1);
    let days = rule["withinDays"].as_u64().unwrap_or(0);
    let filter =
        rule["where"].as_object().filter(|w| !w.is_empty()).map(|w| format!(" where {}", Value::Object(w.clone())));
    format!("{at_least}× {event}{} in {days} days", filter.unwrap_or_default())
}

fn limits(campaign: &Value) -> String {
    let mut parts = Vec::new();
    if let (Some(count), Some(days)) = (campaign["cap"]["count"].as_u64(), campaign["cap"]["windowDays"].as_u64()) {
        parts.push(format!("{count} per {days} days"));
    }
    if let Some(minutes) = campaign["cooldownMinutes"].as_u64().filter(|m| *m > 0) {
        parts.push(format!("{minutes} min cooldown per zone"));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("; ")
    }
}

fn offer(offer: &Value) -> String {
    match offer["couponId"].as_str() {
        Some(coupon) => format!("{} (coupon {coupon})", text(offer, "title")),
        None => text(offer, "title"),
    }
}
