//! Driving Quarry's OAuth flow the way a person's browser does: a cookie-keeping HTTP client that
//! reads the real sign-in and consent pages, fills their forms (CSRF fields included) and stops
//! at the redirect to the client. Plus the client's side: registration, PKCE, token requests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A form on a page: where it posts and its fields (hidden ones and checked checkboxes).
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.to_string(), value.to_string()));
        self
    }

    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.fields.retain(|(k, _)| k != name);
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Values of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#x27;", "'").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&#x2f;", "/").replace("&amp;", "&")
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// The forms of an HTML page, in order, with their hidden inputs, checked checkboxes and the
/// value of any named submit button (as `submit:<name>` entries).
pub fn forms(html: &str) -> Vec<Form> {
    let mut result = Vec::new();
    for chunk in html.split("<form").skip(1) {
        let body = chunk.split("</form>").next().unwrap_or_default();
        let head_end = body.find('>').unwrap_or(0);
        let action = attribute(&body[..head_end], "action").unwrap_or_default();
        let mut fields = Vec::new();
        for input in body.split("<input").skip(1) {
            let tag = &input[..input.find('>').unwrap_or(input.len())];
            let (Some(name), kind) = (attribute(tag, "name"), attribute(tag, "type").unwrap_or_default()) else { continue };
            let value = attribute(tag, "value").unwrap_or_default();
            match kind.as_str() {
                "hidden" => fields.push((name, value)),
                "checkbox" if tag.contains(" checked") => fields.push((name, value)),
                _ => {}
            }
        }
        for button in body.split("<button").skip(1) {
            let tag = &button[..button.find('>').unwrap_or(button.len())];
            if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
                fields.push((format!("submit:{name}"), value));
            }
        }
        result.push(Form { action, fields });
    }
    result
}

/// A PKCE verifier and its S256 challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).unwrap();
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce { verifier, challenge }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// A registered client.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_uri: String,
}

/// Registers a public client through Dynamic Client Registration.
pub async fn register(base: &str, redirect_uri: &str) -> Client {
    register_named(base, "e2e test client", redirect_uri).await
}

/// Registers a public client under this name through Dynamic Client Registration.
pub async fn register_named(base: &str, client_name: &str, redirect_uri: &str) -> Client {
    let response = crate::client_builder().build().unwrap()
        .post(format!("{base}/v1/oauth/register"))
        .json(&json!({
            "client_name": client_name,
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "registration failed");
    let body: Value = response.json().await.unwrap();
    Client { client_id: body["client_id"].as_str().unwrap().into(), client_secret: None, redirect_uri: redirect_uri.into() }
}

/// A browser: cookies kept, redirects not followed.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
}

/// How the person answers the consent page.
#[derive(Debug, Clone)]
pub enum Consent {
    /// Allow every scope asked for.
    All,
    /// Allow only these (untick the rest).
    Only(Vec<String>),
    Deny,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser { http: crate::http(), base: base.to_string() }
    }

    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{location}", self.base)
        }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(self.absolute(url)).send().await.unwrap()
    }

    pub async fn post_form(&self, form: &Form) -> reqwest::Response {
        let fields: Vec<(String, String)> = form
            .fields
            .iter()
            .filter(|(k, _)| !k.starts_with("submit:"))
            .cloned()
            .collect();
        self.http.post(self.absolute(&form.action)).form(&fields).send().await.unwrap()
    }

    /// Follows an authorization URL through sign-in and consent to the redirect back to the
    /// client, and returns that redirect's URL.
    pub async fn authorize(&self, authorization_url: &str, email: &str, password: &str, consent: Consent) -> String {
        let mut response = self.get(authorization_url).await;
        for _ in 0..6 {
            let status = response.status().as_u16();
            if status == 303 || status == 302 {
                let location = response.headers()["location"].to_str().unwrap().to_string();
                if location.contains("/oauth/authorize") {
                    response = self.get(&location).await;
                    continue;
                }
                return location;
            }
            assert_eq!(status, 200, "unexpected answer on the way through authorization: {}", response.text().await.unwrap());
            let html = response.text().await.unwrap();
            let page_forms = forms(&html);
            if html.contains("name=\"password\"") && html.contains("value=\"signin\"") {
                let mut form = page_forms.into_iter().next().expect("a sign-in form");
                form.set("email", email).set("password", password);
                response = self.post_form(&form).await;
            } else if html.contains("name=\"grant\"") {
                let mut form = page_forms.into_iter().next().expect("a consent form");
                match &consent {
                    Consent::Deny => {
                        form.set("step", "deny");
                    }
                    Consent::All => {
                        form.set("step", "approve");
                    }
                    Consent::Only(scopes) => {
                        form.remove("grant");
                        for s in scopes {
                            form.fields.push(("grant".into(), s.clone()));
                        }
                        form.set("step", "approve");
                    }
                }
                response = self.post_form(&form).await;
            } else {
                panic!("a page that is neither sign-in nor consent: {html}");
            }
        }
        panic!("authorization did not finish");
    }
}

/// The authorization URL for a client with PKCE.
pub fn authorization_url(base: &str, client: &Client, pkce: &Pkce, scope: Option<&str>, state: &str, resource: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", &client.redirect_uri)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", state)
        .append_pair("resource", resource);
    if let Some(scope) = scope {
        query.append_pair("scope", scope);
    }
    format!("{base}/oauth/authorize?{}", query.finish())
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// POSTs a form to the token endpoint; returns status and JSON body.
pub async fn token_request(base: &str, fields: &[(&str, &str)]) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = crate::client_builder().build().unwrap().post(format!("{base}/v1/oauth/token")).form(fields).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.json().await.unwrap_or(Value::Null), headers)
}

/// Signs in as `email` and gets tokens for a fresh client: the whole flow in one call.
/// Returns the token response (access_token, refresh_token, scope, …) and the client.
pub async fn tokens_for(base: &str, email: &str, password: &str, scope: Option<&str>) -> (Value, Client) {
    let client = register(base, "http://127.0.0.1:1/callback").await;
    let pkce = Pkce::new();
    let resource = format!("{base}/mcp");
    let url = authorization_url(base, &client, &pkce, scope, "xyz", &resource);
    let redirect = Browser::new(base).authorize(&url, email, password, Consent::All).await;
    let code = query_param(&redirect, "code").unwrap_or_else(|| panic!("no code in {redirect}"));
    let (status, body, _) = token_request(base, &[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", &client.client_id),
        ("redirect_uri", &client.redirect_uri),
        ("code_verifier", &pkce.verifier),
        ("resource", &resource),
    ])
    .await;
    assert_eq!(status, 200, "token request failed: {body}");
    (body, client)
}
