//! The settings pages of a signed-in person: connected apps with their scopes and a revoke
//! button that ends their tokens at once, password change, sign-out; and a plain sign-in page
//! for reaching them. Every form is a POST with the session's CSRF token, answered with 303.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;

use crate::config::Config;
use crate::db::DbError;
use crate::oauth::authorize::{SignIn, render_sign_in, retry_after_header, sign_in_request};
use crate::oauth::params::{MAX_BODY, Params};
use crate::pages::{self, Site};
use crate::session::{self, ClientIp, FORM_COOKIE, SESSION_COOKIE, Session};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Site: FromRef<S>,
    Arc<Config>: FromRef<S>,
{
    Router::new()
        .route("/signin", get(sign_in_form).post(sign_in))
        .route("/signout", post(sign_out))
        .route("/settings", get(show))
        .route("/settings/revoke", post(revoke))
        .route("/settings/password", post(change_password))
}

/// Notices shown after a redirect, chosen by a fixed key (never text from the URL).
fn notice(key: Option<&str>) -> Option<&'static str> {
    match key? {
        "revoked" => Some("Access revoked. The app's tokens stopped working at once."),
        "password" => Some("Password changed. Your other sessions were signed out."),
        "signed_out" => Some("You are signed out."),
        _ => None,
    }
}

fn see_other(location: &str) -> Response {
    pages::secure((StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string())]).into_response())
}

fn unavailable() -> Response {
    pages::message(StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment", "The database is unavailable right now.")
}

async fn form(body: Body) -> Result<Params, Response> {
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| pages::message(StatusCode::PAYLOAD_TOO_LARGE, "Too much data", "The form was too large."))?;
    Params::from_pairs(form_urlencoded::parse(&bytes).into_owned())
        .map_err(|e| pages::message(StatusCode::BAD_REQUEST, "This form is not valid", &e.description))
}

/// The session, or a redirect to the sign-in page.
async fn signed_in(site: &Site, headers: &HeaderMap) -> Result<Session, Response> {
    match session::current(&site.db, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(see_other(&site.urls.endpoint("/signin"))),
        Err(_) => Err(unavailable()),
    }
}

/// A signed-in form: the session, provided the form carries its CSRF token.
async fn signed_in_form(site: &Site, headers: &HeaderMap, body: Body) -> Result<(Session, Params), Response> {
    let session = signed_in(site, headers).await?;
    let fields = form(body).await?;
    if !fields.get("csrf").is_some_and(|c| session::same_secret(c, &session.csrf)) {
        return Err(pages::message(StatusCode::FORBIDDEN, "This form has expired", "Reload the settings page and try again."));
    }
    Ok((session, fields))
}

async fn sign_in_form(State(site): State<Site>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    if let Ok(Some(_)) = session::current(&site.db, &headers).await {
        return see_other(&site.urls.endpoint("/settings"));
    }
    let q = Params::from_query(query.as_deref()).unwrap_or_default();
    render_sign_in(&site, &headers, StatusCode::OK, &[], None, "/signin", None, notice(q.get("notice")), None, false)
}

async fn sign_in(State(site): State<Site>, ClientIp(ip): ClientIp, headers: HeaderMap, body: Body) -> Response {
    let fields = match form(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let signup = fields.get("step") == Some("signup");
    let form_cookie = session::cookie(&headers, FORM_COOKIE);
    let refuse = |status, message: &str| {
        render_sign_in(&site, &headers, status, &[], None, "/signin", Some(message), None, fields.get("email"), signup)
    };
    if !matches!((form_cookie.as_deref(), fields.get("csrf")), (Some(c), Some(v)) if session::same_secret(c, v)) {
        return refuse(StatusCode::FORBIDDEN, "The form expired; please try again.");
    }
    if signup && !site.config.oauth.signup {
        return pages::message(StatusCode::FORBIDDEN, "Sign-up is closed", "Ask your administrator for an account.");
    }
    match sign_in_request(&site, ip, &headers, &fields, signup).await {
        SignIn::Ok(cookie) => {
            let mut response = see_other(&site.urls.endpoint("/settings"));
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response.headers_mut().append(header::SET_COOKIE, session::clear_cookie(FORM_COOKIE, site.urls.https));
            response
        }
        SignIn::Refused(status, message) => refuse(status, &message),
        SignIn::Throttled { message, retry_after } => retry_after_header(refuse(StatusCode::TOO_MANY_REQUESTS, &message), retry_after),
    }
}

async fn show(State(site): State<Site>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let session = match signed_in(&site, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let grants = match site.db.account_grants(session.account_id).await {
        Ok(grants) => grants,
        Err(e) => {
            tracing::error!(error = %e, "listing grants failed");
            return unavailable();
        }
    };
    let q = Params::from_query(query.as_deref()).unwrap_or_default();
    let error = match q.get("error") {
        Some("password_wrong") => Some("The current password is not right."),
        Some("password_mismatch") => Some("The new passwords do not match."),
        Some("password_weak") => Some("The new password must have at least 8 characters."),
        _ => None,
    };
    pages::render(StatusCode::OK, "settings.html", context! {
        display_name => session.display_name, email => session.email, grants, csrf => session.csrf,
        notice => notice(q.get("notice")), error,
        revoke_url => site.urls.endpoint("/settings/revoke"),
        password_url => site.urls.endpoint("/settings/password"),
        signout_url => site.urls.endpoint("/signout"),
    })
}

async fn revoke(State(site): State<Site>, headers: HeaderMap, body: Body) -> Response {
    let (session, fields) = match signed_in_form(&site, &headers, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(client_id) = fields.get("client_id") else {
        return pages::message(StatusCode::BAD_REQUEST, "This form is not valid", "It does not say which app to revoke.");
    };
    match site.db.revoke_grant(session.account_id, client_id).await {
        Ok(()) => {
            tracing::info!(account_id = session.account_id, client_id, "grant revoked");
            see_other(&site.urls.endpoint("/settings?notice=revoked"))
        }
        Err(DbError::NotFound(_)) => {
            pages::message(StatusCode::NOT_FOUND, "Nothing to revoke", "This app has no access to your account.")
        }
        Err(e) => {
            tracing::error!(error = %e, "revoking a grant failed");
            unavailable()
        }
    }
}

async fn change_password(State(site): State<Site>, headers: HeaderMap, body: Body) -> Response {
    let (session, fields) = match signed_in_form(&site, &headers, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let new = fields.get("new_password").unwrap_or_default();
    if Some(new) != fields.get("confirm_password") {
        return see_other(&site.urls.endpoint("/settings?error=password_mismatch"));
    }
    if new.chars().count() < 8 {
        return see_other(&site.urls.endpoint("/settings?error=password_weak"));
    }
    match site.db.change_password(session.account_id, fields.get("current_password"), new, &session.token).await {
        Ok(true) => see_other(&site.urls.endpoint("/settings?notice=password")),
        Ok(false) => see_other(&site.urls.endpoint("/settings?error=password_wrong")),
        Err(DbError::Invalid(_)) => {
            see_other(&site.urls.endpoint("/settings?error=password_weak"))
        }
        Err(e) => {
            tracing::error!(error = %e, "changing a password failed");
            unavailable()
        }
    }
}

async fn sign_out(State(site): State<Site>, headers: HeaderMap, body: Body) -> Response {
    let (session, _) = match signed_in_form(&site, &headers, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let _ = site.db.sign_out(&session.token).await;
    let mut response = see_other(&site.urls.endpoint("/signin?notice=signed_out"));
    response.headers_mut().append(header::SET_COOKIE, session::clear_cookie(SESSION_COOKIE, site.urls.https));
    response
}
