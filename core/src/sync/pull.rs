//! An ETag-cached pull of a document the server publishes: `GET {base}{path}` with `If-None-Match` from the stored
//! ETag. A 200 hands the body to the caller, and the ETag is stored only once the caller has taken it, so a refused
//! document is fetched in full next time; a 304 says the one in force is current. The consent policy uses it; the
//! wallet feed and the proximity registry will.

use super::request::RequestContext;
use crate::error::{Error, Result};
use crate::storage::{MetaKey, Storage};

/// What a pull found.
#[derive(Debug)]
pub(crate) enum Pulled<T> {
    /// 304: the document in force is current.
    Unchanged,
    /// 200, and the caller took the document.
    Taken(T),
}

/// Pulls `path`; `take` decides about a new body. `what` names the document in errors ("the consent policy").
pub(crate) async fn pull<T>(
    request: &RequestContext,
    storage: &Storage,
    path: &str,
    etag_key: MetaKey,
    what: &str,
    take: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<Pulled<T>> {
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    if let Some(etag) = storage.meta(etag_key)? {
        headers.push(("If-None-Match".into(), etag));
    }
    let response =
        request.send(request.get(path, headers)).await.map_err(|e| Error::Network(format!("fetching {what}: {e}")))?;
    match response.status {
        304 => Ok(Pulled::Unchanged),
        200 => {
            let taken = take(&response.body)?;
            storage.set_meta(etag_key, response.header("etag"))?;
            Ok(Pulled::Taken(taken))
        }
        status => Err(Error::Network(format!("fetching {what}: HTTP {status}"))),
    }
}
