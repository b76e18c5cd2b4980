//! TLS to PostgreSQL, as libpq does it, on rustls. A database URL's `sslmode` and `sslrootcert`
//! (which tokio-postgres does not know) are read here and taken out of the URL before
//! tokio-postgres parses the rest:
//!
//! - `disable`: plain TCP.
//! - `prefer` (the default, as in libpq): TLS when the server offers it, plain otherwise.
//! - `require`: TLS or nothing; the certificate is not checked.
//! - `verify-ca`: TLS, and the server's certificate must chain to `sslrootcert`.
//! - `verify-full`: that, and the certificate must name the host connected to.
//!
//! As in libpq, `prefer` and `require` with an explicit `sslrootcert` check the chain too
//! (like `verify-ca`). `sslrootcert=system` trusts the operating system's roots. Without
//! `sslrootcert`, `verify-ca` and `verify-full` use `~/.postgresql/root.crt`, and refuse to start
//! when it does not exist.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            // libpq's `allow` tries plain first; TLS when offered is the closest safe reading.
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode={other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A database URL with its TLS settings read: the tokio-postgres configuration of the rest, and
/// the connector to use with it.
pub struct Connection {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustls,
    pub mode: SslMode,
}

/// Reads a database URL (`postgres://…?sslmode=…&sslrootcert=…`, or a `key=value` string).
/// The error says what is wrong, without the URL (which may hold a password).
pub fn parse(url: &str) -> Result<Connection, String> {
    let (rest, mode, root) = split_tls_options(url)?;
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e: tokio_postgres::Error| e.to_string())?;
    let mode = mode.unwrap_or(SslMode::Prefer);
    config.ssl_mode(match mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
    });
    let tls = MakeRustls::new(mode, root.as_deref())?;
    Ok(Connection { config, tls, mode })
}

/// Takes `sslmode` and `sslrootcert` out of a URL or a `key=value` string.
fn split_tls_options(url: &str) -> Result<(String, Option<SslMode>, Option<String>), String> {
    let mut mode = None;
    let mut root = None;
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else { return Ok((url.to_string(), None, None)) };
        let mut kept = form_urlencoded::Serializer::new(String::new());
        let mut any = false;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "sslmode" => mode = Some(SslMode::parse(&value)?),
                "sslrootcert" => root = Some(value.into_owned()),
                _ => {
                    kept.append_pair(&key, &value);
                    any = true;
                }
            }
        }
        if any { format!("{base}?{}", kept.finish()) } else { base.to_string() }
    } else {
        // key=value pairs: these two options never need quoting in practice (no spaces).
        let mut kept = Vec::new();
        for token in url.split_whitespace() {
            match token.split_once('=') {
                Some(("sslmode", value)) => mode = Some(SslMode::parse(value.trim_matches('\''))?),
                Some(("sslrootcert", value)) => root = Some(value.trim_matches('\'').to_string()),
                _ => kept.push(token),
            }
        }
        kept.join(" ")
    };
    Ok((rest, mode, root))
}

/// What the server's certificate is checked against.
enum Trust {
    /// Nothing: the connection is encrypted but the server is not authenticated.
    Nothing,
    /// The chain must lead to one of these roots; `hostname` also checks the name.
    Roots { roots: Arc<RootCertStore>, hostname: bool },
}

fn load_roots(root: Option<&str>, mode: SslMode) -> Result<Trust, String> {
    let path = match root {
        Some(path) => Some(PathBuf::from(path)),
        None if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) => {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
            let default = home.join(".postgresql/root.crt");
            if !default.exists() {
                return Err(format!(
                    "sslmode={} needs the certificate of the authority that signed the server's: set sslrootcert=<file> \
                     (or sslrootcert=system), or put it in {}",
                    mode.as_str(),
                    default.display()
                ));
            }
            Some(default)
        }
        None => None,
    };
    let Some(path) = path else { return Ok(Trust::Nothing) };
    let hostname = mode == SslMode::VerifyFull;
    let mut store = RootCertStore::empty();
    if path.as_os_str() == "system" {
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = store.add(cert);
        }
        if store.is_empty() {
            return Err("sslrootcert=system: the operating system has no trusted certificates".into());
        }
    } else {
        let certs = CertificateDer::pem_file_iter(&path)
            .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
        for cert in certs {
            store.add(cert).map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
        }
        if store.is_empty() {
            return Err(format!("sslrootcert {}: no PEM certificate in the file", path.display()));
        }
    }
    Ok(Trust::Roots { roots: Arc::new(store), hostname })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// tokio-postgres's TLS connector, on rustls. Cheap to clone.
#[derive(Clone)]
pub struct MakeRustls {
    config: Arc<ClientConfig>,
}

impl MakeRustls {
    pub fn new(mode: SslMode, root: Option<&str>) -> Result<MakeRustls, String> {
        let provider = provider();
        let trust = if mode == SslMode::Disable { Trust::Nothing } else { load_roots(root, mode)? };
        let verifier: Arc<dyn ServerCertVerifier> = match trust {
            Trust::Nothing => Arc::new(AnyCertificate { provider: provider.clone() }),
            Trust::Roots { roots, hostname } => {
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| format!("sslrootcert: {e}"))?;
                Arc::new(ChainVerifier { webpki, hostname })
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustls { config: Arc::new(config) })
    }
}

/// `require` and `prefer` without a root certificate: encrypted, the server not authenticated
/// (as libpq). The handshake's signatures are still checked.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca` (the chain) and `verify-full` (the chain and the host name).
#[derive(Debug)]
struct ChainVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    hostname: bool,
}

impl ServerCertVerifier for ChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            // webpki checks the name last, so a name error means the chain was good.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.hostname => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, io::Error> {
        // A name that is neither a DNS name nor an address can only be checked by failing; the
        // handshake reports that (under verify-full) as a certificate not valid for the name.
        let name = ServerName::try_from(domain.to_string())
            .unwrap_or_else(|_| ServerName::try_from("invalid.host.name").expect("a valid DNS name"));
        Ok(RustlsConnect { connector: tokio_rustls::TlsConnector::from(self.config.clone()), name })
    }
}

pub struct RustlsConnect {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move { self.connector.connect(self.name, stream).await.map(|s| RustlsStream(Box::new(s))) })
    }
}

pub struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM without channel binding (tokio-postgres's default `channel_binding=prefer`).
        ChannelBinding::none()
    }
}

/// The TLS failure behind a connection error, when there is one, in words: a certificate the
/// settings refuse is a configuration problem the operator must fix, not a passing outage.
pub fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                return Some(tls.to_string());
            }
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_leave_the_url() {
        let (rest, mode, root) =
            split_tls_options("postgres://u:p@db.example:5432/q?sslmode=verify-full&sslrootcert=/x/ca.crt&application_name=a")
                .unwrap();
        assert_eq!(rest, "postgres://u:p@db.example:5432/q?application_name=a");
        assert_eq!(mode, Some(SslMode::VerifyFull));
        assert_eq!(root.as_deref(), Some("/x/ca.crt"));
        let (rest, mode, _) = split_tls_options("postgres://u@h/q?sslmode=require").unwrap();
        assert_eq!((rest.as_str(), mode), ("postgres://u@h/q", Some(SslMode::Require)));
        let (rest, mode, root) = split_tls_options("host=h user=u sslmode=verify-ca sslrootcert=/ca.pem").unwrap();
        assert_eq!((rest.as_str(), mode, root.as_deref()), ("host=h user=u", Some(SslMode::VerifyCa), Some("/ca.pem")));
    }

    #[test]
    fn modes_are_libpq_s() {
        assert!(split_tls_options("postgres://u@h/q?sslmode=verify_full").unwrap_err().contains("verify-full"));
        let c = parse("postgres://u@h/q").unwrap();
        assert_eq!(c.mode, SslMode::Prefer);
        assert_eq!(c.config.get_ssl_mode(), tokio_postgres::config::SslMode::Prefer);
        let c = parse("postgres://u@h/q?sslmode=disable").unwrap();
        assert_eq!(c.config.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
        let e = parse("postgres://u@h/q?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt").err().unwrap();
        assert!(e.contains("/nonexistent/ca.crt"), "{e}");
    }
}
