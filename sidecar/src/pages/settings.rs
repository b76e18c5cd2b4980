//! The settings pages of a signed-in person: connected apps with their scopes and a revoke
//! button that ends their tokens at once, password change, sign-out. Every form is a POST with
//! the session's CSRF token, answered with 303; without a session, the way is to `/signin`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;

use super::signin::current_session;
use super::{PageError, Site, notice, read_form, see_other};
use crate::config::Config;
use crate::db::DbError;
use crate::db::accounts::Session;
use crate::form::Params;
use crate::pages;
use crate::session::{self, SESSION_COOKIE};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Site: FromRef<S>,
    Arc<Config>: FromRef<S>,
{
    Router::new()
        .route("/signout", post(sign_out))
        .route("/settings", get(show))
        .route("/settings/revoke", post(revoke))
        .route("/settings/password", post(change_password))
}

/// Where someone without a session is sent.
fn sign_in_first(site: &Site) -> Response {
    see_other(&site.urls.endpoint("/signin"))
}

/// A signed-in form's fields, provided the form carries the session's CSRF token.
async fn checked_form(session: &Session, body: Body) -> Result<Params, PageError> {
    let fields = read_form(body).await?;
    if !fields.get("csrf").is_some_and(|c| session::same_secret(c, &session.csrf)) {
        return Err(PageError::new(StatusCode::FORBIDDEN, "This form has expired", "Reload the settings page and try again."));
    }
    Ok(fields)
}

async fn show(State(site): State<Site>, headers: HeaderMap, RawQuery(query): RawQuery) -> Result<Response, PageError> {
    let Some(session) = current_session(&site.db, &headers).await? else { return Ok(sign_in_first(&site)) };
    let grants = site.db.account_grants(session.account_id).await?;
    let q = Params::from_query(query.as_deref()).unwrap_or_default();
    let error = match q.get("error") {
        Some("password_wrong") => Some("The current password is not right."),
        Some("password_mismatch") => Some("The new passwords do not match."),
        Some("password_weak") => Some("The new password must have at least 8 characters."),
        _ => None,
    };
    Ok(pages::render(StatusCode::OK, "settings.html", context! {
        display_name => session.display_name, email => session.email, grants, csrf => session.csrf,
        notice => notice(q.get("notice")), error,
        revoke_url => site.urls.endpoint("/settings/revoke"),
        password_url => site.urls.endpoint("/settings/password"),
        signout_url => site.urls.endpoint("/signout"),
    }))
}

async fn revoke(State(site): State<Site>, headers: HeaderMap, body: Body) -> Result<Response, PageError> {
    let Some(session) = current_session(&site.db, &headers).await? else { return Ok(sign_in_first(&site)) };
    let fields = checked_form(&session, body).await?;
    let Some(client_id) = fields.get("client_id") else {
        return Err(PageError::new(StatusCode::BAD_REQUEST, "This form is not valid", "It does not say which app to revoke."));
    };
    match site.db.revoke_grant(session.account_id, client_id).await {
        Ok(()) => {
            tracing::info!(account_id = session.account_id, client_id, "grant revoked");
            Ok(see_other(&site.urls.endpoint("/settings?notice=revoked")))
        }
        Err(DbError::NotFound(_)) => Err(PageError::new(StatusCode::NOT_FOUND, "Nothing to revoke", "This app has no access to your account.")),
        Err(e) => Err(e.into()),
    }
}

async fn change_password(State(site): State<Site>, headers: HeaderMap, body: Body) -> Result<Response, PageError> {
    let Some(session) = current_session(&site.db, &headers).await? else { return Ok(sign_in_first(&site)) };
    let fields = checked_form(&session, body).await?;
    let new = fields.get("new_password").unwrap_or_default();
    let outcome = if Some(new) != fields.get("confirm_password") {
        "error=password_mismatch"
    } else if new.chars().count() < 8 {
        "error=password_weak"
    } else {
        match site.db.change_password(session.account_id, fields.get("current_password"), new, &session.token).await {
            Ok(true) => "notice=password",
            Ok(false) => "error=password_wrong",
            // The extension's password policy.
            Err(DbError::Invalid(_)) => "error=password_weak",
            Err(e) => return Err(e.into()),
        }
    };
    Ok(see_other(&site.urls.endpoint(&format!("/settings?{outcome}"))))
}

async fn sign_out(State(site): State<Site>, headers: HeaderMap, body: Body) -> Result<Response, PageError> {
    let Some(session) = current_session(&site.db, &headers).await? else { return Ok(sign_in_first(&site)) };
    checked_form(&session, body).await?;
    let _ = site.db.sign_out(&session.token).await;
    let mut response = see_other(&site.urls.endpoint("/signin?notice=signed_out"));
    response.headers_mut().append(header::SET_COOKIE, session::clear_cookie(SESSION_COOKIE, site.urls.https));
    Ok(response)
}
