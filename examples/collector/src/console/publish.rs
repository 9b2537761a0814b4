//! Publishing a change to the remote config from a console form: checked against the session and its CSRF token,
//! applied to the revision the page showed (a stale form is refused), published and audited in one transaction.

use axum::http::HeaderMap;
use axum::response::Response;

use super::db;
use super::remote_config::{self, Change};
use super::web::{changed, form_session, Form, State};
use crate::db::{DbError, Lock};
use crate::timefmt::now_rfc3339_ms;

/// Applies a change to the revision the form was made against, publishes it and audits it, in one transaction.
pub(super) async fn change(state: State, headers: HeaderMap, form: &Form, change: Change, back: &str) -> Response {
    let (_, session) = match form_session(&state, &headers, form).await {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    let expected: Option<i64> = form.get("revision").and_then(|r| r.parse().ok());
    let shared = state.shared.clone();
    let user = session.user.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<String, String> {
        // Under the config lock: collectors sharing a PostgreSQL database publish one change at a time. A refusal
        // is the inner `Err`: nothing was written, so the (empty) transaction may as well commit.
        let published = shared.store.db().write(Lock::Config, |tx| -> Result<Result<String, String>, DbError> {
            let Some(live) = db::latest(tx)? else { return Ok(Err("no policy is published yet".into())) };
            if Some(live.revision) != expected {
                return Ok(Err("someone published a change since this page was loaded; look again and retry".into()));
            }
            let (body, summary) = match remote_config::apply(&live.body, &change) {
                Ok(applied) => applied,
                Err(problem) => return Ok(Err(problem)),
            };
            Ok(match db::publish(tx, expected, &body, &now_rfc3339_ms(), &user, &summary)? {
                Some(_) => Ok(summary),
                None => Err("someone published a change at the same moment; look again and retry".into()),
            })
        });
        published.map_err(|e| e.to_string())?
    })
    .await;
    changed(back, outcome)
}
