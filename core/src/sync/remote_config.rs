//! `GET {base}/v1/config`: the consent policy product teams edit, fetched with `If-None-Match` so an unchanged
//! policy costs a 304. A failed or invalid fetch keeps the policy the SDK has (cached, or the built-in one).

use super::transport::HttpRequest;
use super::uploader::UploaderSetup;
use crate::consent::policy::Policy;
use crate::consent::service::ConsentChange;
use crate::error::{Error, Result};
use crate::queue::Handoff;
use crate::storage::Storage;

pub const CONFIG_PATH: &str = "/v1/config";
const META_ETAG: &str = "consent_policy_etag";

/// What a refresh found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefresh {
    /// A new policy was applied (false: 304, the cached one is current).
    pub changed: bool,
    /// The version in force after the refresh.
    pub policy_version: Option<u32>,
}

pub(crate) async fn refresh(setup: &UploaderSetup, storage: &Storage, handoff: &Handoff) -> Result<PolicyRefresh> {
    let etag = storage.meta(META_ETAG)?;
    let mut headers = setup.common_headers();
    headers.push(("Accept".into(), "application/json".into()));
    if let Some(etag) = &etag {
        headers.push(("If-None-Match".into(), etag.clone()));
    }
    let request = HttpRequest {
        method: "GET".into(),
        url: setup.endpoint.url(CONFIG_PATH),
        headers,
        body: Vec::new(),
        timeout: setup.retry.request_timeout,
    };
    let response = match tokio::time::timeout(setup.retry.request_timeout, setup.transport.send(request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Err(Error::Network(format!("fetching the consent policy: {e}"))),
        Err(_) => return Err(Error::Network("fetching the consent policy: request timed out".into())),
    };
    match response.status {
        304 => Ok(PolicyRefresh { changed: false, policy_version: Some(setup.consent.snapshot().policy.policy_version) }),
        200 => {
            let policy = Policy::from_remote_config(&response.body)
                .map_err(|e| Error::Config(format!("the server's consent policy was refused: {e}")))?;
            let version = policy.policy_version;
            handoff.consent(ConsentChange::ApplyPolicy(policy))?;
            // Only once applied: a policy that failed to apply is fetched again in full next time.
            storage.set_meta(META_ETAG, response.header("etag"))?;
            Ok(PolicyRefresh { changed: true, policy_version: Some(version) })
        }
        status => Err(Error::Network(format!("fetching the consent policy: HTTP {status}"))),
    }
}
