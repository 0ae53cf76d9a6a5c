//! Connections: TCP with a connect timeout, TLS with rustls (ring provider),
//! and the per-step timeouts every protocol step runs under.

use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::{CryptoProvider, ring, verify_tls12_signature, verify_tls13_signature};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{MailboxError, Result};

/// A byte stream a protocol client runs over: plain TCP or TLS.
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> AsyncStream for T {}

pub type BoxStream = Box<dyn AsyncStream>;

/// How long each step may take before the scan gives up on the server.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP connect and TLS handshake.
    pub connect: Duration,
    /// Greeting and authentication.
    pub login: Duration,
    /// Every read of a response (a line, or one message of a fetch).
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(15),
            login: Duration::from_secs(30),
            read: Duration::from_secs(60),
        }
    }
}

/// Runs `fut` with a deadline; `what` names the step in the error.
pub(crate) async fn timed<T>(
    limit: Duration,
    what: impl FnOnce() -> String,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(MailboxError::Timeout { what: what(), secs: limit.as_secs().max(1) }),
    }
}

pub(crate) async fn connect_tcp(host: &str, port: u16, t: &Timeouts) -> Result<TcpStream> {
    let addr = format!("{host}:{port}");
    let stream = timed(t.connect, || format!("connecting to {addr}"), async {
        TcpStream::connect((host, port))
            .await
            .map_err(|e| MailboxError::Connect { addr: addr.clone(), source: e })
    })
    .await?;
    // Commands are small and answered one by one: do not wait to fill a segment.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// TLS over `stream` (implicit TLS, or after STLS / STARTTLS).
pub(crate) async fn tls<S>(
    stream: S,
    host: &str,
    port: u16,
    skip_verify: bool,
    t: &Timeouts,
) -> Result<tokio_rustls::client::TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let addr = format!("{host}:{port}");
    let name = ServerName::try_from(host.to_string()).map_err(|e| MailboxError::Tls {
        addr: addr.clone(),
        message: format!("invalid server name {host:?}: {e}"),
    })?;
    let connector = TlsConnector::from(client_config(skip_verify));
    timed(t.connect, || format!("TLS handshake with {addr}"), async {
        connector.connect(name, stream).await.map_err(|e| {
            let mut message = e.to_string();
            if message.contains("invalid peer certificate") {
                message.push_str(
                    " (the server's certificate does not verify; for a self-signed certificate set tls_skip_verify)",
                );
            }
            MailboxError::Tls { addr: addr.clone(), message }
        })
    })
    .await
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(ring::default_provider())).clone()
}

/// One client configuration per mode, built once: building parses the
/// root store.
fn client_config(skip_verify: bool) -> Arc<ClientConfig> {
    static VERIFYING: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    static SKIPPING: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let cell = if skip_verify { &SKIPPING } else { &VERIFYING };
    cell.get_or_init(|| {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions");
        let config = if skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
                .with_no_client_auth()
        } else {
            let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        Arc::new(config)
    })
    .clone()
}

/// `tls_skip_verify`: accepts any certificate chain and name (the operator
/// asked for it, e.g. for a self-signed certificate), but still checks the
/// handshake signatures, so the peer must hold the certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, tokio_rustls::rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
