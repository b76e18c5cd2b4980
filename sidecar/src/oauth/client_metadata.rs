//! Client ID Metadata Documents: a client whose `client_id` is an https URL publishes its
//! registration there. We fetch it with short timeouts, a size limit, no redirects and no proxy,
//! and only ever connect to public addresses: the resolver drops private, loopback, link-local
//! and other special addresses, so neither the URL nor its DNS can point us inside the network.
//! What we fetched is cached in PostgreSQL (`quarry.cache_client_metadata`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use url::{Host, Url};

use crate::db::oauth::ClientRecord;
use crate::db::{Db, DbError};

/// Largest metadata document accepted.
const MAX_DOCUMENT: usize = 64 * 1024;

#[derive(Clone)]
pub struct MetadataFetcher {
    http: reqwest::Client,
    allow_private: bool,
}

impl MetadataFetcher {
    pub fn new(allow_private: bool) -> MetadataFetcher {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .user_agent(concat!("Quarry/", env!("CARGO_PKG_VERSION"), " (client metadata)"))
            .dns_resolver(Arc::new(PublicResolver { allow_private }))
            .build()
            .expect("an HTTP client with these settings");
        MetadataFetcher { http, allow_private }
    }

    /// Fetches and parses the document at a client id URL, or says why not.
    pub async fn fetch(&self, client_id: &str) -> Result<Value, String> {
        let url = check_client_id_url(client_id, self.allow_private)?;
        let mut response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| describe(&e))?;
        if !response.status().is_success() {
            return Err(format!("it answered HTTP {}", response.status().as_u16()));
        }
        if response.content_length().is_some_and(|n| n as usize > MAX_DOCUMENT) {
            return Err("the document is larger than 64 kB".into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT {
                return Err("the document is larger than 64 kB".into());
            }
        }
        serde_json::from_slice(&body).map_err(|e| format!("the document is not JSON: {e}"))
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "it did not answer in time".into()
    } else if e.is_connect() {
        // Includes our resolver's refusal of private addresses.
        let mut source: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = source {
            if s.to_string().contains("not a public address") {
                return "its host does not resolve to a public address".into();
            }
            source = s.source();
        }
        "we could not connect to it".into()
    } else {
        "we could not fetch it".into()
    }
}

/// A client id URL must be https, with a host and a path, and no fragment, credentials or dot
/// segments. (With `allow_private`, for tests, http is accepted too.)
pub fn check_client_id_url(client_id: &str, allow_private: bool) -> Result<Url, String> {
    let url = Url::parse(client_id).map_err(|_| "it is not a URL".to_string())?;
    let scheme_ok = url.scheme() == "https" || (allow_private && url.scheme() == "http");
    if !scheme_ok {
        return Err("a client id URL must use https".into());
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("a client id URL has no fragment and no credentials".into());
    }
    let raw_path = client_id.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
    let raw_path = raw_path.find('/').map(|i| &raw_path[i..]).unwrap_or_default();
    if url.path() == "/" || raw_path.split(['/', '?']).any(|seg| seg == "." || seg == "..") {
        return Err("a client id URL needs a path without . or .. segments".into());
    }
    match url.host() {
        None => Err("a client id URL needs a host".into()),
        Some(Host::Ipv4(ip)) if !allow_private && !is_public(IpAddr::V4(ip)) => Err("its host is not a public address".into()),
        Some(Host::Ipv6(ip)) if !allow_private && !is_public(IpAddr::V6(ip)) => Err("its host is not a public address".into()),
        Some(_) => Ok(url),
    }
}

/// Whether an address is on the public Internet: not private, loopback, link-local, carrier-grade
/// NAT, documentation, benchmarking, multicast, broadcast, unspecified or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link local fe80::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

/// A resolver that only ever hands out public addresses.
struct PublicResolver {
    allow_private: bool,
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| allow_private || is_public(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("{host} is not a public address").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Makes sure a metadata-document client is in the database and fresh: uses the cached copy
/// while it is younger than `ttl` (`QUARRY_CLIENT_METADATA_TTL`), fetches it again otherwise.
pub async fn ensure_client(db: &Db, fetcher: &MetadataFetcher, ttl: Duration, client_id: &str) -> Result<(), String> {
    let cached = db.client(client_id).await.map_err(|_| "the database is unavailable right now".to_string())?;
    let fresh = |c: &ClientRecord| {
        c.kind.as_deref() == Some("metadata_document") && c.age_seconds.unwrap_or(i64::MAX) < ttl.as_secs() as i64
    };
    if cached.as_ref().is_some_and(fresh) {
        return Ok(());
    }
    let document = fetcher.fetch(client_id).await?;
    db.cache_client_metadata(client_id, &document).await.map_err(|e| match e {
        DbError::Unavailable => "the database is unavailable".to_string(),
        refused => refused.to_string(),
    })?;
    tracing::info!(client_id, "client metadata document fetched");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses_are_not_public() {
        for ip in ["10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
                   "255.255.255.255", "224.0.0.1", "198.18.0.1", "192.0.2.1", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1",
                   "2001:db8::1", "::"] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn client_id_urls() {
        assert!(check_client_id_url("https://app.example.com/oauth/client.json", false).is_ok());
        for bad in ["http://app.example.com/c.json", "https://app.example.com", "https://app.example.com/",
                    "https://app.example.com/a/../b", "https://u:p@app.example.com/c", "https://app.example.com/c#f",
                    "https://10.0.0.1/c.json", "https://[::1]/c.json", "not a url"] {
            assert!(check_client_id_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_client_id_url("http://127.0.0.1:9999/client.json", true).is_ok());
    }
}
