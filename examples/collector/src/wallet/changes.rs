//! `GET /v1/wallet/changes`: the holder's coupon feed, with a strong `ETag` over the body and `304` for a match.

use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use hyper::{HeaderMap, Response, StatusCode};

use super::answer::{admit_wallet, dated, Admission};
use super::feed::{changes, FeedError, Holder};
use crate::config::Endpoint;
use crate::config_endpoint::{etag, if_none_match_matches};
use crate::db::{Lock, Sql};
use crate::http::{error, AbortConnection, Body, Req, Shared};

const USER_ID: &str = "x-footfall-user-id";
const ANONYMOUS_ID: &str = "x-footfall-anonymous-id";

pub(crate) async fn handle(shared: &Shared, req: Req) -> Result<Response<Body>, AbortConnection> {
    let (admitted, issuer) = match admit_wallet(shared, Endpoint::WalletChanges, req.headers()).await? {
        Admission::Proceed(admitted, issuer) => (admitted, issuer),
        Admission::Answered(resp) => return Ok(resp),
    };
    let now = shared.now_secs();
    let real = match (holder(req.headers()), since(req.uri().query())) {
        (Err(message), _) | (_, Err(message)) => error(StatusCode::BAD_REQUEST, "invalid_request", &message),
        (Ok(holder), Ok(since)) => {
            let store = shared.store.clone();
            let if_none_match = req.headers().get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
            // The database and signing: off the async workers.
            tokio::task::spawn_blocking(move || {
                let outcome = store
                    .db()
                    .write(Lock::Wallet, |tx: &mut dyn Sql| changes(tx, &issuer, &holder, since.as_deref(), now));
                answer(outcome, if_none_match.as_deref())
            })
            .await
            .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", &e.to_string()))
        }
    };
    Ok(dated(admitted.answer(real).await, shared.now_secs()))
}

fn answer(outcome: Result<Vec<u8>, FeedError>, if_none_match: Option<&str>) -> Response<Body> {
    let body = match outcome {
        Ok(body) => body,
        Err(FeedError::Gone(message)) => return error(StatusCode::GONE, "cursor_gone", message),
        Err(FeedError::Storage(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, "storage_error", &e.to_string()),
        Err(e @ FeedError::Sign(_)) => return error(StatusCode::INTERNAL_SERVER_ERROR, "issuer_error", &e.to_string()),
    };
    let tag = etag(&body);
    let mut resp = if if_none_match.is_some_and(|header| if_none_match_matches(header, &tag)) {
        let mut resp = Response::new(Body::default());
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        resp
    } else {
        let mut resp = Response::new(Body::from(body));
        resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    };
    if let Ok(value) = HeaderValue::from_str(&tag) {
        resp.headers_mut().insert(ETAG, value);
    }
    resp.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// The user id when the app identified the shopper, else the anonymous id; one of them is required.
fn holder(headers: &HeaderMap) -> Result<Holder, String> {
    let read = |name: &str| -> Result<Option<String>, String> {
        match headers.get(name).map(|v| v.to_str().map(str::trim)) {
            None => Ok(None),
            Some(Ok("")) => Ok(None),
            Some(Ok(value)) => {
                crate::percent::decode(value).map(Some).ok_or_else(|| format!("{name} is not percent-encoded UTF-8"))
            }
            Some(Err(_)) => Err(format!("{name} must be visible ASCII")),
        }
    };
    match (read(USER_ID)?, read(ANONYMOUS_ID)?) {
        (Some(user), _) => Ok(Holder::user(&user)),
        (None, Some(anonymous)) => Ok(Holder::anonymous(&anonymous)),
        (None, None) => {
            Err("name the holder with X-Footfall-Anonymous-Id (and X-Footfall-User-Id if identified)".into())
        }
    }
}

/// The `since` query parameter; absent or empty is a full listing. Cursors are base64url: no percent-decoding.
fn since(query: Option<&str>) -> Result<Option<String>, String> {
    let Some(query) = query else { return Ok(None) };
    let mut found = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "since" {
            if found.is_some() {
                return Err("since is given twice".into());
            }
            found = Some(value.to_string());
        }
    }
    Ok(found.filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_the_user_when_identified() {
        let mut headers = HeaderMap::new();
        assert!(holder(&headers).is_err());
        headers.insert(ANONYMOUS_ID, HeaderValue::from_static("anon-1"));
        assert_eq!(holder(&headers), Ok(Holder::anonymous("anon-1")));
        headers.insert(USER_ID, HeaderValue::from_static("shopper-42"));
        assert_eq!(holder(&headers), Ok(Holder::user("shopper-42")));
        // A user id outside ASCII arrives percent-encoded as UTF-8.
        headers.insert(USER_ID, HeaderValue::from_static("%E5%B1%B1%E7%94%B0%20taro"));
        assert_eq!(holder(&headers), Ok(Holder::user("山田 taro")));
        headers.insert(USER_ID, HeaderValue::from_static("%E5%B1"));
        assert!(holder(&headers).is_err(), "broken UTF-8 is refused");
    }

    #[test]
    fn since_is_read_from_the_query() {
        assert_eq!(since(None), Ok(None));
        assert_eq!(since(Some("since=")), Ok(None));
        assert_eq!(since(Some("x=1&since=djE6MTI6MQ")), Ok(Some("djE6MTI6MQ".into())));
        assert!(since(Some("since=a&since=b")).is_err());
    }
}
