//! Signing in and up, for both flows that need it: the authorization endpoint (the person signs in
//! on the way to the consent page) and the site's own `/signin` (on the way to the settings). Here
//! are the session a request carries, the sign-in page, and the handling of its form: the
//! double-submit token, the call of `quarry.sign_in` or `quarry.sign_up`, and the answer (the
//! session cookie and a 303, or the page again with the reason, 429 with `Retry-After` when
//! throttled).

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;

use super::{PageError, Site, notice, read_form, see_other};
use crate::config::Config;
use crate::db::accounts::{Credentials, Session, SignedIn};
use crate::db::{Db, DbError};
use crate::form::Params;
use crate::pages;
use crate::session::{self, ClientIp, FORM_COOKIE, SESSION_COOKIE};

/// `/signin`: the site's own sign-in page, which leads to the settings.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Site: FromRef<S>,
    Arc<Config>: FromRef<S>,
{
    Router::new().route("/signin", get(show).post(submit))
}

/// The session of this request, if its cookie names a live one.
pub async fn current_session(db: &Db, headers: &HeaderMap) -> Result<Option<Session>, DbError> {
    let Some(token) = session::cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    db.session(&token).await
}

/// The sign-in page of one flow: where its form goes, the fields it carries along, the app asking
/// (in the authorization flow), and what it says.
#[derive(Clone, Copy, Default)]
pub struct SignInPage<'a> {
    /// The path the form posts to.
    pub action: &'a str,
    pub hidden: &'a [(String, String)],
    pub client_name: Option<&'a str>,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
    pub email: Option<&'a str>,
    /// Whether the page opens on its sign-up form.
    pub signup_open: bool,
}

impl SignInPage<'_> {
    /// The page, with a fresh (or the current) double-submit form token in a cookie.
    pub fn render(&self, site: &Site, headers: &HeaderMap, status: StatusCode) -> Response {
        let token = session::cookie(headers, FORM_COOKIE).unwrap_or_else(session::random_token);
        let mut response = pages::render(status, "signin.html", context! {
            client_name => self.client_name, error => self.error, notice => self.notice, hidden => self.hidden,
            csrf => token, email => self.email.unwrap_or_default(),
            action => site.urls.endpoint(self.action), signup => site.config.oauth.signup, signup_open => self.signup_open,
        });
        response.headers_mut().append(header::SET_COOKIE, session::set_cookie(FORM_COOKIE, &token, 3600, site.urls.https));
        response
    }
}

/// Handles a submitted sign-in or sign-up form and, once signed in, sends the person to `next`
/// with the session cookie. `page` is the page shown when the form has expired; when the
/// credentials are refused it is shown again with the email they typed.
pub async fn submit_form(site: &Site, headers: &HeaderMap, ip: Option<IpAddr>, fields: &Params, page: SignInPage<'_>, next: &str) -> Response {
    let signup = fields.get("step") == Some("signup");
    let page = SignInPage { signup_open: signup, ..page };
    let form_cookie = session::cookie(headers, FORM_COOKIE);
    if !matches!((form_cookie.as_deref(), fields.get("csrf")), (Some(c), Some(v)) if session::same_secret(c, v)) {
        let expired = SignInPage { error: Some("The form expired; please try again."), ..page };
        return expired.render(site, headers, StatusCode::FORBIDDEN);
    }
    if signup && !site.config.oauth.signup {
        return PageError::new(StatusCode::FORBIDDEN, "Sign-up is closed", "Ask your administrator for an account.").into_response();
    }
    let refused = |status, message: &str| SignInPage { error: Some(message), email: fields.get("email"), ..page }.render(site, headers, status);
    match sign_in(site, ip, headers, fields, signup).await {
        SignIn::Ok(cookie) => {
            let mut response = see_other(next);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response.headers_mut().append(header::SET_COOKIE, session::clear_cookie(FORM_COOKIE, site.urls.https));
            response
        }
        SignIn::Refused(status, message) => refused(status, &message),
        SignIn::Throttled { message, retry_after } => retry_after_header(refused(StatusCode::TOO_MANY_REQUESTS, &message), retry_after),
    }
}

/// The outcome of a sign-in or sign-up form.
enum SignIn {
    /// Signed in: the session cookie to set.
    Ok(HeaderValue),
    Refused(StatusCode, String),
    /// Too many attempts from this address or for this email: 429, and when to try again.
    Throttled { message: String, retry_after: u64 },
}

/// Adds `Retry-After` (seconds) to a 429 response.
fn retry_after_header(mut response: Response, seconds: u64) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// Calls `quarry.sign_in` or `quarry.sign_up` with the form's fields.
async fn sign_in(site: &Site, ip: Option<IpAddr>, headers: &HeaderMap, f: &Params, signup: bool) -> SignIn {
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(500).collect::<String>());
    let credentials = Credentials {
        email: f.get("email"),
        password: f.get("password"),
        ip,
        user_agent: user_agent.as_deref(),
        ttl: site.config.oauth.session_ttl,
    };
    let answer = if signup {
        site.db.sign_up(&credentials, f.get("display_name")).await
    } else {
        site.db.sign_in(&credentials).await
    };
    match answer {
        Ok(SignedIn::Session { token, account_id }) => {
            tracing::info!(account_id, signup, "signed in");
            SignIn::Ok(session::set_cookie(SESSION_COOKIE, &token, site.config.oauth.session_ttl.as_secs(), site.urls.https))
        }
        Ok(SignedIn::Throttled { retry_after }) => {
            let retry_after = retry_after.and_then(|n| u64::try_from(n).ok()).unwrap_or(900).max(1);
            let minutes = retry_after.div_ceil(60);
            tracing::warn!(?ip, "sign-in throttled");
            SignIn::Throttled { message: format!("Too many attempts. Try again in {minutes} minutes."), retry_after }
        }
        Ok(SignedIn::Exists) => SignIn::Refused(StatusCode::CONFLICT, "An account with this email already exists. Sign in instead.".into()),
        Ok(SignedIn::Invalid) => SignIn::Refused(StatusCode::UNAUTHORIZED, "Wrong email or password.".into()),
        Err(DbError::Invalid(message)) => SignIn::Refused(StatusCode::BAD_REQUEST, message),
        Err(DbError::Unavailable) => {
            SignIn::Refused(StatusCode::SERVICE_UNAVAILABLE, "The database is unavailable right now; try again in a moment.".into())
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            SignIn::Refused(StatusCode::SERVICE_UNAVAILABLE, "Something went wrong on our side; try again in a moment.".into())
        }
    }
}

/// GET `/signin`: the sign-in page, or the settings for someone already signed in.
async fn show(State(site): State<Site>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    if let Ok(Some(_)) = current_session(&site.db, &headers).await {
        return see_other(&site.urls.endpoint("/settings"));
    }
    let q = Params::from_query(query.as_deref()).unwrap_or_default();
    SignInPage { action: "/signin", notice: notice(q.get("notice")), ..Default::default() }.render(&site, &headers, StatusCode::OK)
}

/// POST `/signin`: the form, then the settings.
async fn submit(State(site): State<Site>, ClientIp(ip): ClientIp, headers: HeaderMap, body: Body) -> Result<Response, PageError> {
    let fields = read_form(body).await?;
    // An expired form keeps the email typed (the authorization flow's does not).
    let page = SignInPage { action: "/signin", email: fields.get("email"), ..Default::default() };
    Ok(submit_form(&site, &headers, ip, &fields, page, &site.urls.endpoint("/settings")).await)
}
