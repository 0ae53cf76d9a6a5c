//! Connections: TCP with a connect timeout, TLS with rustls (ring provider),
//! the per-step timeouts every protocol step runs under, and the bounds on
//! what a server may send before the client gives up on it (a line, an
//! IMAP response, an SMTP answer), so a hostile server costs bounded
//! memory. The sender's SMTP connections use the same TLS and bounds.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, ReadBuf};
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
pub async fn tls<S>(
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

/// Why a read was refused: the peer sent more than the limit allows
/// without the end the protocol promises. Carried inside an
/// [`std::io::Error`] of kind `InvalidData`, so it passes through any
/// client (async-imap, lettre) that reads the stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} longer than {limit} bytes; refusing it without reading the rest")]
pub struct TooLong {
    /// "a line", "an IMAP response", "an answer".
    pub what: &'static str,
    pub limit: usize,
}

impl TooLong {
    pub fn io(what: &'static str, limit: usize) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, TooLong { what, limit })
    }

    /// The refusal inside `e`, if `e` is one.
    pub fn find(e: &std::io::Error) -> Option<&TooLong> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<TooLong>())
    }
}

/// Appends one line (up to and including its `\n`) to `buf` and returns
/// its length, 0 at the end of the stream. A line longer than `limit` is
/// refused as soon as the limit is passed: at most `limit` bytes of it are
/// ever held, never the rest (tokio's `read_until` buffers the whole line
/// first).
pub async fn read_line_limited<R>(r: &mut R, buf: &mut Vec<u8>, limit: usize) -> std::io::Result<usize>
where
    R: AsyncBufRead + Unpin + ?Sized,
{
    let mut n = 0usize;
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(n);
        }
        let (take, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if n + take > limit {
            return Err(TooLong::io("a line", limit));
        }
        buf.extend_from_slice(&available[..take]);
        r.consume(take);
        n += take;
        if done {
            return Ok(n);
        }
    }
}

/// A stream whose reads pass through a [`ReadLimit`]: a read past the
/// limit fails with [`TooLong`], and nothing beyond it is read.
#[derive(Debug)]
pub struct Limited<S, L> {
    inner: S,
    limit: L,
}

/// What a [`Limited`] stream lets through.
pub trait ReadLimit {
    /// The most the next read may return (`usize::MAX`: whatever comes).
    fn room(&self) -> usize;
    /// Takes note of bytes read; the refusal when they pass the limit.
    fn read(&mut self, data: &[u8]) -> Result<(), std::io::Error>;
    /// Takes note of a write.
    fn wrote(&mut self) {}
}

impl<S, L> Limited<S, L> {
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AsyncRead + Unpin, L: ReadLimit + Unpin> AsyncRead for Limited<S, L> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let room = this.limit.room().min(buf.remaining());
        let got = {
            let mut limited = ReadBuf::new(buf.initialize_unfilled_to(room));
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut limited))?;
            let n = limited.filled().len();
            this.limit.read(limited.filled()).map(|()| n)
        };
        // Refused bytes are not handed on: the caller never holds them.
        buf.advance(got?);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin, L: ReadLimit + Unpin> AsyncWrite for Limited<S, L> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write(cx, data))?;
        if n > 0 {
            self.limit.wrote();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Bounds what an IMAP server may send as one response (RFC 3501 §2.2.2):
/// its lines and the literals (`{N}` then N bytes) they announce, up to the
/// line that ends it. async-imap grows its buffer until a response is
/// complete (up to 512 MiB); this refuses a response longer than `limit`
/// as soon as it passes the limit.
#[derive(Debug)]
pub struct ImapResponses {
    limit: usize,
    /// Bytes of the current response so far.
    seen: usize,
    /// Bytes of an announced literal still to come.
    literal: u64,
    /// The last bytes of the current line, to spot a `{N}` at its end.
    tail: Vec<u8>,
}

/// A stream whose IMAP responses are bounded (see [`ImapResponses`]).
pub fn imap_responses<S>(inner: S, limit: usize) -> Limited<S, ImapResponses> {
    Limited { inner, limit: ImapResponses { limit, seen: 0, literal: 0, tail: Vec::new() } }
}

impl ReadLimit for ImapResponses {
    fn room(&self) -> usize {
        usize::MAX
    }

    /// Follows the response framing over `data`.
    fn read(&mut self, mut data: &[u8]) -> Result<(), std::io::Error> {
        while !data.is_empty() {
            if self.literal > 0 {
                let n = data.len().min(usize::try_from(self.literal).unwrap_or(usize::MAX));
                self.literal -= n as u64;
                self.seen = self.seen.saturating_add(n);
                data = &data[n..];
            } else {
                let (line, ends) = match memchr::memchr(b'\n', data) {
                    Some(i) => (&data[..=i], true),
                    None => (data, false),
                };
                self.seen = self.seen.saturating_add(line.len());
                // A literal's announcement is short: keep only the line's end.
                self.tail.extend_from_slice(line);
                if self.tail.len() > 32 {
                    self.tail.drain(..self.tail.len() - 32);
                }
                data = &data[line.len()..];
                if ends {
                    match literal_announced(&self.tail) {
                        Some(n) => self.literal = n,
                        None => self.seen = 0,
                    }
                    self.tail.clear();
                }
            }
            if self.seen > self.limit {
                return Err(TooLong::io("an IMAP response", self.limit));
            }
        }
        Ok(())
    }
}

/// N when a line ends with the literal announcement `{N}` or `{N+}`
/// (RFC 3501 §4.3, RFC 7888) before its CRLF.
fn literal_announced(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|b| *b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Bounds what a peer may send between two writes of ours, for a
/// request/answer protocol whose client is not ours to change (SMTP
/// through lettre, which reads a whole line before checking its length).
/// Below TLS it counts the encrypted bytes, so it also bounds a line
/// inside TLS; the limit must leave room for a TLS handshake.
#[derive(Debug)]
pub struct ReadBetweenWrites {
    limit: usize,
    since_write: usize,
}

/// A stream bounded by [`ReadBetweenWrites`].
pub fn read_between_writes<S>(inner: S, limit: usize) -> Limited<S, ReadBetweenWrites> {
    Limited { inner, limit: ReadBetweenWrites { limit, since_write: 0 } }
}

impl ReadLimit for ReadBetweenWrites {
    /// Never more than the limit leaves, so nothing beyond it is held.
    fn room(&self) -> usize {
        self.limit.saturating_sub(self.since_write).max(1)
    }

    fn read(&mut self, data: &[u8]) -> Result<(), std::io::Error> {
        if self.since_write >= self.limit && !data.is_empty() {
            return Err(TooLong::io("an answer", self.limit));
        }
        self.since_write += data.len();
        Ok(())
    }

    fn wrote(&mut self) {
        self.since_write = 0;
    }
}
