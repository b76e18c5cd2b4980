//! Server-rendered HTML: the sign-in, consent, settings and message pages. Templates are compiled
//! into the binary and autoescaped; every page is sent with headers that forbid framing, caching
//! and sniffing, and a content security policy that allows no script at all. What the pages share
//! is here: their view of the server ([`Site`]), rendering, their error ([`PageError`]), reading a
//! form, and redirecting after a POST.

pub mod settings;
pub mod signin;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

use crate::config::Config;
use crate::db::{Db, DbError};
use crate::form::{MAX_BODY, Params};
use crate::urls::PublicUrls;

/// What the pages need from the server: the extension, where the server is reached (for links and
/// whether cookies are `Secure`) and the configuration (sign-up, session lifetime).
#[derive(Clone)]
pub struct Site {
    pub db: Db,
    pub urls: Arc<PublicUrls>,
    pub config: Arc<Config>,
}

/// The pages' routes, for any server state that can hand them a [`Site`].
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Site: FromRef<S>,
    Arc<Config>: FromRef<S>,
{
    signin::router().merge(settings::router())
}

/// Why a page cannot do what was asked: a page that says so, with its status.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl PageError {
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> PageError {
        PageError { status, title, message: message.into() }
    }

    pub fn unavailable() -> PageError {
        PageError::new(StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment", "The database is unavailable right now.")
    }
}

/// Whatever the extension refused or failed at: the page says to try again (a page whose request
/// the extension may refuse for a reason the person can act on maps that class itself first).
impl From<DbError> for PageError {
    fn from(e: DbError) -> PageError {
        if !matches!(e, DbError::Unavailable) {
            tracing::error!(error = %e, "a page could not be served");
        }
        PageError::unavailable()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = message(self.status, self.title, &self.message);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(crate::db::error::RETRY_AFTER_SECONDS));
        }
        response
    }
}

/// Notices shown after a redirect, chosen by a fixed key (never text from the URL).
pub fn notice(key: Option<&str>) -> Option<&'static str> {
    match key? {
        "revoked" => Some("Access revoked. The app's tokens stopped working at once."),
        "password" => Some("Password changed. Your other sessions were signed out."),
        "signed_out" => Some("You are signed out."),
        _ => None,
    }
}

/// `303 See Other`: how every form is answered.
pub fn see_other(location: &str) -> Response {
    secure((StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string())]).into_response())
}

/// A submitted form's fields (at most 64 kB, each field once).
pub async fn read_form(body: Body) -> Result<Params, PageError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "Too much data", "The form was too large."))?;
    Params::from_pairs(form_urlencoded::parse(&bytes).into_owned())
        .map_err(|e| PageError::new(StatusCode::BAD_REQUEST, "This form is not valid", e.description))
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("message.html", include_str!("templates/message.html")),
            ("signin.html", include_str!("templates/signin.html")),
            ("consent.html", include_str!("templates/consent.html")),
            ("settings.html", include_str!("templates/settings.html")),
        ] {
            env.add_template(name, source).expect("templates are valid");
        }
        env
    })
}

/// A rendered page with Quarry's security headers.
pub fn render(status: StatusCode, template: &str, context: impl Serialize) -> Response {
    let body = environment()
        .get_template(template)
        .and_then(|t| t.render(context))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, template, "page rendering failed");
            "<!doctype html><title>Quarry</title><p>Something went wrong on our side.".to_string()
        });
    secure((status, Html(body)).into_response())
}

/// A page that says one thing: an error the person can read, or a confirmation.
pub fn message(status: StatusCode, title: &str, message: &str) -> Response {
    render(status, "message.html", minijinja::context! { title, message })
}

/// Headers for every page: no framing (clickjacking), no caching (pages carry CSRF tokens),
/// no referrer (URLs carry OAuth parameters), no MIME sniffing, and no script.
pub fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// How a scope is shown on the consent page.
#[derive(Serialize)]
pub struct ScopeView {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
}

pub fn scope_view(name: &str) -> Option<ScopeView> {
    let (title, description) = match name {
        "read" => ("Read dashboards", "View dashboards, pinned queries and their results."),
        "write" => ("Ask and change", "Ask questions of your datasets and create or change conversations, dashboards and pins."),
        "datasets" => ("See datasets", "See the datasets you can use and their schema: collections, fields, indexes and record counts."),
        "conversations" => ("See conversations", "View your conversation threads: questions, SQL, analyses and charts."),
        _ => return None,
    };
    crate::db::oauth::SCOPES.iter().find(|s| **s == name).map(|name| ScopeView { name, title, description })
}
