//! Every URL this server publishes, derived from one public URL so that each is spelled exactly
//! one way: the OAuth issuer must be byte-identical wherever it appears, and the MCP resource is
//! what tokens are bound to.

use url::Url;

#[derive(Clone, Debug)]
pub struct PublicUrls {
    /// The public URL without a trailing slash, e.g. `https://quarry.example.com` or
    /// `https://example.com/quarry`. This is the OAuth issuer.
    pub issuer: String,
    /// The canonical MCP URL (`<issuer>/mcp`): the protected resource, and the audience of tokens.
    pub resource: String,
    /// The SQLBot-compatible front's MCP URL (`<issuer>/sqlbot/mcp`): the audience of the tokens
    /// its `mcp_start` issues, so that they open nothing else (and `/mcp`'s tokens do not open it).
    pub sqlbot_resource: String,
    /// Where the resource's metadata lives (RFC 9728 §3.1: the well-known path goes between the
    /// host and the resource's path).
    pub resource_metadata: String,
    /// Where the authorization server's metadata lives (RFC 8414 §3.1, likewise).
    pub authorization_server_metadata: String,
    /// Whether the public URL is https (cookies are then `Secure`).
    pub https: bool,
    /// `host[:port]` as clients send it in the Host header.
    pub authority: String,
    /// The scheme, host and port, e.g. `https://quarry.example.com`.
    pub origin: String,
}

impl PublicUrls {
    pub fn new(public: &Url) -> PublicUrls {
        let issuer = public.as_str().trim_end_matches('/').to_string();
        let origin = public.origin().ascii_serialization();
        let path = public.path().trim_end_matches('/');
        let authority = match public.port() {
            Some(port) => format!("{}:{port}", public.host_str().unwrap_or_default()),
            None => public.host_str().unwrap_or_default().to_string(),
        };
        PublicUrls {
            resource: format!("{issuer}/mcp"),
            sqlbot_resource: format!("{issuer}/sqlbot/mcp"),
            resource_metadata: format!("{origin}/.well-known/oauth-protected-resource{path}/mcp"),
            authorization_server_metadata: format!("{origin}/.well-known/oauth-authorization-server{path}"),
            https: public.scheme() == "https",
            authority,
            origin,
            issuer,
        }
    }

    /// An endpoint of this server, e.g. `endpoint("/v1/oauth/token")`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_deployment() {
        let u = PublicUrls::new(&Url::parse("http://127.0.0.1:8080").unwrap());
        assert_eq!(u.issuer, "http://127.0.0.1:8080");
        assert_eq!(u.resource, "http://127.0.0.1:8080/mcp");
        assert_eq!(u.resource_metadata, "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp");
        assert_eq!(u.authorization_server_metadata, "http://127.0.0.1:8080/.well-known/oauth-authorization-server");
        assert_eq!(u.authority, "127.0.0.1:8080");
        assert!(!u.https);
    }

    #[test]
    fn deployment_under_a_path() {
        let u = PublicUrls::new(&Url::parse("https://example.com/quarry/").unwrap());
        assert_eq!(u.issuer, "https://example.com/quarry");
        assert_eq!(u.resource, "https://example.com/quarry/mcp");
        assert_eq!(u.sqlbot_resource, "https://example.com/quarry/sqlbot/mcp");
        assert_eq!(u.resource_metadata, "https://example.com/.well-known/oauth-protected-resource/quarry/mcp");
        assert_eq!(u.authorization_server_metadata, "https://example.com/.well-known/oauth-authorization-server/quarry");
        assert_eq!(u.endpoint("/v1/oauth/token"), "https://example.com/quarry/v1/oauth/token");
        assert_eq!(u.authority, "example.com");
        assert!(u.https);
    }
}
