//! The console product teams use (`/console`): sign in with the admin credential, switch consent prompts, publish
//! policy versions, read the audit log. Server-rendered HTML (askama templates under `templates/console`, routing on
//! axum), no JavaScript. Every change becomes a new immutable config revision that `GET /v1/config` serves at once
//! (its ETag changes), and every change and sign-in is audited.

mod campaigns;
mod charts;
mod coupons;
pub(crate) mod db;
mod pages;
mod publish;
pub(crate) mod remote_config;
mod reports;
pub(crate) mod session;
mod sorting;
pub(crate) mod state;
mod throttle;
mod web;

use std::sync::Arc;

use crate::http::Shared;
pub use session::AdminCredential;
pub(crate) use state::Console;

/// Largest form the console reads.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The console's routes, to merge into the collector's router.
pub(crate) fn router(shared: Arc<Shared>, console: Arc<Console>) -> axum::Router {
    pages::router(web::State { shared, console })
}
