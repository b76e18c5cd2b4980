//! The authorization endpoint (`GET|POST /oauth/authorize`).
//!
//! The request is validated in an order that never sends anyone to an address we have not
//! verified: the client first, then the redirect URI (both failures get an error page, never a
//! redirect), then everything else (failures go back to the client as OAuth errors with `state`
//! and `iss`). Then the person signs in (or creates an account), and approves the scopes they
//! choose on the consent page. The request's parameters travel in hidden form fields and are
//! validated again on every POST: the sidecar remembers nothing between requests.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use url::Url;

use super::client_metadata::{self, MetadataFetcher};
use crate::db::DbError;
use crate::db::accounts::Session;
use crate::db::oauth::{Authorization, CheckedRequest};
use crate::form::{MAX_BODY, Params};
use crate::pages::signin::{self, SignInPage};
use crate::pages::{self, PageError, Site};
use crate::session::{self, ClientIp};

/// The parameters of an authorization request that travel through the sign-in and consent forms.
const CARRIED: &[&str] =
    &["client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method", "resource", "prompt"];

/// A validated authorization request.
#[derive(Debug, Clone)]
struct Request {
    client_id: String,
    client_name: String,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    code_challenge: String,
    resource: String,
    prompt: Option<String>,
    carried: Vec<(String, String)>,
}

/// Why a request cannot go on: an error page (the redirect URI is not trusted) or an OAuth error
/// sent back to the client.
enum Refusal {
    Page(PageError),
    Redirect(Box<Response>),
}

impl From<PageError> for Refusal {
    fn from(page: PageError) -> Refusal {
        Refusal::Page(page)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Page(page) => page.into_response(),
            Refusal::Redirect(response) => *response,
        }
    }
}

/// `303 See Other` to the client's redirect URI with these parameters, `state` and `iss` added.
fn back_to_client(site: &Site, redirect_uri: &str, client_state: Option<&str>, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return pages::message(StatusCode::BAD_REQUEST, "Cannot return to the app", "Its redirect address is not a URL.");
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(s) = client_state {
            query.append_pair("state", s);
        }
        query.append_pair("iss", &site.urls.issuer);
    }
    pages::secure((StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response())
}

fn oauth_error(site: &Site, redirect_uri: &str, client_state: Option<&str>, error: &str, description: &str) -> Refusal {
    Refusal::Redirect(Box::new(back_to_client(site, redirect_uri, client_state, &[("error", error), ("error_description", description)])))
}

fn unavailable() -> Refusal {
    PageError::unavailable().into()
}

async fn validate(site: &Site, fetcher: &MetadataFetcher, p: &Params) -> Result<Request, Refusal> {
    let Some(client_id) = p.get("client_id") else {
        return Err(PageError::new(StatusCode::BAD_REQUEST, "This link is incomplete", "The request does not say which app it comes from (client_id).").into());
    };
    if (client_id.starts_with("https://") || (site.config.oauth.client_metadata_allow_private && client_id.starts_with("http://")))
        && let Err(reason) = client_metadata::ensure_client(&site.db, fetcher, site.config.oauth.client_metadata_ttl, client_id).await {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "This app could not be verified",
                format!("We could not load the app's registration from {client_id}: {reason}."),
            )
            .into());
        }

    let checked = check_request(site, client_id, p).await?;
    let redirect_uri = checked.redirect_uri.unwrap_or_default();
    let client_state = p.get("state");
    let fail = |error: &str, description: &str| Err(oauth_error(site, &redirect_uri, client_state, error, description));

    if p.get("response_type") != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    let Some(challenge) = p.get("code_challenge") else {
        return fail("invalid_request", "code_challenge is required (PKCE with S256)");
    };
    if p.get("code_challenge_method") != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256");
    }
    if challenge.len() != 43 || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return fail("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)");
    }
    let resource = match p.get("resource") {
        None => site.urls.resource.clone(),
        Some(r) if r.trim_end_matches('/') == site.urls.resource => site.urls.resource.clone(),
        Some(_) => return fail("invalid_target", &format!("resource must be {}", site.urls.resource)),
    };
    let prompt = p.get("prompt").map(str::to_string);
    if let Some(prompt) = &prompt
        && !prompt.split(' ').all(|v| matches!(v, "none" | "login" | "consent")) {
            return fail("invalid_request", "prompt may be none, login or consent");
        }

    Ok(Request {
        client_id: checked.client_id.unwrap_or_else(|| client_id.to_string()),
        client_name: checked.client_name.unwrap_or_else(|| "An app".to_string()),
        scopes: checked.scopes,
        state: client_state.map(str::to_string),
        code_challenge: challenge.to_string(),
        resource,
        prompt,
        carried: CARRIED.iter().filter_map(|k| p.get(k).map(|v| (k.to_string(), v.to_string()))).collect(),
        redirect_uri,
    })
}

/// The extension's check of the client, its redirect URI and the scope. An unknown client or
/// redirect URI gets an error page; a wrong scope goes back to the (verified) redirect URI.
async fn check_request(site: &Site, client_id: &str, p: &Params) -> Result<CheckedRequest, Refusal> {
    let refused = match site.db.check_authorization_request(client_id, p.get("redirect_uri"), p.get("scope")).await {
        Ok(checked) => return Ok(checked),
        Err(e) => e,
    };
    Err(match refused {
        DbError::OAuth { code: "invalid_client", message, .. } => {
            PageError::new(StatusCode::BAD_REQUEST, "Unknown app", format!("{message}. Ask the app to register again.")).into()
        }
        DbError::OAuth { code: "invalid_redirect_uri" | "invalid_request", message, .. } => {
            PageError::new(StatusCode::BAD_REQUEST, "This app's redirect address is not allowed", message).into()
        }
        DbError::OAuth { code: "invalid_scope", message, .. } => {
            // The scope is wrong but the client and redirect URI are fine: learn the redirect URI
            // without the scope and send the error back there.
            let Ok(checked) = site.db.check_authorization_request(client_id, p.get("redirect_uri"), None).await else {
                return Err(unavailable());
            };
            oauth_error(site, &checked.redirect_uri.unwrap_or_default(), p.get("state"), "invalid_scope", &message)
        }
        DbError::Unavailable => unavailable(),
        other => {
            tracing::error!(error = %other, "authorization check failed");
            unavailable()
        }
    })
}

impl Request {
    fn prompts(&self, value: &str) -> bool {
        self.prompt.as_deref().is_some_and(|p| p.split(' ').any(|v| v == value))
    }

    /// The URL of this same request, for redirecting back to it after a POST.
    fn url(&self, site: &Site) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(self.carried.iter()).finish();
        format!("{}?{query}", site.urls.endpoint("/oauth/authorize"))
    }

    fn redirect_host(&self) -> String {
        Url::parse(&self.redirect_uri)
            .ok()
            .and_then(|u| u.host_str().map(|h| match u.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_string(),
            }))
            .unwrap_or_else(|| self.redirect_uri.split(':').next().unwrap_or_default().to_string() + ":")
    }
}

/// GET: validate, then sign-in page, consent page, or (consent remembered) straight back to the
/// client with a code.
pub async fn show(State(site): State<Site>, State(fetcher): State<MetadataFetcher>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let p = match Params::from_query(query.as_deref()) {
        Ok(p) => p,
        Err(e) => return pages::message(StatusCode::BAD_REQUEST, "This link is not valid", &e.description),
    };
    let request = match validate(&site, &fetcher, &p).await {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let session = match signin::current_session(&site.db, &headers).await {
        Ok(s) => s,
        Err(_) => return unavailable().into_response(),
    };
    let Some(session) = session.filter(|_| !request.prompts("login")) else {
        if request.prompts("none") {
            return oauth_error(&site, &request.redirect_uri, request.state.as_deref(), "login_required", "sign-in is required").into_response();
        }
        return sign_in_page(&request).render(&site, &headers, StatusCode::OK);
    };
    let remembered = match remembered_scopes(&site, &session, &request).await {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    if remembered.is_superset(&request.scopes.iter().cloned().collect()) && !request.prompts("consent") {
        return issue_code(&site, &session, &request, &request.scopes).await;
    }
    if request.prompts("none") {
        return oauth_error(&site, &request.redirect_uri, request.state.as_deref(), "consent_required", "consent is required")
            .into_response();
    }
    consent_page(&site, &session, &request, StatusCode::OK, None)
}

async fn remembered_scopes(site: &Site, session: &Session, request: &Request) -> Result<BTreeSet<String>, Refusal> {
    let scopes = site.db.consented_scopes(session.account_id, &request.client_id).await.map_err(|_| unavailable())?;
    Ok(scopes.into_iter().collect())
}

/// POST: the sign-in, sign-up and consent forms.
pub async fn submit(State(site): State<Site>, State(fetcher): State<MetadataFetcher>, ClientIp(ip): ClientIp, headers: HeaderMap, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return pages::message(StatusCode::PAYLOAD_TOO_LARGE, "Too much data", "The form was larger than this page accepts.");
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let granted: Vec<String> = pairs.iter().filter(|(k, _)| k == "grant").map(|(_, v)| v.clone()).collect();
    let fields = match Params::from_pairs(pairs.into_iter().filter(|(k, _)| k != "grant")) {
        Ok(p) => p,
        Err(e) => return pages::message(StatusCode::BAD_REQUEST, "This form is not valid", &e.description),
    };
    let request = match validate(&site, &fetcher, &fields).await {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    match fields.get("step") {
        Some("signin" | "signup") => signin::submit_form(&site, &headers, ip, &fields, sign_in_page(&request), &request.url(&site)).await,
        Some("approve") => consent(&site, &headers, &request, &fields, Some(&granted)).await,
        Some("deny") => consent(&site, &headers, &request, &fields, None).await,
        _ => pages::message(StatusCode::BAD_REQUEST, "This form is not valid", "It does not say what to do."),
    }
}

/// The consent form, from a signed-in person: the scopes they `granted`, or `None` for a denial.
async fn consent(site: &Site, headers: &HeaderMap, request: &Request, fields: &Params, granted: Option<&[String]>) -> Response {
    let session = match signin::current_session(&site.db, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let page = SignInPage { error: Some("Your session ended; sign in again."), ..sign_in_page(request) };
            return page.render(site, headers, StatusCode::UNAUTHORIZED);
        }
        Err(_) => return unavailable().into_response(),
    };
    if !fields.get("csrf").is_some_and(|c| session::same_secret(c, &session.csrf)) {
        return pages::message(StatusCode::FORBIDDEN, "This form has expired", "Go back to the app and connect again.");
    }
    let Some(granted) = granted else {
        tracing::info!(client_id = %request.client_id, account_id = session.account_id, "authorization denied");
        return back_to_client(site, &request.redirect_uri, request.state.as_deref(), &[
            ("error", "access_denied"),
            ("error_description", "the request was denied"),
        ]);
    };
    if granted.iter().any(|g| !request.scopes.contains(g)) {
        return pages::message(StatusCode::BAD_REQUEST, "This form is not valid", "It grants a permission that was not asked for.");
    }
    if granted.is_empty() {
        return consent_page(site, &session, request, StatusCode::BAD_REQUEST, Some("Choose at least one permission, or deny."));
    }
    issue_code(site, &session, request, granted).await
}

/// The sign-in page of the authorization flow: it names the app and carries the request along.
fn sign_in_page(request: &Request) -> SignInPage<'_> {
    SignInPage { action: "/oauth/authorize", hidden: &request.carried, client_name: Some(&request.client_name), ..Default::default() }
}

fn consent_page(site: &Site, session: &Session, request: &Request, status: StatusCode, error: Option<&str>) -> Response {
    let scopes: Vec<_> = request.scopes.iter().filter_map(|s| pages::scope_view(s)).collect();
    pages::render(status, "consent.html", context! {
        client_name => request.client_name, redirect_host => request.redirect_host(), email => session.email,
        scopes, error, hidden => request.carried, csrf => session.csrf,
        action => site.urls.endpoint("/oauth/authorize"), settings_url => site.urls.endpoint("/settings"),
    })
}

/// Records consent, issues the code and sends the person back to the client with it.
async fn issue_code(site: &Site, session: &Session, request: &Request, granted: &[String]) -> Response {
    let authorization = Authorization {
        account_id: session.account_id,
        client_id: &request.client_id,
        redirect_uri: &request.redirect_uri,
        scopes: granted,
        resource: &request.resource,
        code_challenge: &request.code_challenge,
        code_ttl: site.config.oauth.code_ttl,
    };
    match site.db.authorize(&authorization).await {
        Ok(code) => {
            tracing::info!(client_id = %request.client_id, account_id = session.account_id, scopes = ?granted, "authorization code issued");
            back_to_client(site, &request.redirect_uri, request.state.as_deref(), &[("code", &code)])
        }
        Err(DbError::OAuth { code: "access_denied", message, .. }) => {
            oauth_error(site, &request.redirect_uri, request.state.as_deref(), "access_denied", &message).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "issuing an authorization code failed");
            unavailable().into_response()
        }
    }
}
