//! What every console page shares: the state, the session and CSRF checks, form parsing, the audit call, and
//! how a page, a redirect or a refusal is answered (with the console's security headers).

use std::sync::Arc;

use askama::Template;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::db;
use super::session::{self, Session, COOKIE as SESSION_COOKIE};
use super::{Console, MAX_FORM_BYTES};
use crate::db::Lock;
use crate::http::Shared;
use crate::timefmt::now_rfc3339_ms;

/// What the page after a change says: `?done=` or `?error=`.
#[derive(serde::Deserialize)]
pub(super) struct Notice {
    pub done: Option<String>,
    pub error: Option<String>,
}

#[derive(Clone)]
pub(crate) struct State {
    pub shared: Arc<Shared>,
    pub console: Arc<Console>,
}

#[derive(Template)]
#[template(path = "console/message.html")]
pub(super) struct Message<'a> {
    title: &'a str,
    text: &'a str,
}

impl<'a> Message<'a> {
    pub(super) fn new(title: &'a str, text: &'a str) -> Self {
        Message { title, text }
    }
}

/// The decoded fields of an `application/x-www-form-urlencoded` body, in order (a name may repeat).
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    pub(super) fn parse(body: &[u8]) -> Form {
        let body = &body[..body.len().min(MAX_FORM_BYTES)];
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

pub(super) fn cookie_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(COOKIE).and_then(|v| v.to_str().ok())
}

/// The session a request's cookie names, read from the database (every instance shares them); `None` when
/// there is none, it expired, or the database could not be read.
pub(super) async fn signed_in(state: &State, headers: &HeaderMap) -> Option<(String, Session)> {
    let token = session::cookie(cookie_header(headers), SESSION_COOKIE)?.to_owned();
    let (shared, key) = (state.shared.clone(), token.clone());
    let found = blocking(move || session::find(shared.store.db(), &key, shared.now_secs())).await;
    Some((token, found.ok()??))
}

/// The session behind a posted form, once its CSRF token matched; else the answer to send (to sign in, or 403).
/// (The answer is boxed: it is the rare path, and a `Response` is large.)
pub(super) async fn form_session(
    state: &State,
    headers: &HeaderMap,
    form: &Form,
) -> Result<(String, Session), Box<Response>> {
    let Some((token, session)) = signed_in(state, headers).await else {
        return Err(Box::new(redirect("/console/sign-in")));
    };
    if !csrf_ok(&session, form) {
        return Err(Box::new(forbidden()));
    }
    Ok((token, session))
}

/// Runs a database call off the async workers, as every console call does; `Err` when it failed or panicked.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::db::DbError> + Send + 'static,
) -> Result<T, ()> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            eprintln!("console: database call failed: {e}");
            Err(())
        }
        Err(_) => Err(()),
    }
}

/// Back to `page`, saying what a change did (`?done=` and its summary) or why it was not made (`?error=`).
pub(super) fn changed(page: &str, outcome: Result<Result<String, String>, tokio::task::JoinError>) -> Response {
    match outcome {
        Ok(Ok(summary)) => redirect(&format!("{page}?done={}", encode(&summary))),
        Ok(Err(problem)) => redirect(&format!("{page}?error={}", encode(&problem))),
        Err(_) => server_error(),
    }
}

fn csrf_ok(session: &Session, form: &Form) -> bool {
    form.get("csrf").is_some_and(|sent| crate::compare::constant_time_eq(sent.as_bytes(), session.csrf.as_bytes()))
}

/// Appends to the audit log, off the async workers like every database call.
pub(super) async fn audit(state: &State, actor: &str, action: &str, after: Option<String>) {
    let (shared, actor, action) = (state.shared.clone(), actor.to_owned(), action.to_owned());
    let written = tokio::task::spawn_blocking(move || {
        shared
            .store
            .db()
            .write(Lock::Rows, |tx| db::audit(tx, &now_rfc3339_ms(), &actor, &action, None, after.as_deref()))
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        eprintln!("console: could not write the audit log");
    }
}

pub(super) fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            let mut resp = (status, html).into_response();
            let headers = resp.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                "content-security-policy",
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            );
            headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            resp
        }
        Err(_) => server_error(),
    }
}

pub(super) fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(LOCATION, value);
    }
    resp
}

pub(super) fn set_cookie(resp: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        resp.headers_mut().append(SET_COOKIE, value);
    }
}

pub(super) fn forbidden() -> Response {
    page(
        StatusCode::FORBIDDEN,
        &Message::new(
            "Form refused",
            "This form is out of date or was not sent from the console. Reload the page and try again.",
        ),
    )
}

pub(super) fn server_error() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "the console could not read its database").into_response()
}

pub(super) fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
