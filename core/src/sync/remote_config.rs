//! `GET {base}/v1/config`: the consent policy product teams edit, fetched with `If-None-Match` so an unchanged
//! policy costs a 304. A failed or invalid fetch keeps the policy the SDK has (cached, or the built-in one); a
//! refused policy (invalid, or older than the one in force) is remembered for `consent_status()`.

use std::sync::Arc;

use super::request::RequestContext;
use crate::clock::rfc3339_ms;
use crate::consent::changes::ConsentChanges;
use crate::consent::policy::Policy;
use crate::consent::service::ConsentChange;
use crate::consent::status::RefusedPolicy;
use crate::error::{Error, Result};
use crate::storage::{MetaKey, Storage};

pub const CONFIG_PATH: &str = "/v1/config";

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
            RefusedPolicy::save(None, storage)?;
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
                RefusedPolicy::save(Some(&refusal), storage)?;
                tracing::warn!(reason = %reason, "the server's consent policy was refused; keeping the one in force");
                return Err(Error::Config(format!("the server's consent policy was refused: {reason}")));
            }
            // Only once applied: a policy that failed to apply is fetched again in full next time.
            storage.set_meta(MetaKey::ConsentPolicyEtag, response.header("etag"))?;
            RefusedPolicy::save(None, storage)?;
            Ok(PolicyRefresh { changed: true, policy_version: offered })
        }
        status => Err(Error::Network(format!("fetching the consent policy: HTTP {status}"))),
    }
}
