//! `GET {base}/v1/config`: the consent policy product teams edit, fetched with `If-None-Match` so an unchanged
//! policy costs a 304. A failed or invalid fetch keeps the policy the SDK has (cached, or the built-in one); a
//! refused policy (invalid, or older than the one in force) is remembered for `consent_status()`.

use serde::{Deserialize, Serialize};

use super::request::RequestContext;
use crate::clock::rfc3339_ms;
use crate::consent::policy::Policy;
use std::sync::Arc;

use crate::consent::changes::ConsentChanges;
use crate::consent::service::ConsentChange;
use crate::error::{Error, Result};
use crate::storage::{MetaKey, Storage};

pub const CONFIG_PATH: &str = "/v1/config";

/// The last policy the server sent that the SDK refused (cleared when a policy is applied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedPolicy {
    /// Its `policyVersion`, when the document got that far.
    pub version: Option<u32>,
    pub reason: String,
    /// When it was refused (RFC 3339, device clock).
    pub at: String,
}

/// What `consent_status()` reports as the last refused policy.
pub(crate) fn last_refusal(storage: &Storage) -> Result<Option<RefusedPolicy>> {
    Ok(storage.meta(MetaKey::ConsentPolicyRefused)?.and_then(|json| serde_json::from_str(&json).ok()))
}

/// What a refresh found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefresh {
    /// A new policy was applied (false: 304, the cached one is current).
    pub changed: bool,
    /// The version in force after the refresh.
    pub policy_version: Option<u32>,
}

pub(crate) async fn refresh(
    request: &RequestContext,
    storage: &Storage,
    changes: &Arc<ConsentChanges>,
) -> Result<PolicyRefresh> {
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    if let Some(etag) = storage.meta(MetaKey::ConsentPolicyEtag)? {
        headers.push(("If-None-Match".into(), etag));
    }
    let response = request
        .send(request.get(CONFIG_PATH, headers))
        .await
        .map_err(|e| Error::Network(format!("fetching the consent policy: {e}")))?;
    match response.status {
        304 => {
            // The server serves the policy in force again: an earlier refusal is no longer news.
            storage.set_meta(MetaKey::ConsentPolicyRefused, None)?;
            Ok(PolicyRefresh { changed: false, policy_version: Some(changes.view.snapshot().policy.policy_version) })
        }
        200 => {
            let mut offered = None;
            let applied = Policy::from_remote_config(&response.body)
                .map_err(|e| Error::Config(e.to_string()))
                .and_then(|policy| {
                    offered = Some(policy.policy_version);
                    changes.apply(ConsentChange::ApplyPolicy(policy))
                });
            if let Err(e) = applied {
                let reason = match e {
                    Error::Config(reason) => reason,
                    other => return Err(other),
                };
                let refusal =
                    RefusedPolicy { version: offered, reason: reason.clone(), at: rfc3339_ms(request.clock.now_ms()) };
                let json = serde_json::to_string(&refusal).map_err(Error::storage)?;
                storage.set_meta(MetaKey::ConsentPolicyRefused, Some(&json))?;
                tracing::warn!(reason = %reason, "the server's consent policy was refused; keeping the one in force");
                return Err(Error::Config(format!("the server's consent policy was refused: {reason}")));
            }
            // Only once applied: a policy that failed to apply is fetched again in full next time.
            storage.set_meta(MetaKey::ConsentPolicyEtag, response.header("etag"))?;
            storage.set_meta(MetaKey::ConsentPolicyRefused, None)?;
            Ok(PolicyRefresh { changed: true, policy_version: offered })
        }
        status => Err(Error::Network(format!("fetching the consent policy: HTTP {status}"))),
    }
}
