//! The one place this crate does network I/O: an HTTP GET for the SNS signing
//! certificate and the SNS SubscribeURL. The URL rules (https, an
//! `sns.<region>.amazonaws.com` host) are checked by the caller *before* a
//! fetch, so a test client can serve from loopback without the production
//! rule being weakened.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

/// A tiny HTTP GET interface. Implementations return the body of a 2xx
/// answer, or an error message (which may be logged, so keep secrets out).
#[async_trait::async_trait]
pub trait HttpFetch: Send + Sync {
    async fn get(&self, url: &url::Url) -> Result<Bytes, String>;
}

/// Production [`HttpFetch`]: reqwest over rustls (ring provider, webpki
/// roots), 10 s timeout, at most 64 KiB of body, no redirects.
#[derive(Debug, Clone)]
pub struct ReqwestFetch {
    client: reqwest::Client,
}

impl ReqwestFetch {
    pub const TIMEOUT: Duration = Duration::from_secs(10);
    pub const MAX_BODY: usize = 64 * 1024;

    /// Builds the client. The rustls crypto provider is given explicitly, so
    /// this works whether or not the process installed a default provider.
    pub fn new() -> Result<Self, String> {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS configuration: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Self::TIMEOUT)
            .connect_timeout(Self::TIMEOUT)
            .user_agent(concat!("rebound/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(ReqwestFetch { client })
    }
}

#[async_trait::async_trait]
impl HttpFetch for ReqwestFetch {
    async fn get(&self, url: &url::Url) -> Result<Bytes, String> {
        // The URL may carry an SNS token in its query: log the host only.
        let host = url.host_str().unwrap_or("").to_string();
        let mut resp = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| format!("GET {host}: {}", e.without_url()))?;
        if !resp.status().is_success() {
            return Err(format!("GET {host}: HTTP {}", resp.status()));
        }
        if resp.content_length().is_some_and(|n| n > Self::MAX_BODY as u64) {
            return Err(format!("GET {host}: body larger than {} bytes", Self::MAX_BODY));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("GET {host}: {}", e.without_url()))? {
            if body.len() + chunk.len() > Self::MAX_BODY {
                return Err(format!("GET {host}: body larger than {} bytes", Self::MAX_BODY));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}
