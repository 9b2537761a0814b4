//! The console over HTTP as a browser drives it (cookies, forms, redirects), and the SDK seeing what it published:
//! sign in, switch a prompt off, publish a material change, then the SDK's next config fetch follows and
//! `needs_prompt` says `policy_material_change`. A form without the session's CSRF token, or without a session,
//! changes nothing.

mod common;

use common::database::database;

use std::sync::Arc;

use common::console::{hidden, text, Browser};
use common::{get, Wire};
use footfall_collector::{AdminCredential, Collector, CollectorConfig};
use footfall_core::consent::record::Method;
use footfall_core::consent::state::Reason;
use footfall_core::{Config, Event, Footfall};
use serde_json::json;

use common::console::PASSWORD;
const POLICY: &str = r#"{"consent":{"policyVersion":3,"purposes":[{"id":"analytics"},{"id":"marketing"}],
    "prompts":[{"id":"main","enabled":true,"purposes":["analytics","marketing"],"copy":{"title":"consent.title","body":"consent.body"}}]}}"#;

fn start(dir: &std::path::Path) -> Collector {
    let file = dir.join("config.json");
    std::fs::write(&file, POLICY).unwrap();
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), database(dir));
    config.config_path = Some(file);
    config.api_key = Some("write-key".into());
    config.console = Some(common::console::admin());
    Collector::start(config).unwrap()
}

/// A shopper's device on this collector; uploads and config fetches only when the test asks.
fn device(dir: &std::path::Path, collector: &Collector) -> Footfall {
    let mut config = Config::new(dir.join("sdk")).with_endpoint(collector.base_url());
    config.api_key = Some("write-key".into());
    config.flush.automatic = false;
    config.consent_refresh_interval = None;
    Footfall::builder(config).transport(Arc::new(Wire { addr: collector.addr() })).open().unwrap()
}

fn served_config(collector: &Collector) -> (serde_json::Value, String) {
    let resp = get(collector, "/v1/config", &[("Authorization", "Basic d3JpdGUta2V5Og==")]);
    assert_eq!(resp.status, 200, "{}", text(&resp));
    (resp.json(), resp.header("etag").unwrap().to_owned())
}

#[test]
fn a_product_team_switches_a_prompt_off_and_publishes_a_material_change_that_devices_follow() {
    let dir = tempfile::tempdir().unwrap();
    let collector = start(dir.path());
    let (imported, first_tag) = served_config(&collector);
    assert_eq!(imported["consent"]["policyVersion"], 3, "the config file became the first revision");

    // A shopper's device under policy 3 that has not decided anything yet: the main prompt should ask.
    let sdk = device(dir.path(), &collector);
    assert_eq!(sdk.refresh_consent_policy().unwrap().policy_version, Some(3));
    let need = sdk.needs_prompt().unwrap();
    assert_eq!((need.reason, need.prompt.as_deref()), (Reason::NoDecision, Some("main")));

    let mut browser = Browser::new(&collector);
    let away = browser.get("/console/consent");
    assert_eq!((away.status, away.header("location")), (303, Some("/console/sign-in")), "signed out: sent to sign in");
    assert_eq!(browser.sign_in("wrong password!").status, 401);
    let signed_in = browser.sign_in(PASSWORD);
    assert_eq!((signed_in.status, signed_in.header("location")), (303, Some("/console/consent")));
    let cookie =
        signed_in.headers.iter().find(|(k, v)| k == "set-cookie" && v.starts_with("footfall_console=")).unwrap();
    assert!(cookie.1.contains("HttpOnly") && cookie.1.contains("SameSite=Strict"), "{}", cookie.1);

    let page = browser.get("/console/consent");
    assert_eq!(page.status, 200);
    assert!(text(&page).contains("policy version 3"), "{}", text(&page));
    let (csrf, revision) = (hidden(&page, "csrf"), hidden(&page, "revision"));

    // Switch the prompt off.
    let switched = browser.post(
        "/console/consent/prompt",
        &[("csrf", &csrf), ("revision", &revision), ("prompt", "main"), ("enabled", "false")],
    );
    assert_eq!(switched.status, 303);
    assert!(switched.header("location").unwrap().contains("done="), "{:?}", switched.header("location"));
    let (served, tag) = served_config(&collector);
    assert_eq!(
        (served["consent"]["prompts"][0]["enabled"].as_bool(), served["consent"]["policyVersion"].as_u64()),
        (Some(false), Some(3))
    );
    assert_ne!(tag, first_tag, "a new ETag: devices fetch it at once");

    // The device's next fetch sees the prompt off: nothing may ask.
    sdk.refresh_consent_policy().unwrap();
    let need = sdk.needs_prompt().unwrap();
    assert_eq!((need.reason, need.prompt.as_deref()), (Reason::PromptDisabled, None));

    // The shopper decides in the app's settings; then the team switches the prompt back on and publishes version 4
    // with a material change for marketing.
    sdk.grant(&["analytics", "marketing"], Method::Settings).unwrap();
    assert_eq!(sdk.needs_prompt().unwrap().reason, Reason::UpToDate);
    let page = browser.get("/console/consent");
    let (csrf, revision) = (hidden(&page, "csrf"), hidden(&page, "revision"));
    let on = [("csrf", csrf.as_str()), ("revision", revision.as_str()), ("prompt", "main"), ("enabled", "true")];
    assert_eq!(browser.post("/console/consent/prompt", &on).status, 303);
    let page = browser.get("/console/consent");
    let (csrf, revision) = (hidden(&page, "csrf"), hidden(&page, "revision"));
    let published = browser
        .post("/console/consent/publish", &[("csrf", &csrf), ("revision", &revision), ("material", "marketing")]);
    assert_eq!(published.status, 303);
    let (served, _) = served_config(&collector);
    assert_eq!(served["consent"]["policyVersion"], 4);
    assert_eq!(served["consent"]["purposes"][1]["materialChangeVersion"], 4);

    // The device's next fetch applies it, and the shopper must be asked again about marketing.
    assert_eq!(sdk.refresh_consent_policy().unwrap().policy_version, Some(4));
    let need = sdk.needs_prompt().unwrap();
    assert_eq!((need.reason, need.prompt.as_deref()), (Reason::PolicyMaterialChange, Some("main")));
    assert_eq!(need.purposes, ["marketing"]);

    // Both changes and the sign-ins are in the audit log, newest first, with who did them.
    let audit = text(&browser.get("/console/audit"));
    let published_at = audit.find("policy version 4 published, material change for marketing").unwrap();
    let switched_at =
        audit.find("prompt &#x27;main&#x27; switched off").or_else(|| audit.find("prompt &#39;main&#39; switched off"));
    assert!(published_at < switched_at.expect("the switch is audited"), "newest first");
    assert!(audit.contains("sign-in refused") && audit.contains("maria"));
    sdk.close();
    collector.shutdown();
}

#[test]
fn forms_without_the_session_or_its_csrf_token_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let collector = start(dir.path());
    let (_, tag) = served_config(&collector);
    let mut browser = Browser::new(&collector);
    browser.sign_in(PASSWORD);
    let page = browser.get("/console/consent");
    let revision = hidden(&page, "revision");
    let forged = [("csrf", "0000"), ("revision", revision.as_str()), ("prompt", "main"), ("enabled", "false")];
    assert_eq!(browser.post("/console/consent/prompt", &forged).status, 403, "a token that is not the session's");
    let missing =
        browser.post("/console/consent/prompt", &[("revision", &revision), ("prompt", "main"), ("enabled", "false")]);
    assert_eq!(missing.status, 403, "no token at all");

    // The right token from another browser, without the session cookie: sent to sign in.
    let csrf = hidden(&page, "csrf");
    let mut stranger = Browser::new(&collector);
    let anonymous = stranger.post(
        "/console/consent/prompt",
        &[("csrf", &csrf), ("revision", &revision), ("prompt", "main"), ("enabled", "false")],
    );
    assert_eq!((anonymous.status, anonymous.header("location")), (303, Some("/console/sign-in")));
    // A sign-in form posted without its cookie (another site's form) is refused before the password is looked at.
    let cross_site = stranger.post("/console/sign-in", &[("csrf", "x"), ("user", "maria"), ("password", PASSWORD)]);
    assert_eq!(cross_site.status, 403);

    // A change made against an old revision is not applied over a newer one.
    let ok = browser.post(
        "/console/consent/prompt",
        &[("csrf", &csrf), ("revision", &revision), ("prompt", "main"), ("enabled", "false")],
    );
    assert!(ok.header("location").unwrap().contains("done="));
    let stale = browser.post(
        "/console/consent/prompt",
        &[("csrf", &csrf), ("revision", &revision), ("prompt", "main"), ("enabled", "true")],
    );
    assert!(stale.header("location").unwrap().contains("error="), "{:?}", stale.header("location"));

    let (served, new_tag) = served_config(&collector);
    assert_eq!(served["consent"]["prompts"][0]["enabled"], false, "only the one valid change landed");
    assert_ne!(new_tag, tag);
    // Signed out, the session cookie no longer works.
    let csrf = hidden(&browser.get("/console/consent"), "csrf");
    browser.post("/console/sign-out", &[("csrf", &csrf)]);
    assert_eq!(browser.get("/console/consent").header("location"), Some("/console/sign-in"));
    collector.shutdown();
}

#[test]
fn the_console_refuses_weak_or_reused_credentials_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), database(dir.path()));
    config.console = Some(AdminCredential { user: "maria".into(), password: "short".into() });
    assert!(Collector::start(config.clone()).err().unwrap().to_string().contains("at least 12"));
    config.api_key = Some("the write key 123".into());
    config.console = Some(AdminCredential { user: "maria".into(), password: "the write key 123".into() });
    assert!(Collector::start(config).err().unwrap().to_string().contains("write key"));
}

#[test]
fn the_events_consent_and_deletion_pages_show_what_devices_sent() {
    let dir = tempfile::tempdir().unwrap();
    let collector = start(dir.path());
    let sdk = device(dir.path(), &collector);
    sdk.refresh_consent_policy().unwrap();
    sdk.grant(&["analytics"], Method::Prompt { prompt_id: "main".into() }).unwrap();
    sdk.deny(&["marketing"], Method::Prompt { prompt_id: "main".into() }).unwrap();
    // In the store before signing in (anonymous), then online as a known shopper.
    sdk.track(Event::new("store_entered").properties(json!({"store": "shibuya"}))).unwrap();
    sdk.identify("shopper-7", json!({})).unwrap();
    sdk.track(Event::new("product_viewed").properties(json!({"sku": "<b>49</b>"}))).unwrap();
    sdk.track(Event::new("product_viewed").properties(json!({"sku": "50"}))).unwrap();
    assert_eq!(sdk.flush().unwrap().delivered, 4);

    let mut browser = Browser::new(&collector);
    browser.sign_in(PASSWORD);
    let events = text(&browser.get("/console/events"));
    assert!(events.contains("<svg class=\"chart\""), "the per-hour chart is drawn");
    let top = events.find("product_viewed</td><td>2").expect("the top names count each event");
    assert!(top < events.find("store_entered</td><td>1").unwrap(), "the most frequent first");

    let page = text(&browser.get("/console/events?user=shopper-7"));
    let shopper = &page[page.find("One shopper").unwrap()..];
    let entered = shopper.find("store_entered").expect("the anonymous in-store event joins the shopper's timeline");
    assert!(entered < shopper.find("product_viewed").unwrap(), "oldest first");
    assert!(shopper.contains("&#60;b&#62;49&#60;/b&#62;"), "a property value that looks like markup is escaped");
    assert!(!shopper.contains("<b>49"), "property values are never markup");
    assert!(text(&browser.get("/console/events?user=nobody")).contains("No events for nobody"));

    let consent = text(&browser.get("/console/consent"));
    assert!(consent.contains("Share of decisions that granted"), "the rates chart");
    let row = |purpose: &str| consent.find(&format!("<th scope=\"row\">{purpose}</th><td>unknown</td>")).is_some();
    assert!(row("analytics") && row("marketing"), "rates by jurisdiction per purpose:\n{consent}");
    assert!(
        consent.contains("<td>1</td><td>0</td><td>100 %</td>") && consent.contains("<td>0</td><td>1</td><td>0 %</td>")
    );

    let request_id = sdk.request_deletion().unwrap();
    sdk.flush().unwrap();
    let deletions = text(&browser.get("/console/deletions"));
    assert!(deletions.contains(&request_id), "the request is listed");
    assert!(deletions.contains("shopper-7"), "with the user id it names");
    assert!(deletions.contains("<td>4 events at "), "and the four events it erased: {deletions}");
    let page = text(&browser.get("/console/events?user=shopper-7"));
    assert!(page.contains("No events for shopper-7"), "the shopper's events are gone");
    sdk.close();
    collector.shutdown();
}

#[test]
fn repeated_wrong_passwords_lock_sign_in_for_a_while_even_for_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    let collector = start(dir.path());
    let mut browser = Browser::new(&collector);
    let statuses: Vec<u16> = (0..5).map(|_| browser.sign_in("not the password").status).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 429], "the fifth failure locks");
    let locked = browser.sign_in(PASSWORD);
    assert_eq!(locked.status, 429, "while locked, not even the right password gets in");
    assert!(text(&locked).contains("Try again in 60 seconds"), "{}", text(&locked));
    assert_eq!(locked.header("retry-after"), Some("60"));
    collector.set_clock_offset_secs(61);
    assert_eq!(browser.sign_in(PASSWORD).status, 303, "a minute later it does");
    assert!(text(&browser.get("/console/audit")).contains("locked after repeated failures"));
}
