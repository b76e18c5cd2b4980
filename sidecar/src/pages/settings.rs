//! The settings pages of a signed-in person: connected apps with their scopes and a revoke
//! button that ends their tokens at once, password change, sign-out. A program that registered
//! many times (once per machine, once per reinstall) is listed once, its registrations folded
//! under it, so that the list stays readable. Every form is a POST with
//! the session's CSRF token, answered with 303; without a session, the way is to `/signin`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use serde::Serialize;

use super::signin::current_session;
use super::{PageError, Site, notice, read_form, see_other};
use crate::config::Config;
use crate::db::DbError;
use crate::db::accounts::Session;
use crate::db::oauth::{Grant, SCOPES};
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

/// One app on the settings page: the registrations that `quarry.account_grants` gives as one app,
/// summed up. Revoking it revokes every registration; each can also be revoked alone.
#[derive(Debug, Serialize)]
struct App {
    /// The extension's key for the app, which the form that revokes all of it carries back.
    key: String,
    name: String,
    /// Where the newest registration sends people back.
    redirect_host: Option<String>,
    /// What any of its registrations may do, in the order scopes are always shown.
    scopes: Vec<&'static str>,
    /// The newest grant, and the last use of any registration (`YYYY-MM-DD HH:MM UTC`).
    granted_at: String,
    last_used_at: Option<String>,
    /// Newest first.
    registrations: Vec<Grant>,
}

/// Folds grants into apps. The extension lists an app's registrations together, newest first,
/// and the apps by their newest grant, so the order is kept as it comes.
fn apps(grants: Vec<Grant>) -> Vec<App> {
    let mut apps: Vec<App> = Vec::new();
    for grant in grants {
        match apps.last_mut() {
            Some(app) if app.key == grant.app => app.registrations.push(grant),
            _ => apps.push(App {
                key: grant.app.clone(),
                name: grant.client_name.clone(),
                redirect_host: grant.redirect_host.clone(),
                scopes: Vec::new(),
                granted_at: grant.granted_at.clone(),
                last_used_at: None,
                registrations: vec![grant],
            }),
        }
    }
    for app in &mut apps {
        app.scopes = SCOPES.iter().copied().filter(|s| app.registrations.iter().any(|g| g.scopes.iter().any(|h| h == s))).collect();
        // The timestamps share one fixed-width format, so the latest is the greatest.
        app.last_used_at = app.registrations.iter().filter_map(|g| g.last_used_at.clone()).max();
    }
    apps
}

async fn show(State(site): State<Site>, headers: HeaderMap, RawQuery(query): RawQuery) -> Result<Response, PageError> {
    let Some(session) = current_session(&site.db, &headers).await? else { return Ok(sign_in_first(&site)) };
    let apps = apps(site.db.account_grants(session.account_id).await?);
    let q = Params::from_query(query.as_deref()).unwrap_or_default();
    let error = match q.get("error") {
        Some("password_wrong") => Some("The current password is not right."),
        Some("password_mismatch") => Some("The new passwords do not match."),
        Some("password_weak") => Some("The new password must have at least 8 characters."),
        _ => None,
    };
    Ok(pages::render(StatusCode::OK, "settings.html", context! {
        display_name => session.display_name, email => session.email, apps, csrf => session.csrf,
        notice => notice(q.get("notice")), error,
        revoke_url => site.urls.endpoint("/settings/revoke"),
        password_url => site.urls.endpoint("/settings/password"),
        signout_url => site.urls.endpoint("/signout"),
    }))
}

async fn revoke(State(site): State<Site>, headers: HeaderMap, body: Body) -> Result<Response, PageError> {
    let Some(session) = current_session(&site.db, &headers).await? else { return Ok(sign_in_first(&site)) };
    let fields = checked_form(&session, body).await?;
    // Either one registration (`client_id`) or every registration of an app (`app`).
    let outcome = match (fields.get("client_id"), fields.get("app")) {
        (Some(client_id), None) => site.db.revoke_grant(session.account_id, client_id).await.map(|()| {
            tracing::info!(account_id = session.account_id, client_id, "grant revoked");
        }),
        (None, Some(app)) => site.db.revoke_app(session.account_id, app).await.map(|registrations| {
            tracing::info!(account_id = session.account_id, app, registrations, "grants of an app revoked");
        }),
        _ => return Err(PageError::new(StatusCode::BAD_REQUEST, "This form is not valid", "It does not say which app to revoke.")),
    };
    match outcome {
        Ok(()) => Ok(see_other(&site.urls.endpoint("/settings?notice=revoked"))),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(client_id: &str, app: &str, scopes: &[&str], granted_at: &str, last_used_at: Option<&str>) -> Grant {
        Grant {
            client_id: client_id.into(),
            app: app.into(),
            client_name: format!("name of {app}"),
            redirect_host: Some(format!("{client_id}.example")),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            granted_at: granted_at.into(),
            last_used_at: last_used_at.map(str::to_string),
        }
    }

    #[test]
    fn registrations_of_one_app_fold_into_one_entry() {
        let apps = apps(vec![
            grant("c3", "a", &["write"], "2025-03-03 10:00 UTC", None),
            grant("c2", "a", &["conversations", "read"], "2025-03-02 10:00 UTC", Some("2025-03-05 09:00 UTC")),
            grant("c1", "a", &["read"], "2025-03-01 10:00 UTC", Some("2025-03-04 09:00 UTC")),
            grant("c0", "b", &["datasets"], "2025-02-01 10:00 UTC", None),
        ]);
        assert_eq!(apps.len(), 2);
        let a = &apps[0];
        assert_eq!((a.key.as_str(), a.name.as_str()), ("a", "name of a"));
        assert_eq!(a.redirect_host.as_deref(), Some("c3.example"), "the newest registration's");
        assert_eq!(a.scopes, ["read", "write", "conversations"], "every scope of any registration, in scope order");
        assert_eq!(a.granted_at, "2025-03-03 10:00 UTC");
        assert_eq!(a.last_used_at.as_deref(), Some("2025-03-05 09:00 UTC"));
        assert_eq!(a.registrations.iter().map(|g| g.client_id.as_str()).collect::<Vec<_>>(), ["c3", "c2", "c1"]);
        assert_eq!(apps[1].registrations.len(), 1);
        assert_eq!(apps[1].last_used_at, None);
        assert!(super::apps(Vec::new()).is_empty());
    }
}
