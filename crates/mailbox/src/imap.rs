//! IMAP (RFC 3501) through `async-imap`: LOGIN, SELECT, UID SEARCH / FETCH,
//! removal by UID (UIDPLUS `UID EXPUNGE`, RFC 4315, and `UID MOVE`, RFC 6851,
//! when offered), and IDLE (RFC 2177) so a new bounce is picked up within
//! seconds. Every step runs under a timeout.

use std::future::Future;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;
use async_imap::{Client, Session};
use futures::TryStreamExt;

use crate::error::{MailboxError, Result};
use crate::net::{self, BoxStream, Timeouts, imap_responses};
use crate::pop3::Security;

/// What happens to a message once its outcome is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterProcessing {
    Delete,
    MoveTo(String),
}

/// Why an IDLE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleWake {
    /// The server reported a change (new mail, most likely).
    NewData,
    /// Nothing happened within the wait.
    Timeout,
    /// The caller interrupted it (scan now, shutdown).
    Interrupted,
}

#[derive(Debug)]
pub struct Imap {
    /// None only after a failed IDLE, when the connection is unusable.
    session: Option<Session<BoxStream>>,
    addr: String,
    timeouts: Timeouts,
    folder: String,
    pub uid_validity: u32,
    pub can_idle: bool,
    can_move: bool,
    can_uid_expunge: bool,
}

/// A SASL exchange with one initial response: sent at the first
/// challenge; any later challenge (XOAUTH2's error details) gets an empty
/// answer, after which the server says NO.
struct SaslOnce {
    response: Option<Vec<u8>>,
}

impl async_imap::Authenticator for SaslOnce {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        self.response.take().unwrap_or_default()
    }
}

impl Imap {
    /// Connects, logs in (when credentials are given; else the server must
    /// greet with PREAUTH) and selects `folder`. A response longer than
    /// `max_response` (a message literal included) is refused.
    #[allow(clippy::too_many_arguments)]
    pub async fn connect(
        host: &str,
        port: u16,
        security: Security,
        skip_verify: bool,
        timeouts: Timeouts,
        login: &crate::Login<'_>,
        folder: &str,
        max_response: usize,
    ) -> Result<Imap> {
        let addr = format!("{host}:{port}");
        let tcp = net::connect_tcp(host, port, &timeouts).await?;
        let limited = |s| imap_responses(s, max_response);
        let client: Client<BoxStream> = match security {
            Security::Tls => {
                let tls = net::tls(tcp, host, port, skip_verify, &timeouts).await?;
                let mut c = Client::new(Box::new(imap_responses(tls, max_response)) as BoxStream);
                greeting(&mut c, &addr, &timeouts).await?;
                c
            }
            Security::Plain => {
                let mut c = Client::new(Box::new(limited(tcp)) as BoxStream);
                greeting(&mut c, &addr, &timeouts).await?;
                c
            }
            Security::StartTls => {
                let mut c = Client::new(limited(tcp));
                greeting(&mut c, &addr, &timeouts).await?;
                net::timed(timeouts.login, || format!("STARTTLS with {addr}"), async {
                    c.run_command_and_check_ok("STARTTLS", None).await.map_err(|e| MailboxError::Tls {
                        addr: addr.clone(),
                        message: format!("the server refused STARTTLS: {e}"),
                    })
                })
                .await?;
                // RFC 3501 §6.2.1: no greeting after the handshake. The
                // limit counts IMAP, so it goes above TLS from here on.
                let tls = net::tls(c.into_inner().into_inner(), host, port, skip_verify, &timeouts).await?;
                Client::new(Box::new(imap_responses(tls, max_response)) as BoxStream)
            }
        };
        let refused = |e: async_imap::error::Error, what: &str| match e {
            async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m) => {
                MailboxError::Auth { addr: addr.clone(), message: server_text(&m) }
            }
            e => imap_error(&addr, what, e),
        };
        let mut session = match login {
            crate::Login::Password { user, password } => {
                let login =
                    async { client.login(user, password).await.map_err(|(e, _)| refused(e, "LOGIN")) };
                net::timed(timeouts.login, || format!("logging in to {addr}"), login).await?
            }
            crate::Login::Sasl { mechanism, response } => {
                let auth = SaslOnce { response: Some(response.clone().into_bytes()) };
                let login = async {
                    client
                        .authenticate(mechanism.name(), auth)
                        .await
                        .map_err(|(e, _)| refused(e, "AUTHENTICATE"))
                };
                net::timed(timeouts.login, || format!("logging in to {addr}"), login).await?
            }
            crate::Login::None => {
                // async-imap offers no session without LOGIN (a PREAUTH greeting).
                return Err(MailboxError::Config(format!(
                    "{addr}: IMAP mailboxes need auth_protocol \"userpass\" or \"oauth2\""
                )));
            }
        };
        let caps = net::timed(timeouts.read, || format!("CAPABILITY from {addr}"), async {
            session.capabilities().await.map_err(|e| imap_error(&addr, "CAPABILITY", e))
        })
        .await?;
        let (can_idle, can_move, can_uid_expunge) =
            (caps.has_str("IDLE"), caps.has_str("MOVE"), caps.has_str("UIDPLUS"));
        let mailbox = net::timed(timeouts.read, || format!("SELECT {folder} on {addr}"), async {
            session.select(folder).await.map_err(|e| match e {
                async_imap::error::Error::No(m) => MailboxError::Config(format!(
                    "{addr}: cannot select folder {folder:?}: {}",
                    server_text(&m)
                )),
                e => imap_error(&addr, "SELECT", e),
            })
        })
        .await?;
        Ok(Imap {
            session: Some(session),
            addr,
            timeouts,
            folder: folder.to_string(),
            uid_validity: mailbox.uid_validity.unwrap_or(0),
            can_idle,
            can_move,
            can_uid_expunge,
        })
    }

    fn session(&mut self) -> Result<&mut Session<BoxStream>> {
        let addr = &self.addr;
        self.session
            .as_mut()
            .ok_or_else(|| MailboxError::Protocol(format!("{addr}: the IMAP connection is closed")))
    }

    /// Every message in the folder: (uid, size).
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>> {
        let (addr, t) = (self.addr.clone(), self.timeouts);
        let session = self.session()?;
        let uids = net::timed(t.read, || format!("UID SEARCH on {addr}"), async {
            session.uid_search("ALL").await.map_err(|e| imap_error(&addr, "UID SEARCH", e))
        })
        .await?;
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let mut uids: Vec<u32> = uids.into_iter().collect();
        uids.sort_unstable();
        let set = uid_set(&uids);
        let mut out = Vec::with_capacity(uids.len());
        let mut stream = net::timed(t.read, || format!("UID FETCH on {addr}"), async {
            session.uid_fetch(&set, "(UID RFC822.SIZE)").await.map_err(|e| imap_error(&addr, "UID FETCH", e))
        })
        .await?;
        while let Some(f) = net::timed(t.read, || format!("reading UID FETCH from {addr}"), async {
            stream.try_next().await.map_err(|e| imap_error(&addr, "UID FETCH", e))
        })
        .await?
        {
            if let Some(uid) = f.uid {
                out.push((uid, u64::from(f.size.unwrap_or(0))));
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The whole messages (BODY.PEEK[], so \Seen is not set), by uid.
    /// A message the server no longer has is simply missing from the result.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<(u32, Vec<u8>)>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let (addr, t) = (self.addr.clone(), self.timeouts);
        let set = uid_set(uids);
        let session = self.session()?;
        let mut stream = net::timed(t.read, || format!("UID FETCH on {addr}"), async {
            session.uid_fetch(&set, "(UID BODY.PEEK[])").await.map_err(|e| imap_error(&addr, "UID FETCH", e))
        })
        .await?;
        let mut out = Vec::with_capacity(uids.len());
        while let Some(f) = net::timed(t.read, || format!("reading a message from {addr}"), async {
            stream.try_next().await.map_err(|e| imap_error(&addr, "UID FETCH", e))
        })
        .await?
        {
            if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                out.push((uid, body.to_vec()));
            }
        }
        drop(stream);
        if out.len() < uids.len() {
            // A lost connection ends the fetch stream early without an
            // error; NOOP tells that apart from messages expunged meanwhile.
            self.noop().await?;
        }
        Ok(out)
    }

    /// Deletes (flag \Deleted + expunge) or moves the messages. Done when
    /// this returns: the removal does not wait for a logout.
    pub async fn remove(&mut self, uids: &[u32], after: &AfterProcessing) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let (addr, t) = (self.addr.clone(), self.timeouts);
        let set = uid_set(uids);
        let (can_move, can_uid_expunge) = (self.can_move, self.can_uid_expunge);
        let session = self.session()?;
        if let AfterProcessing::MoveTo(folder) = after {
            if can_move {
                return net::timed(t.read, || format!("UID MOVE on {addr}"), async {
                    session.uid_mv(&set, folder).await.map_err(|e| imap_error(&addr, "UID MOVE", e))
                })
                .await;
            }
            net::timed(t.read, || format!("UID COPY on {addr}"), async {
                session.uid_copy(&set, folder).await.map_err(|e| imap_error(&addr, "UID COPY", e))
            })
            .await?;
        }
        net::timed(t.read, || format!("UID STORE on {addr}"), async {
            let updates = session
                .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                .await
                .map_err(|e| imap_error(&addr, "UID STORE", e))?;
            updates.try_collect::<Vec<_>>().await.map_err(|e| imap_error(&addr, "UID STORE", e))
        })
        .await?;
        net::timed(t.read, || format!("EXPUNGE on {addr}"), async {
            if can_uid_expunge {
                let s = session.uid_expunge(&set).await.map_err(|e| imap_error(&addr, "UID EXPUNGE", e))?;
                s.try_collect::<Vec<_>>().await.map_err(|e| imap_error(&addr, "UID EXPUNGE", e))?;
            } else {
                let s = session.expunge().await.map_err(|e| imap_error(&addr, "EXPUNGE", e))?;
                s.try_collect::<Vec<_>>().await.map_err(|e| imap_error(&addr, "EXPUNGE", e))?;
            }
            Ok(())
        })
        .await
    }

    /// Creates `folder` if it does not exist (the target of "move").
    pub async fn ensure_folder(&mut self, folder: &str) -> Result<()> {
        let (addr, t) = (self.addr.clone(), self.timeouts);
        let session = self.session()?;
        let exists = net::timed(t.read, || format!("LIST on {addr}"), async {
            let names = session.list(None, Some(folder)).await.map_err(|e| imap_error(&addr, "LIST", e))?;
            let names: Vec<_> = names.try_collect().await.map_err(|e| imap_error(&addr, "LIST", e))?;
            Ok(!names.is_empty())
        })
        .await?;
        if exists {
            return Ok(());
        }
        net::timed(t.read, || format!("CREATE on {addr}"), async {
            session.create(folder).await.map_err(|e| match e {
                async_imap::error::Error::No(m) => MailboxError::Config(format!(
                    "{addr}: cannot create folder {folder:?}: {}",
                    server_text(&m)
                )),
                e => imap_error(&addr, "CREATE", e),
            })
        })
        .await
    }

    pub async fn noop(&mut self) -> Result<()> {
        let (addr, t) = (self.addr.clone(), self.timeouts);
        let session = self.session()?;
        net::timed(t.read, || format!("NOOP on {addr}"), async {
            session.noop().await.map_err(|e| imap_error(&addr, "NOOP", e))
        })
        .await
    }

    /// True when the server reported new messages since the last call
    /// (answers to our own commands carry them, RFC 3501 §7.3.1).
    pub fn drain_notifications(&mut self) -> bool {
        let Some(session) = self.session.as_mut() else { return false };
        let mut news = false;
        while let Ok(r) = session.unsolicited_responses.try_recv() {
            news |= matches!(r, UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_));
        }
        news
    }

    /// IDLE (RFC 2177) until the server reports a change, `max_wait`
    /// passes, or `interrupt` resolves. The connection stays usable after.
    pub async fn idle(
        &mut self,
        max_wait: Duration,
        interrupt: impl Future<Output = ()>,
    ) -> Result<IdleWake> {
        let (addr, t) = (self.addr.clone(), self.timeouts);
        let session = self
            .session
            .take()
            .ok_or_else(|| MailboxError::Protocol(format!("{addr}: the IMAP connection is closed")))?;
        let notes = session.unsolicited_responses.clone();
        let mut handle = session.idle();
        net::timed(t.read, || format!("starting IDLE on {addr}"), async {
            handle.init().await.map_err(|e| imap_error(&addr, "IDLE", e))
        })
        .await?;
        // Changes reported while IDLE started arrive before its continuation.
        let mut wake = IdleWake::Timeout;
        while let Ok(r) = notes.try_recv() {
            if matches!(r, UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)) {
                wake = IdleWake::NewData;
            }
        }
        if wake != IdleWake::NewData {
            let (wait, stop) = handle.wait_with_timeout(max_wait);
            let mut interrupted = false;
            let interrupter = async {
                interrupt.await;
                drop(stop);
                std::future::pending::<()>().await
            };
            let result = tokio::select! {
                r = wait => r,
                _ = interrupter => { interrupted = true; Ok(IdleResponse::ManualInterrupt) }
            };
            wake = match result.map_err(|e| imap_error(&addr, "IDLE", e))? {
                IdleResponse::NewData(_) => IdleWake::NewData,
                IdleResponse::Timeout => IdleWake::Timeout,
                IdleResponse::ManualInterrupt if interrupted => IdleWake::Interrupted,
                // The stop token fired: only the interrupter can do that.
                IdleResponse::ManualInterrupt => IdleWake::Interrupted,
            };
        }
        let session = net::timed(t.read, || format!("ending IDLE on {addr}"), async {
            handle.done().await.map_err(|e| imap_error(&addr, "DONE", e))
        })
        .await?;
        self.session = Some(session);
        Ok(wake)
    }

    pub async fn logout(mut self) -> Result<()> {
        let (addr, t) = (self.addr.clone(), self.timeouts);
        let session = self.session()?;
        net::timed(t.read, || format!("LOGOUT on {addr}"), async {
            session.logout().await.map_err(|e| imap_error(&addr, "LOGOUT", e))
        })
        .await
    }

    pub fn folder(&self) -> &str {
        &self.folder
    }
}

/// Reads the server greeting (RFC 3501 §7.1): OK, or BYE when the server
/// refuses the connection.
async fn greeting<T>(c: &mut Client<T>, addr: &str, t: &Timeouts) -> Result<()>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let first = net::timed(t.login, || format!("waiting for the IMAP greeting of {addr}"), async {
        c.read_response().await.map_err(|e| io_error(addr, e))
    })
    .await?;
    match first {
        None => Err(MailboxError::Io {
            addr: addr.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed before the greeting"),
        }),
        Some(r) => match r.parsed() {
            async_imap::imap_proto::Response::Data {
                status: async_imap::imap_proto::Status::Bye,
                outcome,
                ..
            } => Err(MailboxError::Protocol(format!(
                "{addr} refused the connection: {}",
                outcome.information.as_deref().unwrap_or("BYE")
            ))),
            _ => Ok(()),
        },
    }
}

/// async-imap renders a NO/BAD answer as `code: .., info: Some("text")`;
/// the operator wants the server's text.
fn server_text(m: &str) -> String {
    match m.split_once("info: Some(\"") {
        Some((_, rest)) => rest.strip_suffix("\")").unwrap_or(rest).replace("\\\"", "\""),
        None => m.to_string(),
    }
}

/// An I/O error, or the refusal of a response over the limit.
fn io_error(addr: &str, source: std::io::Error) -> MailboxError {
    match net::TooLong::find(&source) {
        Some(t) => MailboxError::Protocol(format!("{addr}: {t}")),
        None => MailboxError::Io { addr: addr.to_string(), source },
    }
}

fn imap_error(addr: &str, command: &str, e: async_imap::error::Error) -> MailboxError {
    use async_imap::error::Error;
    match e {
        Error::Io(source) => io_error(addr, source),
        Error::ConnectionLost => MailboxError::Io {
            addr: addr.to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ),
        },
        e => MailboxError::Protocol(format!("{addr}: {command} failed: {e}")),
    }
}

/// A compact UID set (RFC 3501 §9 sequence-set): "1:5,7,9:12".
pub(crate) fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_text_is_unwrapped() {
        let m = r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")"#;
        assert_eq!(super::server_text(m), "[AUTHENTICATIONFAILED] Authentication failed.");
        assert_eq!(super::server_text("plain"), "plain");
    }

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(super::uid_set(&[9, 1, 2, 3, 5, 10, 11, 3]), "1:3,5,9:11");
        assert_eq!(super::uid_set(&[42]), "42");
    }
}
