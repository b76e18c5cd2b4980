//! The OAuth 2.1 authorization server over real HTTP, against the real database: discovery,
//! registration, the authorization pages, the token and revocation endpoints, the resource
//! server's challenges, and every refusal the issue lists, each checked for its status, its
//! error code, and the state it leaves behind.

use quarry_e2e::mcp::Mcp;
use quarry_e2e::oauth::{Browser, Client, Consent, Pkce, authorization_url, forms, query_param, register, token_request, tokens_for};
use quarry_e2e::{Sidecar, account, admin, http};
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:1/callback";

async fn person() -> (i64, String, String) {
    account(Some("retail_analyst"), &["Analytics"]).await
}

/// Runs the browser part of an authorization and returns the redirect back to the client.
async fn authorize(s: &Sidecar, client: &Client, pkce: &Pkce, scope: Option<&str>, email: &str, password: &str, consent: Consent) -> String {
    let url = authorization_url(&s.base_url, client, pkce, scope, "state-123", &s.url("/mcp"));
    Browser::new(&s.base_url).authorize(&url, email, password, consent).await
}

async fn redeem(s: &Sidecar, client: &Client, code: &str, verifier: &str) -> (u16, Value) {
    let (status, body, _) = token_request(&s.base_url, &[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", &client.client_id),
        ("redirect_uri", &client.redirect_uri),
        ("code_verifier", verifier),
    ])
    .await;
    (status, body)
}

async fn refresh(s: &Sidecar, client: &Client, refresh_token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut fields = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", client.client_id.as_str())];
    if let Some(scope) = scope {
        fields.push(("scope", scope));
    }
    let (status, body, _) = token_request(&s.base_url, &fields).await;
    (status, body)
}

/// The status of an authenticated MCP request with this token.
async fn mcp_status(s: &Sidecar, access_token: &str) -> u16 {
    let mut mcp = Mcp::new(&s.url("/mcp"), Some(access_token));
    mcp.request("initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}))
        .await
        .0
}

// Discovery ----------------------------------------------------------------------------------------

#[tokio::test]
async fn discovery_documents_agree() {
    let s = Sidecar::start().await;
    for path in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] {
        let prm: Value = http().get(s.url(path)).header("mcp-protocol-version", "2026-07-28").send().await.unwrap().json().await.unwrap();
        assert_eq!(prm["resource"], s.url("/mcp"), "{path}");
        assert_eq!(prm["authorization_servers"], json!([s.base_url]), "{path}");
        assert_eq!(prm["scopes_supported"], json!(["read", "write", "datasets", "conversations"]));
        assert_eq!(prm["bearer_methods_supported"], json!(["header"]));
    }
    let asm: Value = http().get(s.url("/.well-known/oauth-authorization-server")).send().await.unwrap().json().await.unwrap();
    assert_eq!(asm["issuer"], s.base_url, "issuer byte-identical to authorization_servers[0]");
    assert_eq!(asm["authorization_endpoint"], s.url("/oauth/authorize"));
    assert_eq!(asm["token_endpoint"], s.url("/v1/oauth/token"));
    assert_eq!(asm["registration_endpoint"], s.url("/v1/oauth/register"));
    assert_eq!(asm["revocation_endpoint"], s.url("/v1/oauth/revoke"));
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(asm["response_types_supported"], json!(["code"]));
    assert_eq!(asm["token_endpoint_auth_methods_supported"], json!(["none", "client_secret_post"]));
    assert_eq!(asm["client_id_metadata_document_supported"], true);
    assert_eq!(asm["authorization_response_iss_parameter_supported"], true);
    // The scopes the metadata lists are the extension's.
    let scopes: Vec<String> = admin().await.query_one("SELECT quarry.scopes()", &[]).await.unwrap().get(0);
    assert_eq!(asm["scopes_supported"], json!(scopes));
}

#[tokio::test]
async fn mcp_without_a_valid_token_gets_exactly_one_challenge() {
    let s = Sidecar::start().await;
    let expected = format!(
        "Bearer resource_metadata=\"{}\", scope=\"read write datasets conversations\"",
        s.url("/.well-known/oauth-protected-resource/mcp")
    );
    for request in [http().get(s.url("/mcp")), http().post(s.url("/mcp")).body("{}"), http().delete(s.url("/mcp"))] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let challenges: Vec<_> = response.headers().get_all("www-authenticate").iter().collect();
        assert_eq!(challenges.len(), 1);
        assert_eq!(challenges[0], expected.as_str());
    }
    let response = http().post(s.url("/mcp")).bearer_auth("qat_not-a-real-token").body("{}").send().await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{}\"", s.url("/.well-known/oauth-protected-resource/mcp"))));
}

// Registration -------------------------------------------------------------------------------------

#[tokio::test]
async fn dynamic_client_registration() {
    let s = Sidecar::start().await;
    let post = |body: String, content_type: &'static str| {
        http().post(s.url("/v1/oauth/register")).header("content-type", content_type).body(body).send()
    };
    let response = post(json!({
        "client_name": "My MCP Client", "redirect_uris": ["http://localhost:3000/callback"],
        "scope": "read datasets conversations", "token_endpoint_auth_method": "none", "application_type": "native",
    }).to_string(), "application/json").await.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let client: Value = response.json().await.unwrap();
    assert!(client["client_id"].as_str().unwrap().starts_with("qci_"));
    assert_eq!(client["redirect_uris"], json!(["http://localhost:3000/callback"]));
    assert_eq!(client["grant_types"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(client["response_types"], json!(["code"]));
    assert_eq!(client["scope"], "read datasets conversations");
    assert!(client.get("client_secret").is_none());

    // A confidential client gets a secret, shown once and stored only as a hash.
    let confidential: Value = post(json!({"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "client_secret_post"}).to_string(), "application/json")
        .await.unwrap().json().await.unwrap();
    let secret = confidential["client_secret"].as_str().unwrap();
    let stored: bool = admin().await
        .query_one("SELECT secret_hash = sha256(convert_to($2, 'UTF8')) FROM quarry.oauth_clients WHERE client_id = $1", &[&confidential["client_id"].as_str().unwrap(), &secret])
        .await.unwrap().get(0);
    assert!(stored);

    for (body, content_type, status, error) in [
        (json!({"redirect_uris": ["http://evil.example/cb"]}).to_string(), "application/json", 400, "invalid_redirect_uri"),
        (json!({"redirect_uris": ["javascript:alert(1)"]}).to_string(), "application/json", 400, "invalid_redirect_uri"),
        (json!({"client_name": "x"}).to_string(), "application/json", 400, "invalid_redirect_uri"),
        (json!({"redirect_uris": "https://a.example/cb"}).to_string(), "application/json", 400, "invalid_redirect_uri"),
        (json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}).to_string(), "application/json", 400, "invalid_client_metadata"),
        (json!({"redirect_uris": ["https://a.example/cb"], "scope": "read admin"}).to_string(), "application/json", 400, "invalid_client_metadata"),
        (json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}).to_string(), "application/json", 400, "invalid_client_metadata"),
        (json!({"redirect_uris": ["https://a.example/cb"], "client_name": 42}).to_string(), "application/json", 400, "invalid_client_metadata"),
        ("{not json".to_string(), "application/json", 400, "invalid_client_metadata"),
        ("redirect_uris=https://a.example/cb".to_string(), "application/x-www-form-urlencoded", 400, "invalid_client_metadata"),
        (format!("{{\"redirect_uris\": [\"https://a.example/cb\"], \"client_name\": \"{}\"}}", "x".repeat(70_000)), "application/json", 413, "invalid_request"),
    ] {
        let response = post(body.clone(), content_type).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{}", &body[..body.len().min(100)]);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"], error, "{answer}");
    }
}

// Authorization ------------------------------------------------------------------------------------

#[tokio::test]
async fn the_whole_flow_with_state_iss_and_consent_remembered() {
    let s = Sidecar::start().await;
    let (account_id, email, password) = person().await;
    let client = register(&s.base_url, REDIRECT).await;
    let pkce = Pkce::new();
    let redirect = authorize(&s, &client, &pkce, Some("read datasets"), &email, &password, Consent::All).await;
    assert!(redirect.starts_with(&format!("{REDIRECT}?")), "{redirect}");
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("state-123"));
    assert_eq!(query_param(&redirect, "iss").as_deref(), Some(s.base_url.as_str()));
    let code = query_param(&redirect, "code").unwrap();
    assert!(code.starts_with("qac_"));

    let (status, body, headers) = token_request(&s.base_url, &[
        ("grant_type", "authorization_code"), ("code", &code), ("client_id", &client.client_id),
        ("redirect_uri", REDIRECT), ("code_verifier", &pkce.verifier), ("resource", &s.url("/mcp")),
    ]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read datasets");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["refresh_token"].as_str().unwrap().starts_with("qrt_"));
    assert_eq!(mcp_status(&s, body["access_token"].as_str().unwrap()).await, 200);

    // Only hashes at rest.
    let plain: i64 = admin().await
        .query_one("SELECT count(*) FROM quarry.oauth_tokens WHERE token_hash = convert_to($1, 'UTF8') OR token_hash = convert_to($2, 'UTF8')",
                   &[&body["access_token"].as_str().unwrap(), &body["refresh_token"].as_str().unwrap()])
        .await.unwrap().get(0);
    assert_eq!(plain, 0);
    let consent: Vec<String> = admin().await
        .query_one("SELECT scopes FROM quarry.oauth_consents WHERE account_id = $1 AND client_id = $2", &[&account_id, &client.client_id])
        .await.unwrap().get(0);
    assert_eq!(consent, ["read", "datasets"]);

    // The same browser asking again for the same scopes goes straight back with a code.
    let browser = Browser::new(&s.base_url);
    let url = authorization_url(&s.base_url, &client, &Pkce::new(), Some("read datasets"), "again", &s.url("/mcp"));
    browser.authorize(&url, &email, &password, Consent::All).await;
    let response = browser.get(&url).await;
    assert_eq!(response.status(), 303, "consent is remembered");
    assert!(response.headers()["location"].to_str().unwrap().starts_with(REDIRECT));
}

#[tokio::test]
async fn unticked_scopes_are_not_granted_and_deny_is_access_denied() {
    let s = Sidecar::start().await;
    let (_, email, password) = person().await;
    let client = register(&s.base_url, REDIRECT).await;
    let pkce = Pkce::new();
    let redirect = authorize(&s, &client, &pkce, None, &email, &password, Consent::Only(vec!["read".into(), "conversations".into()])).await;
    let (status, body) = redeem(&s, &client, &query_param(&redirect, "code").unwrap(), &pkce.verifier).await;
    assert_eq!(status, 200);
    assert_eq!(body["scope"], "read conversations");

    let other = register(&s.base_url, REDIRECT).await;
    let redirect = authorize(&s, &other, &Pkce::new(), Some("read"), &email, &password, Consent::Deny).await;
    assert_eq!(query_param(&redirect, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("state-123"));
    assert_eq!(query_param(&redirect, "iss").as_deref(), Some(s.base_url.as_str()));
    assert!(query_param(&redirect, "code").is_none());
}

#[tokio::test]
async fn bad_authorization_requests() {
    let s = Sidecar::start().await;
    let client = register(&s.base_url, REDIRECT).await;
    let pkce = Pkce::new();
    let good = authorization_url(&s.base_url, &client, &pkce, Some("read"), "st", &s.url("/mcp"));
    let with = |from: &str, to: &str| good.replace(from, to);

    // An unknown client or a redirect URI that is not registered: an error page, never a redirect.
    let encoded_redirect = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>();
    for url in [
        with(&client.client_id, "qci_unknownclient"),
        with(&encoded_redirect, &form_urlencoded::byte_serialize(b"https://evil.example/steal").collect::<String>()),
        with(&encoded_redirect, &form_urlencoded::byte_serialize(b"http://127.0.0.1:1/callback/../../evil").collect::<String>()),
        with(&encoded_redirect, &form_urlencoded::byte_serialize(b"http://127.0.0.1:1/callback?next=https://evil.example").collect::<String>()),
        good.replace("response_type=code&", "").replace(&format!("client_id={}", client.client_id), "client_id="),
        format!("{good}&client_id=qci_duplicate"),
    ] {
        let response = http().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{url}");
        assert!(response.headers().get("location").is_none(), "no redirect for {url}");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
    }

    // Everything else goes back to the client as an OAuth error, with state and iss.
    for (url, error) in [
        (good.replace("&code_challenge_method=S256", ""), "invalid_request"),
        (good.replace("code_challenge_method=S256", "code_challenge_method=plain"), "invalid_request"),
        (with(&format!("code_challenge={}", pkce.challenge), ""), "invalid_request"),
        (with(&format!("code_challenge={}", pkce.challenge), "code_challenge=tooshort"), "invalid_request"),
        (with("response_type=code", "response_type=token"), "unsupported_response_type"),
        (with("scope=read", "scope=read+sudo"), "invalid_scope"),
        (good.replace(&form_urlencoded::byte_serialize(s.url("/mcp").as_bytes()).collect::<String>(),
                      &form_urlencoded::byte_serialize(b"https://other.example/mcp").collect::<String>()), "invalid_target"),
    ] {
        let response = http().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 303, "{url}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with(REDIRECT), "{location}");
        assert_eq!(query_param(location, "error").as_deref(), Some(error), "{url} → {location}");
        assert_eq!(query_param(location, "state").as_deref(), Some("st"));
        assert_eq!(query_param(location, "iss").as_deref(), Some(s.base_url.as_str()));
    }
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_pages_refuse_framing() {
    let s = Sidecar::start().await;
    let (_, email, password) = person().await;
    let client = register(&s.base_url, REDIRECT).await;
    let url = authorization_url(&s.base_url, &client, &Pkce::new(), Some("read"), "st", &s.url("/mcp"));
    let browser = Browser::new(&s.base_url);
    let page = browser.get(&url).await;
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    let mut form = forms(&html).remove(0);
    form.set("email", &email).set("password", &password);

    let mut forged = form.clone();
    forged.set("csrf", "forged");
    assert_eq!(browser.post_form(&forged).await.status(), 403);
    let mut missing = form.clone();
    missing.remove("csrf");
    assert_eq!(browser.post_form(&missing).await.status(), 403);
    // Another browser (no form cookie) cannot replay this one's form either.
    assert_eq!(Browser::new(&s.base_url).post_form(&form).await.status(), 403);

    // Signed in, the consent form needs the session's token.
    let signed_in = browser.post_form(&form).await;
    assert_eq!(signed_in.status(), 303);
    let consent_html = browser.get(signed_in.headers()["location"].to_str().unwrap()).await.text().await.unwrap();
    let mut consent = forms(&consent_html).remove(0);
    consent.set("step", "approve");
    let mut forged = consent.clone();
    forged.set("csrf", "forged");
    let refused = browser.post_form(&forged).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("location").is_none());
    let mut widened = consent.clone();
    widened.fields.push(("grant".into(), "write".into()));
    assert_eq!(browser.post_form(&widened).await.status(), 400, "a permission that was not asked for");
    let approved = browser.post_form(&consent).await;
    assert_eq!(approved.status(), 303);
}

#[tokio::test]
async fn failed_sign_ins_are_throttled() {
    let s = Sidecar::start().await;
    let (_, email, password) = person().await;
    let browser = Browser::new(&s.base_url);
    let html = browser.get("/signin").await.text().await.unwrap();
    let form = forms(&html).remove(0);
    for _ in 0..5 {
        let mut wrong = form.clone();
        wrong.set("email", &email).set("password", "not the password");
        let response = browser.post_form(&wrong).await;
        assert_eq!(response.status(), 401);
        assert!(response.text().await.unwrap().contains("Wrong email or password"));
    }
    let mut right = form.clone();
    right.set("email", &email).set("password", &password);
    let response = browser.post_form(&right).await;
    assert_eq!(response.status(), 429, "locked, even with the right password");
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "Retry-After: {retry_after}");
    assert!(response.text().await.unwrap().contains("Too many attempts"));
    let locked: bool = admin().await
        .query_one("SELECT locked_until > now() FROM quarry.sign_in_throttle WHERE key = 'email:' || $1", &[&email])
        .await.unwrap().get(0);
    assert!(locked, "the counter lives in PostgreSQL");
}

#[tokio::test]
async fn client_registration_is_rate_limited_per_address() {
    let s = Sidecar::start_with(&[("QUARRY_REGISTRATIONS_PER_HOUR", "3"), ("QUARRY_TRUST_FORWARDED_FOR", "true")]).await;
    let mut octets = [0u8; 2];
    getrandom::fill(&mut octets).unwrap();
    let address = format!("198.18.{}.{}", octets[0], octets[1]);
    let register = |from: String| {
        let url = s.url("/v1/oauth/register");
        async move {
            reqwest::Client::new()
                .post(url)
                .header("x-forwarded-for", from)
                .json(&json!({ "client_name": "busy", "redirect_uris": ["http://127.0.0.1:9/cb"] }))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(register(address.clone()).await.status(), 201);
    }
    let refused = register(address.clone()).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "Retry-After: {retry_after}");
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    // Other addresses are not affected, and the counter lives in PostgreSQL.
    assert_eq!(register(format!("198.19.{}.{}", octets[0], octets[1])).await.status(), 201);
    let counted: i32 = admin()
        .await
        .query_one("SELECT failures FROM quarry.sign_in_throttle WHERE key = 'register:' || $1", &[&address])
        .await
        .unwrap()
        .get(0);
    assert_eq!(counted, 3, "the refused attempt is not counted");
}

#[tokio::test]
async fn sign_up_can_be_switched_off() {
    let s = Sidecar::start().await;
    let browser = Browser::new(&s.base_url);
    let html = browser.get("/signin").await.text().await.unwrap();
    let mut form = forms(&html).into_iter().find(|f| f.get("step") == Some("signup")).expect("a sign-up form");
    let email = format!("new-{}@quarry.test", std::process::id());
    form.set("email", &email).set("password", "a long new password").set("display_name", "New Person");
    let response = browser.post_form(&form).await;
    assert_eq!(response.status(), 303);
    let settings = browser.get("/settings").await.text().await.unwrap();
    assert!(settings.contains(&email));

    let closed = Sidecar::start_with(&[("QUARRY_SIGNUP", "false")]).await;
    let browser = Browser::new(&closed.base_url);
    let html = browser.get("/signin").await.text().await.unwrap();
    assert!(!html.contains("value=\"signup\""), "no sign-up form");
    let mut form = forms(&html).remove(0);
    form.set("step", "signup").set("email", "nobody-new@quarry.test").set("password", "a long new password");
    assert_eq!(browser.post_form(&form).await.status(), 403);
    let created: i64 = admin().await.query_one("SELECT count(*) FROM quarry.accounts WHERE email = 'nobody-new@quarry.test'", &[]).await.unwrap().get(0);
    assert_eq!(created, 0);
}

// Tokens ------------------------------------------------------------------------------------------

#[tokio::test]
async fn codes_are_single_use_and_bound() {
    let s = Sidecar::start().await;
    let (_, email, password) = person().await;
    let client = register(&s.base_url, REDIRECT).await;
    let pkce = Pkce::new();
    let code = query_param(&authorize(&s, &client, &pkce, Some("read"), &email, &password, Consent::All).await, "code").unwrap();

    // Mistakes do not use the code up.
    let (status, body) = redeem(&s, &client, &code, &Pkce::new().verifier).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "wrong PKCE verifier");
    let (status, body, _) = token_request(&s.base_url, &[
        ("grant_type", "authorization_code"), ("code", &code), ("client_id", &client.client_id),
        ("redirect_uri", "http://127.0.0.1:1/other"), ("code_verifier", &pkce.verifier),
    ]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "redirect_uri mismatch");
    let (status, body, _) = token_request(&s.base_url, &[
        ("grant_type", "authorization_code"), ("code", &code), ("client_id", &client.client_id),
        ("redirect_uri", REDIRECT), ("code_verifier", &pkce.verifier), ("resource", "https://other.example/mcp"),
    ]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")), "wrong resource");
    let intruder = register(&s.base_url, REDIRECT).await;
    let (status, body) = redeem(&s, &intruder, &code, &pkce.verifier).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "another client");

    let (status, first) = redeem(&s, &client, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(mcp_status(&s, access).await, 200);

    // Replayed: refused, and what it issued is revoked at once.
    let (status, body) = redeem(&s, &client, &code, &pkce.verifier).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(mcp_status(&s, access).await, 401);
    let (status, body) = refresh(&s, &client, first["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn expired_codes_and_tokens_are_refused() {
    let s = Sidecar::start().await;
    let (account_id, email, password) = person().await;
    let client = register(&s.base_url, REDIRECT).await;
    let pkce = Pkce::new();
    let code = query_param(&authorize(&s, &client, &pkce, Some("read"), &email, &password, Consent::All).await, "code").unwrap();
    admin().await.execute("UPDATE quarry.oauth_codes SET expires_at = now() - interval '1 second' WHERE account_id = $1", &[&account_id]).await.unwrap();
    let (status, body) = redeem(&s, &client, &code, &pkce.verifier).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert!(body["error_description"].as_str().unwrap().contains("expired"));

    let (tokens, _) = tokens_for(&s.base_url, &email, &password, Some("read")).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(mcp_status(&s, access).await, 200);
    admin().await.execute(
        "UPDATE quarry.oauth_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
        &[&access],
    ).await.unwrap();
    assert_eq!(mcp_status(&s, access).await, 401);
}

#[tokio::test]
async fn tokens_are_bound_to_this_server() {
    let a = Sidecar::start().await;
    let b = Sidecar::start().await;
    let (_, email, password) = person().await;
    let (tokens, _) = tokens_for(&a.base_url, &email, &password, Some("read")).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(mcp_status(&a, access).await, 200);
    assert_eq!(mcp_status(&b, access).await, 401, "another resource refuses it, though the database is the same");
}

#[tokio::test]
async fn refresh_rotates_and_never_widens() {
    let s = Sidecar::start().await;
    let (_, email, password) = person().await;
    let (tokens, client) = tokens_for(&s.base_url, &email, &password, Some("read datasets")).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let (status, next) = refresh(&s, &client, first, None).await;
    assert_eq!(status, 200, "{next}");
    assert_ne!(next["refresh_token"], first, "rotated");
    assert_eq!(next["scope"], "read datasets");
    assert!(next["expires_in"].as_i64().unwrap() > 0);
    assert_eq!(mcp_status(&s, next["access_token"].as_str().unwrap()).await, 200);

    let second = next["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&s, &client, second, Some("read datasets write")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
    let (status, narrowed) = refresh(&s, &client, second, Some("read")).await;
    assert_eq!(status, 200, "{narrowed}");
    assert_eq!(narrowed["scope"], "read");
    // JSON bodies work as well as forms.
    let response = http().post(s.url("/v1/oauth/token"))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": narrowed["refresh_token"], "client_id": client.client_id}))
        .send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn concurrent_refreshes_within_the_grace_both_succeed() {
    let s = Sidecar::start().await;
    let (_, email, password) = person().await;
    let (tokens, client) = tokens_for(&s.base_url, &email, &password, Some("read")).await;
    let token = tokens["refresh_token"].as_str().unwrap();
    let (one, two) = tokio::join!(refresh(&s, &client, token, None), refresh(&s, &client, token, None));
    assert_eq!(one.0, 200, "{}", one.1);
    assert_eq!(two.0, 200, "{}", two.1);
    assert_eq!(one.1, two.1, "the same successor pair");
    assert_eq!(mcp_status(&s, one.1["access_token"].as_str().unwrap()).await, 200);
}

#[tokio::test]
async fn refresh_reuse_after_the_grace_revokes_the_family() {
    let s = Sidecar::start_with(&[("QUARRY_REFRESH_GRACE", "0")]).await;
    let (_, email, password) = person().await;
    let (tokens, client) = tokens_for(&s.base_url, &email, &password, Some("read")).await;
    let stolen = tokens["refresh_token"].as_str().unwrap();
    let (status, next) = refresh(&s, &client, stolen, None).await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, body) = refresh(&s, &client, stolen, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    // The legitimate holder's tokens end too: the family is revoked.
    assert_eq!(mcp_status(&s, next["access_token"].as_str().unwrap()).await, 401);
    let (status, _) = refresh(&s, &client, next["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 400);
    let live: i64 = admin().await
        .query_one("SELECT count(*) FROM quarry.oauth_tokens WHERE family_id = (SELECT family_id FROM quarry.oauth_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))) AND revoked_at IS NULL", &[&stolen])
        .await.unwrap().get(0);
    assert_eq!(live, 0);
}

#[tokio::test]
async fn token_endpoint_refuses_malformed_requests_cleanly() {
    let s = Sidecar::start().await;
    let post = |body: String, content_type: &'static str| http().post(s.url("/v1/oauth/token")).header("content-type", content_type).body(body).send();
    for (body, content_type, status, error) in [
        ("grant_type=password&username=a&password=b".to_string(), "application/x-www-form-urlencoded", 400, "unsupported_grant_type"),
        ("code=x".to_string(), "application/x-www-form-urlencoded", 400, "invalid_request"),
        ("grant_type=refresh_token&grant_type=authorization_code".to_string(), "application/x-www-form-urlencoded", 400, "invalid_request"),
        ("{\"grant_type\": 5}".to_string(), "application/json", 400, "invalid_request"),
        ("{broken".to_string(), "application/json", 400, "invalid_request"),
        ("<xml/>".to_string(), "text/xml", 400, "invalid_request"),
        (format!("grant_type=authorization_code&code={}", "x".repeat(100_000)), "application/x-www-form-urlencoded", 413, "invalid_request"),
        ("grant_type=authorization_code&code=qac_x&client_id=qci_nobody&code_verifier=x".to_string(), "application/x-www-form-urlencoded", 401, "invalid_client"),
    ] {
        let response = post(body.clone(), content_type).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{}", &body[..body.len().min(80)]);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"], error);
    }
}

#[tokio::test]
async fn revocation() {
    let s = Sidecar::start().await;
    let (_, email, password) = person().await;
    let (tokens, client) = tokens_for(&s.base_url, &email, &password, Some("read")).await;
    let revoke = |token: String, client_id: String| http().post(s.url("/v1/oauth/revoke")).form(&[("token", token), ("client_id", client_id)]).send();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let other = register(&s.base_url, REDIRECT).await;
    let response = revoke(access.clone(), other.client_id.clone()).await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "unauthorized_client");
    assert_eq!(mcp_status(&s, &access).await, 200, "another client cannot revoke it");

    assert_eq!(revoke("qat_unknown".into(), client.client_id.clone()).await.unwrap().status(), 200);
    assert_eq!(revoke(access.clone(), client.client_id.clone()).await.unwrap().status(), 200);
    assert_eq!(mcp_status(&s, &access).await, 401, "revoked at once");
    // A refresh token takes its family with it.
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(revoke(refresh_token.clone(), client.client_id.clone()).await.unwrap().status(), 200);
    let (status, _) = refresh(&s, &client, &refresh_token, None).await;
    assert_eq!(status, 400);
}

// Settings ------------------------------------------------------------------------------------------

#[tokio::test]
async fn settings_list_and_revoke_connected_apps() {
    let s = Sidecar::start().await;
    let (_, email, password) = person().await;
    let (tokens, client) = tokens_for(&s.base_url, &email, &password, Some("read datasets")).await;
    let access = tokens["access_token"].as_str().unwrap();

    let browser = Browser::new(&s.base_url);
    let page = browser.get("/settings").await;
    assert_eq!(page.status(), 303, "not signed in: off to sign in");
    let html = browser.get("/signin").await.text().await.unwrap();
    let mut form = forms(&html).remove(0);
    form.set("email", &email).set("password", &password);
    assert_eq!(browser.post_form(&form).await.status(), 303);
    let settings = browser.get("/settings").await;
    assert_eq!(settings.headers()["x-frame-options"], "DENY");
    let html = settings.text().await.unwrap();
    assert!(html.contains("e2e test client") && html.contains(">read<") && html.contains(">datasets<"), "{html}");

    let revoke = forms(&html).into_iter().find(|f| f.get("client_id") == Some(client.client_id.as_str())).expect("a revoke form");
    let mut forged = revoke.clone();
    forged.set("csrf", "nope");
    assert_eq!(browser.post_form(&forged).await.status(), 403);
    assert_eq!(mcp_status(&s, access).await, 200);
    let done = browser.post_form(&revoke).await;
    assert_eq!(done.status(), 303);
    assert_eq!(mcp_status(&s, access).await, 401, "the app's tokens stopped at once");
    let html = browser.get("/settings").await.text().await.unwrap();
    assert!(html.contains("No app is connected"), "{html}");

    // Sign out ends the session.
    let signout = forms(&html).into_iter().find(|f| f.action.ends_with("/signout")).unwrap();
    assert_eq!(browser.post_form(&signout).await.status(), 303);
    assert_eq!(browser.get("/settings").await.status(), 303);
}

#[tokio::test]
async fn password_change_needs_the_current_password() {
    let s = Sidecar::start().await;
    let (_, email, password) = person().await;
    let browser = Browser::new(&s.base_url);
    let html = browser.get("/signin").await.text().await.unwrap();
    let mut form = forms(&html).remove(0);
    form.set("email", &email).set("password", &password);
    browser.post_form(&form).await;
    let html = browser.get("/settings").await.text().await.unwrap();
    let change = forms(&html).into_iter().find(|f| f.action.ends_with("/settings/password")).unwrap();
    let mut wrong = change.clone();
    wrong.set("current_password", "guess").set("new_password", "brand new password").set("confirm_password", "brand new password");
    let response = browser.post_form(&wrong).await;
    assert!(response.headers()["location"].to_str().unwrap().ends_with("error=password_wrong"));
    let mut right = change.clone();
    right.set("current_password", &password).set("new_password", "brand new password").set("confirm_password", "brand new password");
    let response = browser.post_form(&right).await;
    assert!(response.headers()["location"].to_str().unwrap().ends_with("notice=password"));
    let verified: Option<i64> = admin().await.query_one("SELECT quarry.verify_password($1, 'brand new password')", &[&email]).await.unwrap().get(0);
    assert!(verified.is_some());
}

// Client ID Metadata Documents ----------------------------------------------------------------------

/// Serves one JSON document over plain HTTP on a local port (the test's stand-in for a client's
/// https metadata URL).
async fn serve_document(document: impl Fn(&str) -> Value + Send + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/client.json", listener.local_addr().unwrap());
    let own = url.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let body = document(&own).to_string();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let response = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn client_id_metadata_documents() {
    let s = Sidecar::start_with(&[("QUARRY_CLIENT_METADATA_ALLOW_PRIVATE", "true")]).await;
    let (_, email, password) = person().await;
    let url = serve_document(|me| json!({
        "client_id": me, "client_name": "Metadata Client", "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
    })).await;
    let client = Client { client_id: url.clone(), client_secret: None, redirect_uri: REDIRECT.into() };
    let pkce = Pkce::new();
    let redirect = authorize(&s, &client, &pkce, Some("read"), &email, &password, Consent::All).await;
    let (status, body) = redeem(&s, &client, &query_param(&redirect, "code").unwrap(), &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    let cached: String = admin().await.query_one("SELECT kind FROM quarry.oauth_clients WHERE client_id = $1", &[&url]).await.unwrap().get(0);
    assert_eq!(cached, "metadata_document");

    // A document naming another client_id is refused.
    let liar = serve_document(|_| json!({"client_id": "https://someone.else/client.json", "redirect_uris": [REDIRECT]})).await;
    let lying = Client { client_id: liar, client_secret: None, redirect_uri: REDIRECT.into() };
    let response = http().get(authorization_url(&s.base_url, &lying, &Pkce::new(), None, "st", &s.url("/mcp"))).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn client_metadata_is_never_fetched_from_private_addresses() {
    let s = Sidecar::start().await;
    let url = serve_document(|me| json!({"client_id": me, "redirect_uris": [REDIRECT]})).await;
    let https_private = url.replace("http://", "https://");
    for client_id in [https_private.as_str(), "https://localhost/client.json", "https://169.254.169.254/latest/meta-data", "https://10.0.0.1/c.json"] {
        let client = Client { client_id: client_id.into(), client_secret: None, redirect_uri: REDIRECT.into() };
        let response = http().get(authorization_url(&s.base_url, &client, &Pkce::new(), None, "st", &s.url("/mcp"))).send().await.unwrap();
        assert_eq!(response.status(), 400, "{client_id}");
        let page = response.text().await.unwrap();
        assert!(page.contains("public address") || page.contains("could not"), "{client_id}: {page}");
    }
    // Plain http is refused outright.
    let plain = Client { client_id: url, client_secret: None, redirect_uri: REDIRECT.into() };
    let response = http().get(authorization_url(&s.base_url, &plain, &Pkce::new(), None, "st", &s.url("/mcp"))).send().await.unwrap();
    assert_eq!(response.status(), 400);
}
