//! `GET /v1/config`: the remote configuration (`{"consent": Policy, ...}`) from the file given with `--config`,
//! re-read on every request so editing the file changes what the next request gets, without a restart. The
//! collector checks only that it is JSON with a `consent` object: the SDK validates the policy itself.

use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use hyper::{Response, StatusCode};

use crate::body::admit;
use crate::config::Endpoint;
use crate::http::{error, AbortConnection, Body, Req, Shared};
use crate::store::Store;

pub(crate) async fn handle(shared: &Shared, req: Req) -> Result<Response<Body>, AbortConnection> {
    let admitted = match admit(shared, Endpoint::Config, req.headers()).await? {
        Ok(admitted) => admitted,
        Err(resp) => return Ok(resp),
    };
    let if_none_match = req.headers().get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let console = shared.console.is_some();
    let store = shared.store.clone();
    let real = match shared.config_path.clone() {
        None if !console => error(
            StatusCode::NOT_FOUND,
            "no_config",
            "this collector serves no remote config (start it with --config PATH)",
        ),
        // A database or file read: keep it off the async workers.
        path => tokio::task::spawn_blocking(move || {
            if console {
                from_console(&store, if_none_match.as_deref())
            } else {
                path.map_or_else(
                    || error(StatusCode::NOT_FOUND, "no_config", "no config"),
                    |p| answer(&p, if_none_match.as_deref()),
                )
            }
        })
        .await
        .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", &e.to_string())),
    };
    Ok(admitted.answer(real).await)
}

/// The newest revision the console published (a file given at start-up was imported as the first).
fn from_console(store: &Store, if_none_match: Option<&str>) -> Response<Body> {
    match store.db().read(crate::console::db::latest) {
        Ok(Some(revision)) => served(revision.body.into_bytes(), if_none_match),
        Ok(None) => error(StatusCode::NOT_FOUND, "no_config", "no policy has been published in the console yet"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", &e.to_string()),
    }
}

/// 200 with the file's bytes as they are, or 304 when `If-None-Match` names their ETag; 500 when the file cannot
/// be read or is not a config document (the SDK then keeps the policy it has).
fn answer(path: &std::path::Path, if_none_match: Option<&str>) -> Response<Body> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "config_unreadable",
                &format!("cannot read the config file {}: {e}", path.display()),
            );
        }
    };
    if let Err(problem) = crate::config_doc::check(&bytes) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "invalid_config",
            &format!("the config file {} {problem}", path.display()),
        );
    }
    served(bytes, if_none_match)
}

/// The document with its ETag, or 304 when `If-None-Match` names it.
fn served(bytes: Vec<u8>, if_none_match: Option<&str>) -> Response<Body> {
    let tag = etag(&bytes);
    let mut resp = if if_none_match.is_some_and(|header| if_none_match_matches(header, &tag)) {
        let mut resp = Response::new(Body::default());
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        resp
    } else {
        let mut resp = Response::new(Body::from(bytes));
        resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    };
    // Hex digits and quotes only: always a valid header value.
    resp.headers_mut().insert(ETAG, HeaderValue::from_str(&tag).expect("hex ETag"));
    resp.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Strong ETag: the quoted lowercase hex SHA-256 of the served bytes.
pub(crate) fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", crate::record::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref()))
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `*`, or any listed tag with the same opaque value.
pub(crate) fn if_none_match_matches(header: &str, tag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_wildcards_and_weak_tags() {
        let tag = etag(b"{}");
        assert_eq!(tag.len(), 66);
        assert!(if_none_match_matches(&tag, &tag));
        assert!(if_none_match_matches(&format!("\"other\", W/{tag}"), &tag));
        assert!(if_none_match_matches("*", &tag));
        assert!(!if_none_match_matches("\"other\"", &tag));
        assert!(!if_none_match_matches(tag.trim_matches('"'), &tag), "an unquoted tag is not the same entity tag");
    }
}
