//! `footfall demo`: a shopper answers the consent prompt, browses with no signal, the app is closed, the network
//! comes back with a lost answer on the way, and every event still arrives exactly once; a withdrawal then purges
//! what was queued. Then the coupon wallet (`demo_wallet`): offline presentation, offline tills, a double spend
//! caught. Then the store visit (`demo_store`): zones and a campaign from the remote configuration, a walk-in, an
//! offer whose coupon goes into the wallet, a pickup recognised. Real core, real collector on loopback.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use footfall_collector::{Collector, CollectorConfig, FaultConfig, ScriptedFault};
use footfall_core::consent::record::Method;
use footfall_core::{Config, Error, Event, FlushOutcome, Footfall, RetryPolicy};
use serde_json::json;
use uuid::Uuid;

use crate::CmdResult;

/// The policy the product team edits: analytics and marketing, one prompt.
const POLICY: &str = r#"{"consent": {"policyVersion": 3, "noticeHash": "sha256:demo-notice-v3",
  "purposes": [{"id": "analytics"}, {"id": "marketing", "materialChangeVersion": 3}],
  "prompts": [{"id": "welcome", "enabled": true, "purposes": ["analytics", "marketing"],
               "copy": {"title": "consent.welcome.title", "body": "consent.welcome.body"}, "triggers": ["app_start"]}]}}"#;

struct Demo {
    collector: Collector,
    config: Config,
    tracked: Vec<Uuid>,
    slowest_track: Duration,
}

pub fn run() -> CmdResult {
    let started = Instant::now();
    let workdir = tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let mut collector_config =
        CollectorConfig::new("127.0.0.1:0".parse().expect("literal address"), workdir.path().join("collector.db"));
    // The product team's consent policy, served by the collector (GET /v1/config); editing it needs no app release.
    let policy_file = workdir.path().join("consent-policy.json");
    std::fs::write(&policy_file, POLICY).map_err(|e| format!("cannot write the demo policy: {e}"))?;
    collector_config.config_path = Some(policy_file);
    let collector = Collector::start(collector_config).map_err(|e| format!("cannot start the collector: {e}"))?;
    let mut config = Config::new(workdir.path().join("app-data")).with_endpoint(collector.base_url());
    // The demo decides when to upload so the story reads in order; the backoff is shortened to keep it brief.
    config.flush.automatic = false;
    config.app_version = "demo-1.0".into();
    config.retry =
        RetryPolicy { base: Duration::from_millis(100), cap: Duration::from_millis(800), ..RetryPolicy::default() };
    let mut demo = Demo { collector, config, tracked: Vec::new(), slowest_track: Duration::ZERO };

    println!("Footfall demo: an offline-first shopper journey");
    println!("  collector  {} (in-process, SQLite)", demo.collector.base_url());
    println!("  app data   {}", demo.config.data_dir.display());
    println!();

    println!("0. First launch at home: the consent prompt.");
    let sdk = demo.open()?;
    let refreshed = sdk.refresh_consent_policy().map_err(|e| e.to_string())?;
    println!("   policy v{} fetched from the collector", refreshed.policy_version.unwrap_or_default());
    let need = sdk.needs_prompt().map_err(|e| e.to_string())?;
    let prompt = need.prompt.clone().ok_or("the policy asks for no prompt")?;
    println!("   needs prompt: '{prompt}' (reason: {})", need.reason.code());
    sdk.prompt_shown(&prompt).map_err(|e| e.to_string())?;
    println!("   prompt shown (logged; not a decision — a kill now would leave the shopper undecided)");
    sdk.set_consent(&[("analytics", true), ("marketing", false)], Method::Prompt { prompt_id: prompt.clone() })
        .map_err(|e| e.to_string())?;
    println!("   the shopper allows analytics, declines marketing");
    match sdk.track(Event::new("push_campaign_opened").purpose("marketing")) {
        Err(Error::ConsentDenied { purpose }) => {
            println!("   ✗ a {purpose} event is refused at track(): nothing recorded")
        }
        other => return Err(format!("a marketing event should be refused, got {other:?}")),
    }
    sdk.close();
    drop(sdk);

    println!();
    println!("1. On the train to the store, no signal (the collector answers 503 to everything).");
    demo.collector.set_faults(FaultConfig { fail_rate: 1.0, fail_status: 503, ..FaultConfig::default() });
    let sdk = demo.open()?;
    demo.track(&sdk, "app_opened", json!({"source": "push"}))?;
    for (sku, price) in [("4901234567894", 1980), ("4902102072618", 540), ("4547691689696", 12800)] {
        demo.track(
            &sdk,
            "product_viewed",
            json!({"sku": sku, "price": price, "currency": "JPY", "store_id": "tokyo-shibuya-01", "list": "search"}),
        )?;
    }
    demo.track(&sdk, "product_added", json!({"sku": "4901234567894", "quantity": 2}))?;
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    for _ in 0..2 {
        demo.attempt(&sdk)?;
    }

    println!();
    println!("2. The shopper swipes the app away. Nothing was sent; the queue stays in SQLite.");
    sdk.close();
    drop(sdk);
    let sdk = demo.open()?;
    let pending = sdk.status().map_err(|e| e.to_string())?.pending;
    println!("   reopened: {pending} events waiting in SQLite");

    println!();
    println!("3. The shopper signs in at the store entrance; still offline.");
    let identified = sdk.identify("shopper-42", json!({"tier": "gold"})).map_err(|e| e.to_string())?;
    demo.tracked.push(identified.ok_or("the demo grants analytics, so identify records a message")?);
    println!("   + identify shopper-42 (later events carry the user id, earlier ones the same anonymous id)");
    demo.track(&sdk, "store_entered", json!({"store_id": "tokyo-shibuya-01"}))?;
    demo.track(&sdk, "coupon_viewed", json!({"coupon_id": "autumn-10"}))?;

    println!();
    println!("4. Signal returns, but the first answer is lost on the way back (stored, then 503).");
    demo.collector.set_faults(FaultConfig::default());
    demo.collector.script(vec![ScriptedFault::StoreThenStatus { status: 503 }]);
    let mut retries_left = 10;
    while !demo.attempt(&sdk)? {
        retries_left -= 1;
        if retries_left == 0 {
            return Err("the collector never accepted the batch".into());
        }
    }

    println!();
    println!("5. Back home, the shopper withdraws analytics in the app's settings, with two events still queued.");
    let before = demo.collector.stats().map_err(|e| e.to_string())?.events;
    let queued: Vec<Uuid> = (0..2)
        .map(|i| sdk.track(Event::new("wishlist_viewed").properties(json!({"page": i}))))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let outcome = sdk.deny(&["analytics"], Method::Settings).map_err(|e| e.to_string())?;
    println!("   withdrawn: {} queued events purged in the same transaction", outcome.purged);
    let report = sdk.flush().map_err(|e| e.to_string())?;
    let after = demo.collector.stats().map_err(|e| e.to_string())?.events;
    println!("   ↑ upload: {} delivered; the collector received {} new events", report.delivered, after - before);
    let log = sdk.consent_log().map_err(|e| e.to_string())?;
    println!("   consent log: {} records, hash chain verified: {}", log.records.len(), log.verified);
    let purged_ok = outcome.purged == queued.len() as u64 && after == before && log.verified;
    let status = sdk.status().map_err(|e| e.to_string())?;
    sdk.close();

    let stats = demo.collector.stats().map_err(|e| e.to_string())?;
    let stored: Vec<String> = demo.collector.events().map_err(|e| e.to_string())?.into_iter().map(|e| e.id).collect();
    let stored_set: BTreeSet<&String> = stored.iter().collect();
    let tracked: Vec<String> = demo.tracked.iter().map(|id| id.to_string()).collect();
    let tracked_set: BTreeSet<&String> = tracked.iter().collect();
    let exactly_once = stored.len() == tracked.len()
        && stored_set == tracked_set
        && stats.events as usize == tracked.len()
        && purged_ok
        && status.consent_refused == 1;

    println!();
    println!("Summary");
    println!("  tracked                      {}", tracked.len());
    println!("  delivered (collector stored) {}", stats.events);
    println!("  duplicates suppressed        {} (re-sent after the lost answer, deduplicated by id)", stats.duplicates);
    println!("  upload retries               {}", status.retries);
    println!("  dead-lettered                {}", status.dead_lettered);
    println!("  refused by consent           {} (at track())", status.consent_refused);
    println!("  purged by a withdrawal       {} (never sent)", status.purged_by_consent);
    println!("  slowest track() call         {} µs", demo.slowest_track.as_micros());
    println!("  elapsed                      {:.2} s", started.elapsed().as_secs_f64());
    println!();
    if exactly_once {
        println!(
            "✓ every event tracked with consent was delivered exactly once; nothing without consent left the device"
        );
        println!();
        let caught = crate::demo_wallet::run(workdir.path())?;
        println!();
        let visited = crate::demo_store::run(workdir.path())?;
        Ok(if caught && visited { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    } else {
        println!(
            "✗ delivery mismatch: tracked {} events, collector stored {} ({} distinct)",
            tracked.len(),
            stored.len(),
            stored_set.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

impl Demo {
    fn open(&self) -> Result<Footfall, String> {
        Footfall::open(self.config.clone()).map_err(|e| e.to_string())
    }

    fn track(&mut self, sdk: &Footfall, name: &str, properties: serde_json::Value) -> Result<(), String> {
        let shown = properties.to_string();
        let started = Instant::now();
        let id = sdk.track(Event::new(name).properties(properties)).map_err(|e| e.to_string())?;
        self.slowest_track = self.slowest_track.max(started.elapsed());
        self.tracked.push(id);
        println!("   + {name} {shown}");
        Ok(())
    }

    /// One upload pass; waits out the retry delay it asks for. Returns true once the queue is empty.
    fn attempt(&self, sdk: &Footfall) -> Result<bool, String> {
        let report = sdk.flush().map_err(|e| e.to_string())?;
        match report.outcome {
            FlushOutcome::Drained => {
                println!(
                    "   ↑ upload: {} delivered, {} duplicates reported by the collector, queue empty",
                    report.delivered, report.duplicates
                );
                Ok(true)
            }
            FlushOutcome::RetryLater { after, reason } => {
                println!(
                    "   ↑ upload failed ({reason}); {} events kept on disk, retrying in {} ms",
                    report.remaining,
                    after.as_millis()
                );
                std::thread::sleep(after);
                Ok(false)
            }
            FlushOutcome::Held { after, reason, .. } => {
                println!(
                    "   ↑ the collector asked to wait ({reason}); {} events kept on disk, sending in {} ms",
                    report.remaining,
                    after.as_millis()
                );
                std::thread::sleep(after);
                Ok(false)
            }
            FlushOutcome::Paused { reason } => Err(format!("uploads paused: {reason}")),
        }
    }
}
