//! Consent changes as writer jobs: each runs on the writer thread in order with the events tracked around it
//! (events before a withdrawal are purged by it, events after it are refused), becomes durable with its purge in
//! one transaction, and is then published to the view and told to the listener.

use std::sync::Arc;

use uuid::Uuid;

use super::service::{self, ConsentChange, ConsentOutcome};
use super::status::{status_of, ConsentSourceKind, RefusedPolicy};
use super::view::ConsentView;
use crate::clock::Clock;
use crate::error::Result;
use crate::listener::{self, SdkEvent, SdkListener};
use crate::writer::job::WriterContext;
use crate::writer::Handoff;

pub(crate) struct ConsentChanges {
    pub handoff: Arc<Handoff>,
    pub view: Arc<ConsentView>,
    pub clock: Arc<dyn Clock>,
    /// Recorded with every consent record.
    pub app_version: String,
    /// Hears each change once it is durable, with the status it produced.
    pub listener: Option<Arc<dyn SdkListener>>,
    pub source: ConsentSourceKind,
    /// Other domains' in-memory state derived from a purpose (store presence from `location`), dropped when the
    /// purpose is withdrawn: each hook hears the purposes a change denied, right after it is durable.
    pub on_withdrawal: WithdrawalHooks,
}

/// Registered after construction (the domains that hold such state are built after consent).
pub(crate) type WithdrawalHooks = std::sync::Mutex<Vec<Box<dyn Fn(&[String]) + Send + Sync>>>;

impl ConsentChanges {
    /// Applies `change` after everything tracked before it; returns once it is durable and published.
    pub fn apply(self: &Arc<Self>, change: ConsentChange) -> Result<ConsentOutcome> {
        let this = self.clone();
        self.handoff.run(move |ctx| this.on_writer(ctx, change))
    }

    fn on_writer(&self, ctx: &mut WriterContext<'_>, change: ConsentChange) -> Result<ConsentOutcome> {
        let subject = ctx.identity().anonymous_id.clone();
        let current = self.view.snapshot();
        let now = self.clock.now_ms();
        // A policy or context change may change prompts without changing what is allowed: it is told too.
        let told = !matches!(change, ConsentChange::PromptShown { .. });
        let record_id = Uuid::now_v7().to_string();
        let applied = service::apply(ctx.storage, &current, change, &subject, &self.app_version, now, record_id)?;
        self.view.publish(applied.snapshot);
        let outcome = applied.outcome;
        if !outcome.now_denied.is_empty() {
            for hook in self.on_withdrawal.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                hook(&outcome.now_denied);
            }
        }
        if outcome.purged > 0 {
            tracing::info!(purged = outcome.purged, "consent withdrawn: queued events of denied purposes purged");
        }
        if let (Some(listener), true) = (&self.listener, told) {
            let refused = RefusedPolicy::load(ctx.storage)?;
            let snapshot = self.view.snapshot();
            let status = status_of(&snapshot, self.view.enforced(), self.source, refused, self.view.generation(), now);
            let event = SdkEvent::ConsentChanged {
                record_id: outcome.record_id.clone(),
                now_allowed: outcome.now_allowed.clone(),
                now_denied: outcome.now_denied.clone(),
                purged: outcome.purged,
                status: Box::new(status),
            };
            listener::dispatch(listener.as_ref(), vec![event]);
        }
        Ok(outcome)
    }
}
