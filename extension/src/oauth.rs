//! What the OAuth functions need from Rust: the rules for redirect URIs (RFC 8252 for native
//! apps, OAuth 2.1 exact matching) and tokens derived with HMAC-SHA256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use pgrx::prelude::*;
use sha2::Sha256;
use url::{Host, Url};

use crate::errors::raise;

/// Schemes that must never receive an authorization code.
const FORBIDDEN_SCHEMES: &[&str] =
    &["javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss", "mailto", "tel", "view-source"];

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Why a redirect URI is unacceptable, or None. Accepted: https URLs; http URLs on a loopback
/// host (127.0.0.1, [::1], localhost: RFC 8252 §7.3); and private-use schemes of native apps
/// (RFC 8252 §7.1, e.g. `cursor://…` or `com.example.app:/cb`). Never a fragment, credentials,
/// or a scheme that runs or reads something locally.
pub fn redirect_uri_problem(uri: &str) -> Option<String> {
    if uri.len() > 2000 {
        return Some("is longer than 2000 characters".into());
    }
    let url = match Url::parse(uri) {
        Ok(url) => url,
        Err(e) => return Some(format!("is not an absolute URI ({e})")),
    };
    if url.fragment().is_some() {
        return Some("has a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some("has credentials".into());
    }
    match url.scheme() {
        "https" if url.host().is_some() => None,
        "https" => Some("has no host".into()),
        "http" if is_loopback(&url) => None,
        "http" => Some("uses http on a host that is not loopback; use https".into()),
        scheme if FORBIDDEN_SCHEMES.contains(&scheme) => Some(format!("uses the forbidden scheme {scheme}:")),
        _ => None,
    }
}

/// Why a redirect URI is unacceptable, or NULL when it is fine (see `redirect_uri_problem`).
#[pg_extern(name = "_redirect_uri_problem", immutable, parallel_safe)]
pub fn redirect_uri_problem_sql(uri: &str) -> Option<String> {
    redirect_uri_problem(uri)
}

/// Whether a presented redirect URI matches a registered one: exactly, character for character,
/// except that a loopback http redirect may use any port (RFC 8252 §7.3).
#[pg_extern(name = "_redirect_uri_matches", immutable, parallel_safe)]
pub fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(r), Ok(p)) = (Url::parse(registered), Url::parse(presented)) else {
        return false;
    };
    r.scheme() == "http"
        && p.scheme() == "http"
        && is_loopback(&r)
        && r.host() == p.host()
        && r.path() == p.path()
        && r.query() == p.query()
        && p.fragment().is_none()
        && p.username().is_empty()
        && p.password().is_none()
}

/// HMAC-SHA256 of `message` under `key`, base64url without padding: a value anyone holding
/// `message` can have recomputed by the extension, and nobody can predict without `key`.
#[pg_extern(name = "_hmac_token", immutable, parallel_safe)]
pub fn hmac_token(key: &[u8], message: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("hmac key: {e}"), None));
    mac.update(message.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn redirect_rules() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://127.0.0.1:33418/callback",
            "http://localhost:3000/callback",
            "http://[::1]/cb",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(redirect_uri_problem(ok), None, "{ok}");
        }
        for bad in [
            "http://evil.example/cb",
            "https://example.com/cb#frag",
            "https://user:pw@example.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "/relative/path",
            "not a uri",
        ] {
            assert!(redirect_uri_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn loopback_ports_may_differ_and_nothing_else() {
        assert!(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:43123/cb"));
        assert!(redirect_uri_matches("http://localhost:3000/cb", "http://localhost:3001/cb"));
        assert!(!redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:43123/cb2"));
        assert!(!redirect_uri_matches("http://127.0.0.1/cb", "http://localhost/cb"));
        assert!(!redirect_uri_matches("https://app.example/cb", "https://app.example/cb/"));
        assert!(!redirect_uri_matches("https://app.example/cb", "https://app.example:8443/cb"));
        assert!(!redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1/cb?x=1"));
    }
}
