//! `GET {base}/v1/config`: the consent policy product teams edit, fetched with `If-None-Match` so an unchanged
//! policy costs a 304. A failed or invalid fetch keeps the policy the SDK has (cached, or the built-in one); a
//! refused policy (invalid, or older than the one in force) is remembered for `consent_status()`. The same
//! document carries store proximity's zones and campaigns, applied on their own terms.

use std::sync::Arc;

use super::pull::{pull, Pulled};
use super::request::RequestContext;
use crate::clock::rfc3339_ms;
use crate::consent::changes::ConsentChanges;
use crate::consent::policy::Policy;
use crate::consent::service::ConsentChange;
use crate::consent::status::RefusedPolicy;
use crate::error::{Error, Result};
use crate::proximity::service::{self, Proximity};
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
    proximity: Option<&Proximity>,
) -> Result<PolicyRefresh> {
    let policy_version = || changes.view.snapshot().policy.policy_version;
    let pulled = pull(request, storage, CONFIG_PATH, MetaKey::ConsentPolicyEtag, "the consent policy", |body| {
        if let Some(proximity) = proximity {
            service::apply_remote(storage, proximity, body);
        }
        let mut offered = None;
        let applied = Policy::from_remote_config(body).map_err(|e| Error::Config(e.to_string())).and_then(|policy| {
            offered = Some(policy.policy_version);
            changes.apply(ConsentChange::ApplyPolicy(policy))
        });
        match applied {
            Ok(_) => Ok(offered),
            Err(Error::Config(reason)) => {
                let refusal =
                    RefusedPolicy { version: offered, reason: reason.clone(), at: rfc3339_ms(request.clock.now_ms()) };
                RefusedPolicy::save(Some(&refusal), storage)?;
                tracing::warn!(reason = %reason, "the server's consent policy was refused; keeping the one in force");
                Err(Error::Config(format!("the server's consent policy was refused: {reason}")))
            }
            Err(other) => Err(other),
        }
    })
    .await?;
    // Applied, or served again unchanged: an earlier refusal is no longer news.
    RefusedPolicy::save(None, storage)?;
    Ok(match pulled {
        Pulled::Unchanged => PolicyRefresh { changed: false, policy_version: Some(policy_version()) },
        Pulled::Taken(offered) => PolicyRefresh { changed: true, policy_version: offered },
    })
}
