//! One SMTP transaction per message (RFC 5321 §3.3: MAIL FROM, one RCPT
//! TO, DATA) on pooled connections, one pool per `smtp` entry.
//!
//! rebound drives the commands itself (with lettre's connection, TLS and
//! AUTH) rather than through a whole-message transport, because what it
//! must know is *which* command a refusal answered: a refused RCPT TO or
//! DATA is the recipient's bounce, a refused MAIL FROM or AUTH is the
//! operator's configuration problem.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use rebound_core::settings::{SmtpAuth, SmtpServer, SmtpTls};
use rebound_mailbox::net::read_between_writes;
use rebound_mailbox::{MailboxError, Timeouts};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::compose::{ComposeError, Outgoing};

/// The command a reply answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The greeting, EHLO or STARTTLS.
    Connect,
    Auth,
    MailFrom,
    Rcpt,
    /// The DATA command or the end of the message.
    Data,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Auth => "auth",
            Stage::MailFrom => "mail_from",
            Stage::Rcpt => "rcpt",
            Stage::Data => "data",
        }
    }
}

/// An SMTP reply: the code and the whole text as received, code first
/// ("550 5.1.1 <a@b.example>: Recipient address rejected: ...").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a message could not be handed to the server (not a bounce: the
/// recipient was never judged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no enabled SMTP server in the smtp settings")]
    NoServer,
    #[error("{server}: all {max} connections stayed busy for {waited:?} (wait_timeout)")]
    PoolBusy { server: String, max: u32, waited: Duration },
    #[error("{server}: cannot connect: {detail}")]
    Connect { server: String, detail: String },
    #[error("{server}: refused the connection: {reply}")]
    Greeting { server: String, reply: Reply },
    #[error("{server}: TLS failed: {detail}")]
    Tls { server: String, detail: String },
    #[error("{server}: authentication failed: {detail}")]
    Auth { server: String, detail: String },
    #[error("{server}: the envelope sender <{from}> was refused: {reply}")]
    SenderRefused { server: String, from: String, reply: Reply },
    #[error("{server}: no answer within {timeout:?} to {stage:?}")]
    Timeout { server: String, stage: Stage, timeout: Duration },
    #[error("{server}: {detail}")]
    Connection { server: String, detail: String },
    #[error(transparent)]
    Compose(#[from] ComposeError),
}

/// What one try at one server came to.
#[derive(Debug, Clone)]
pub(crate) enum Attempt {
    /// 250 after the end of DATA.
    Accepted(Reply),
    /// A negative reply to RCPT TO or DATA: about this recipient.
    Refused { stage: Stage, reply: Reply },
    /// Anything else; `transient` failures are worth another try.
    Failed { error: SendError, transient: bool },
}

/// Connections to one `smtp` entry: at most `max_conns` at a time, idle
/// ones kept for `idle_timeout`, a caller waits `wait_timeout` at most for
/// a free one.
pub(crate) struct Pool {
    pub server: SmtpServer,
    pub label: String,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    io_timeout: Duration,
}

enum Tx {
    Done {
        attempt: Attempt,
        keep: bool,
    },
    /// A reused connection turned out closed before any reply.
    Stale,
}

enum CmdError {
    Reply(Reply),
    Timeout,
    Io(String),
}

impl Pool {
    pub fn new(server: SmtpServer, io_timeout: Duration) -> Pool {
        let label = format!("{}:{}", server.host, server.port);
        let permits = Arc::new(Semaphore::new(server.max_conns.max(1) as usize));
        Pool { server, label, permits, idle: Mutex::new(Vec::new()), io_timeout }
    }

    /// One try: a connection from the pool (or a new one), one transaction.
    pub async fn deliver(&self, out: &Outgoing) -> Attempt {
        let wait = self.server.wait_timeout.max(Duration::from_millis(1));
        let _permit = match tokio::time::timeout(wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => {
                let error = SendError::PoolBusy {
                    server: self.label.clone(),
                    max: self.server.max_conns.max(1),
                    waited: wait,
                };
                return Attempt::Failed { error, transient: true };
            }
        };
        // The server may have closed an idle connection meanwhile: a
        // failure before its first reply is retried once on a new one.
        if let Some(mut conn) = self.take_idle() {
            match self.transaction(&mut conn, out, true).await {
                Tx::Done { attempt, keep } => {
                    if keep {
                        self.put_idle(conn);
                    }
                    return attempt;
                }
                Tx::Stale => {
                    tracing::debug!(server = %self.label, "pooled connection was closed; reconnecting")
                }
            }
        }
        let mut conn = match self.connect().await {
            Ok(c) => c,
            Err((error, transient)) => return Attempt::Failed { error, transient },
        };
        match self.transaction(&mut conn, out, false).await {
            Tx::Done { attempt, keep } => {
                if keep {
                    self.put_idle(conn);
                }
                attempt
            }
            Tx::Stale => Attempt::Failed { error: self.closed(Stage::MailFrom), transient: true },
        }
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < self.server.idle_timeout {
                return Some(conn);
            }
            // Idle too long: closed (the server may have closed it already).
        }
        None
    }

    fn put_idle(&self, conn: AsyncSmtpConnection) {
        if self.server.idle_timeout.is_zero() {
            return;
        }
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push((conn, Instant::now()));
    }

    fn closed(&self, stage: Stage) -> SendError {
        SendError::Connection {
            server: self.label.clone(),
            detail: format!("the connection closed at {}", stage.as_str()),
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, (SendError, bool)> {
        let s = &self.server;
        let server = self.label.clone();
        let hello = match s.hello_hostname.trim() {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        let tls = || {
            TlsParameters::builder(s.host.clone())
                .dangerous_accept_invalid_certs(s.tls_skip_verify)
                .dangerous_accept_invalid_hostnames(s.tls_skip_verify)
                .build_rustls()
                .map_err(|e| (SendError::Tls { server: server.clone(), detail: error_text(&e) }, false))
        };
        let timeout = self.io_timeout;
        let stream = match tokio::time::timeout(timeout, self.open(s.tls_type == SmtpTls::Tls)).await {
            Err(_) => return Err((SendError::Timeout { server, stage: Stage::Connect, timeout }, true)),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(stream)) => stream,
        };
        let connecting = AsyncSmtpConnection::connect_with_transport(stream, &hello);
        let mut conn = match tokio::time::timeout(timeout, connecting).await {
            Err(_) => return Err((SendError::Timeout { server, stage: Stage::Connect, timeout }, true)),
            Ok(Err(e)) => return Err(connect_error(&server, &e, s.tls_type == SmtpTls::Tls)),
            Ok(Ok(c)) => c,
        };
        if s.tls_type == SmtpTls::StartTls {
            if !conn.can_starttls() {
                let detail = "the server does not offer STARTTLS (tls_type is STARTTLS)".to_string();
                return Err((SendError::Tls { server, detail }, false));
            }
            match tokio::time::timeout(timeout, conn.starttls(tls()?, &hello)).await {
                Err(_) => return Err((SendError::Timeout { server, stage: Stage::Connect, timeout }, true)),
                Ok(Err(e)) => return Err(connect_error(&server, &e, true)),
                Ok(Ok(())) => {}
            }
        }
        let mechanism = match s.auth_protocol {
            SmtpAuth::None => None,
            SmtpAuth::Plain => Some(Mechanism::Plain),
            SmtpAuth::Login => Some(Mechanism::Login),
            SmtpAuth::Cram => {
                let detail = "auth_protocol \"cram\" (CRAM-MD5) is not supported by rebound's sender; \
                              choose \"plain\" or \"login\" (over TLS)"
                    .to_string();
                return Err((SendError::Auth { server, detail }, false));
            }
        };
        if let Some(m) = mechanism {
            let creds = Credentials::new(s.username.clone(), s.password.expose().to_string());
            match tokio::time::timeout(timeout, conn.auth(&[m], &creds)).await {
                Err(_) => return Err((SendError::Timeout { server, stage: Stage::Auth, timeout }, true)),
                Ok(Err(e)) => {
                    let transient = e.is_transient() || !(e.is_permanent() || e.is_client());
                    return Err((SendError::Auth { server, detail: error_text(&e) }, transient));
                }
                Ok(Ok(_)) => {}
            }
        }
        Ok(conn)
    }

    /// The TCP connection (and, for implicit TLS, the handshake) that lettre
    /// then speaks SMTP over. rebound opens it itself so that every byte
    /// the server sends passes through `read_between_writes`: lettre reads
    /// a whole reply line before checking its length, so a server that
    /// sends a line without end would otherwise grow memory without bound.
    async fn open(&self, implicit_tls: bool) -> Result<Box<dyn AsyncTokioStream>, (SendError, bool)> {
        let s = &self.server;
        let server = self.label.clone();
        let tcp = TcpStream::connect((s.host.as_str(), s.port))
            .await
            .map_err(|e| (SendError::Connect { server: server.clone(), detail: e.to_string() }, true))?;
        let _ = tcp.set_nodelay(true);
        let peer = tcp
            .peer_addr()
            .map_err(|e| (SendError::Connect { server: server.clone(), detail: e.to_string() }, true))?;
        let bounded = read_between_writes(tcp, MAX_ANSWER);
        if !implicit_tls {
            return Ok(Box::new(Peer { inner: bounded, peer }));
        }
        let timeouts = Timeouts { connect: self.io_timeout, ..Timeouts::default() };
        // The mailbox connections' TLS: the same roots, and tls_skip_verify
        // meaning what it means for lettre's STARTTLS below.
        let tls = rebound_mailbox::net::tls(bounded, &s.host, s.port, s.tls_skip_verify, &timeouts)
            .await
            .map_err(|e| match e {
                MailboxError::Tls { message, .. } => (SendError::Tls { server, detail: message }, false),
                MailboxError::Timeout { .. } => {
                    (SendError::Timeout { server, stage: Stage::Connect, timeout: self.io_timeout }, true)
                }
                e => (SendError::Tls { server, detail: e.to_string() }, false),
            })?;
        Ok(Box::new(Peer { inner: tls, peer }))
    }

    async fn transaction(&self, conn: &mut AsyncSmtpConnection, out: &Outgoing, reused: bool) -> Tx {
        let server = self.label.clone();
        let failed = |error: SendError, transient: bool| Tx::Done {
            attempt: Attempt::Failed { error, transient },
            keep: false,
        };
        let lost = |e: CmdError, stage: Stage| match e {
            CmdError::Timeout => {
                failed(SendError::Timeout { server: server.clone(), stage, timeout: self.io_timeout }, true)
            }
            CmdError::Io(detail) => failed(SendError::Connection { server: server.clone(), detail }, true),
            CmdError::Reply(_) => unreachable!("replies are handled by the caller"),
        };

        match self.command(conn, Mail::new(Some(out.envelope_from.clone()), vec![])).await {
            Ok(_) => {}
            Err(CmdError::Io(_)) if reused => return Tx::Stale,
            Err(CmdError::Reply(reply)) => {
                let transient = reply.code < 500;
                let keep = self.reset(conn).await;
                let error = SendError::SenderRefused { server, from: out.envelope_from.to_string(), reply };
                return Tx::Done { attempt: Attempt::Failed { error, transient }, keep };
            }
            Err(e) => return lost(e, Stage::MailFrom),
        }
        match self.command(conn, Rcpt::new(out.recipient.clone(), vec![])).await {
            Ok(_) => {}
            Err(CmdError::Reply(reply)) => {
                let keep = self.reset(conn).await;
                return Tx::Done { attempt: Attempt::Refused { stage: Stage::Rcpt, reply }, keep };
            }
            Err(e) => return lost(e, Stage::Rcpt),
        }
        match self.command(conn, Data).await {
            Ok(_) => {}
            Err(CmdError::Reply(reply)) => {
                let keep = self.reset(conn).await;
                return Tx::Done { attempt: Attempt::Refused { stage: Stage::Data, reply }, keep };
            }
            Err(e) => return lost(e, Stage::Data),
        }
        match self.timed(conn.message(&out.data)).await {
            Ok(reply) => Tx::Done { attempt: Attempt::Accepted(reply), keep: true },
            // After the end of DATA the transaction is over either way.
            Err(CmdError::Reply(reply)) => {
                Tx::Done { attempt: Attempt::Refused { stage: Stage::Data, reply }, keep: true }
            }
            Err(e) => lost(e, Stage::Data),
        }
    }

    /// RSET after a refusal, so the connection can carry the next message.
    async fn reset(&self, conn: &mut AsyncSmtpConnection) -> bool {
        self.command(conn, Rset).await.is_ok()
    }

    async fn command<C: std::fmt::Display>(
        &self,
        conn: &mut AsyncSmtpConnection,
        c: C,
    ) -> Result<Reply, CmdError> {
        self.timed(conn.command(c)).await
    }

    async fn timed(
        &self,
        f: impl Future<
            Output = Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error>,
        >,
    ) -> Result<Reply, CmdError> {
        match tokio::time::timeout(self.io_timeout, f).await {
            Err(_) => Err(CmdError::Timeout),
            Ok(Ok(r)) => {
                let code = u16::from(r.code());
                let text = r.message().collect::<Vec<_>>().join(" ");
                Ok(Reply { code, text: format!("{code} {text}") })
            }
            Ok(Err(e)) => match e.status() {
                Some(code) => {
                    let code = u16::from(code);
                    let text = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default();
                    Err(CmdError::Reply(Reply {
                        code,
                        text: format!("{code} {text}").trim_end().to_string(),
                    }))
                }
                None => Err(CmdError::Io(error_text(&e))),
            },
        }
    }
}

/// The most a server may send between two commands: a reply is at most a
/// few kilobytes (lettre refuses one over 100 000 bytes once read), a TLS
/// handshake's certificates some tens. Counted below TLS, so it bounds a
/// reply inside TLS too.
const MAX_ANSWER: usize = 1024 * 1024;

/// A stream with the peer address lettre asks for. The delegation is
/// written out because lettre's trait can only be implemented on a type of
/// this crate.
#[derive(Debug)]
struct Peer<S> {
    inner: S,
    peer: SocketAddr,
}

impl<S: AsyncRead + AsyncWrite + Send + Sync + Unpin + std::fmt::Debug> AsyncTokioStream for Peer<S> {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Peer<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Peer<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn connect_error(server: &str, e: &lettre::transport::smtp::Error, tls: bool) -> (SendError, bool) {
    let server = server.to_string();
    if let Some(code) = e.status() {
        let code = u16::from(code);
        let text = std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_default();
        let reply = Reply { code, text: format!("{code} {text}") };
        return (SendError::Greeting { server, reply }, code < 500);
    }
    if tls && e.is_tls() {
        return (SendError::Tls { server, detail: error_text(e) }, false);
    }
    (SendError::Connect { server, detail: error_text(e) }, true)
}

/// lettre's error and its causes on one line.
fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
