//! A small POP3 client (RFC 1939) with STLS (RFC 2595) and CAPA (RFC 2449).
//!
//! Why not the `async-pop` crate: it has no STLS, its rustls support is the
//! old `async-rustls` 0.4 (rustls 0.21, a second TLS stack beside the
//! workspace's rustls 0.23) and its default features pull async-std and
//! native-tls; it has no per-read timeouts either. The part of POP3 a bounce
//! scanner needs (USER/PASS, UIDL, LIST, RETR, DELE, QUIT) is small enough to
//! own, and owning it lets every read run under a timeout and every error
//! name the command and the server's answer.

use tokio::io::{AsyncWriteExt, BufReader};

use crate::error::{MailboxError, Result};
use crate::net::{self, BoxStream, Timeouts};

/// How a POP3 connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS from the first byte (POP3S, port 995).
    Tls,
    /// Plain connection upgraded with STLS before logging in.
    StartTls,
    /// No TLS (only sensible on loopback or a trusted network).
    Plain,
}

/// A connected POP3 session (RFC 1939 §3: AUTHORIZATION, then TRANSACTION).
#[derive(Debug)]
pub struct Pop3 {
    io: BufReader<BoxStream>,
    addr: String,
    timeouts: Timeouts,
    /// Refuse a multi-line answer longer than this (a broken or hostile server).
    max_response: usize,
}

impl Pop3 {
    /// Connects and reads the greeting; upgrades with STLS when asked.
    pub async fn connect(
        host: &str,
        port: u16,
        security: Security,
        skip_verify: bool,
        timeouts: Timeouts,
        max_response: usize,
    ) -> Result<Pop3> {
        let tcp = net::connect_tcp(host, port, &timeouts).await?;
        let stream: BoxStream = match security {
            Security::Tls => Box::new(net::tls(tcp, host, port, skip_verify, &timeouts).await?),
            Security::StartTls | Security::Plain => Box::new(tcp),
        };
        let mut pop =
            Pop3 { io: BufReader::new(stream), addr: format!("{host}:{port}"), timeouts, max_response };
        pop.greeting().await?;
        if security == Security::StartTls {
            pop.command("STLS", "STLS").await.map_err(|e| match e {
                MailboxError::Protocol(m) => MailboxError::Tls {
                    addr: pop.addr.clone(),
                    message: format!("the server refused STLS: {m}"),
                },
                e => e,
            })?;
            // RFC 2595 §4: anything the server sent after +OK and before the
            // handshake would be outside TLS; refuse instead of trusting it.
            if !pop.io.buffer().is_empty() {
                return Err(MailboxError::Protocol(format!(
                    "{}: data after the STLS answer, before TLS started",
                    pop.addr
                )));
            }
            let plain = pop.io.into_inner();
            let tls = net::tls(plain, host, port, skip_verify, &timeouts).await?;
            pop.io = BufReader::new(Box::new(tls));
        }
        Ok(pop)
    }

    /// A session over a stream that is already connected (the fuzz target
    /// drives the response reader through this): reads the greeting. `addr`
    /// names the server in errors.
    pub async fn over(
        stream: BoxStream,
        addr: &str,
        timeouts: Timeouts,
        max_response: usize,
    ) -> Result<Pop3> {
        let mut pop = Pop3 { io: BufReader::new(stream), addr: addr.to_string(), timeouts, max_response };
        pop.greeting().await?;
        Ok(pop)
    }

    async fn greeting(&mut self) -> Result<()> {
        let t = self.timeouts.login;
        let addr = self.addr.clone();
        let line =
            net::timed(t, || format!("waiting for the POP3 greeting of {addr}"), self.read_line()).await?;
        if line.starts_with("+OK") {
            Ok(())
        } else {
            Err(MailboxError::Protocol(format!("{}: not a POP3 greeting: {}", self.addr, printable(&line))))
        }
    }

    /// USER/PASS (RFC 1939 §7). The password never reaches an error or a log.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<()> {
        if user.contains(['\r', '\n']) || password.contains(['\r', '\n']) {
            return Err(MailboxError::Config("username and password may not contain line breaks".into()));
        }
        let t = self.timeouts.login;
        let addr = self.addr.clone();
        let step = net::timed(t, || format!("logging in to {addr}"), async {
            match self.command_status(&format!("USER {user}"), "USER").await? {
                Ok(_) => self.command_status(&format!("PASS {password}"), "PASS").await,
                refused => Ok(refused),
            }
        });
        match step.await? {
            Ok(_) => Ok(()),
            Err(text) => Err(MailboxError::Auth { addr: self.addr.clone(), message: text }),
        }
    }

    /// AUTH with a SASL mechanism and its initial response (RFC 5034), for
    /// OAuth2 bearer tokens. A refused XOAUTH2 first sends a challenge with
    /// the error's details, which the client answers with an empty line.
    pub async fn authenticate(&mut self, mechanism: &str, response: &str) -> Result<()> {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(response);
        let t = self.timeouts.login;
        let addr = self.addr.clone();
        let step = net::timed(t, || format!("logging in to {addr}"), async {
            match self.command_status(&format!("AUTH {mechanism} {encoded}"), "AUTH").await? {
                Err(text) if text.starts_with('+') => self.command_status("", "AUTH").await,
                answer => Ok(answer),
            }
        });
        match step.await? {
            Ok(_) => Ok(()),
            Err(text) => Err(MailboxError::Auth { addr: self.addr.clone(), message: text }),
        }
    }

    /// Logs in as `login` says.
    pub async fn log_in(&mut self, login: &crate::Login<'_>) -> Result<()> {
        match login {
            crate::Login::None => Ok(()),
            crate::Login::Password { user, password } => self.login(user, password).await,
            crate::Login::Sasl { mechanism, response } => self.authenticate(mechanism.name(), response).await,
        }
    }

    /// UIDL (RFC 1939 §7): message number -> unique id; None when the server
    /// does not offer UIDL.
    pub async fn uidl(&mut self) -> Result<Option<Vec<(u32, String)>>> {
        match self.command("UIDL", "UIDL").await {
            Ok(_) => {}
            Err(MailboxError::Protocol(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
        let body = self.read_multiline().await?;
        let mut out = Vec::new();
        for line in String::from_utf8_lossy(&body).lines() {
            let mut parts = line.split_whitespace();
            if let (Some(n), Some(uid)) = (parts.next().and_then(|n| n.parse().ok()), parts.next()) {
                out.push((n, uid.to_string()));
            }
        }
        Ok(Some(out))
    }

    /// LIST (RFC 1939 §5): message number -> size in octets.
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>> {
        self.command("LIST", "LIST").await?;
        let body = self.read_multiline().await?;
        let mut out = Vec::new();
        for line in String::from_utf8_lossy(&body).lines() {
            let mut parts = line.split_whitespace();
            if let (Some(n), Some(size)) =
                (parts.next().and_then(|n| n.parse().ok()), parts.next().and_then(|s| s.parse().ok()))
            {
                out.push((n, size));
            }
        }
        Ok(out)
    }

    /// RETR (RFC 1939 §5): the message, dot-unstuffed, CRLF line ends as sent.
    pub async fn retr(&mut self, n: u32) -> Result<Vec<u8>> {
        self.command(&format!("RETR {n}"), "RETR").await?;
        self.read_multiline().await
    }

    /// DELE (RFC 1939 §5): marks the message; the server removes it only at
    /// QUIT, so a connection lost before QUIT deletes nothing.
    pub async fn dele(&mut self, n: u32) -> Result<()> {
        self.command(&format!("DELE {n}"), "DELE").await.map(|_| ())
    }

    /// QUIT (RFC 1939 §6): enters UPDATE, where the marked messages are removed.
    pub async fn quit(mut self) -> Result<()> {
        self.command("QUIT", "QUIT").await?;
        Ok(())
    }

    /// Sends one command and reads its status line: the text after +OK, or
    /// `Protocol` with the server's -ERR text. `name` is what errors show
    /// (never the line itself, which may carry the password).
    async fn command(&mut self, line: &str, name: &str) -> Result<String> {
        match self.command_status(line, name).await? {
            Ok(text) => Ok(text),
            Err(text) => {
                Err(MailboxError::Protocol(format!("{} answered {name} with -ERR {text}", self.addr)))
            }
        }
    }

    /// Like `command`, with the server's refusal as `Ok(Err(text))`.
    async fn command_status(
        &mut self,
        line: &str,
        name: &str,
    ) -> Result<std::result::Result<String, String>> {
        let addr = self.addr.clone();
        let write = async {
            let stream = self.io.get_mut();
            stream.write_all(line.as_bytes()).await?;
            stream.write_all(b"\r\n").await?;
            stream.flush().await
        };
        write.await.map_err(|e| MailboxError::Io { addr: addr.clone(), source: e })?;
        let t = self.timeouts.read;
        let reply =
            net::timed(t, || format!("waiting for the answer to {name} from {addr}"), self.read_line())
                .await?;
        if let Some(rest) = reply.strip_prefix("+OK") {
            Ok(Ok(rest.trim().to_string()))
        } else {
            Ok(Err(printable(reply.strip_prefix("-ERR").unwrap_or(&reply).trim())))
        }
    }

    /// One status line, without its CRLF. A closed connection is an error.
    async fn read_line(&mut self) -> Result<String> {
        let mut buf = Vec::new();
        let n = net::read_line_limited(&mut self.io, &mut buf, MAX_STATUS_LINE)
            .await
            .map_err(|e| self.read_error(e))?;
        if n == 0 {
            return Err(MailboxError::Io {
                addr: self.addr.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ),
            });
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// A multi-line answer (RFC 1939 §3): lines up to a lone ".", with the
    /// leading "." of dot-stuffed lines removed. Every line is read under
    /// the read timeout.
    async fn read_multiline(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut line = Vec::new();
        let t = self.timeouts.read;
        loop {
            line.clear();
            let addr = self.addr.clone();
            // A line may take what is left of the answer's allowance (and
            // its line end), never more: a line without end is refused
            // when it passes that, not read whole first.
            let max = self.max_response;
            let room = max.saturating_sub(out.len()) + 2;
            let io = &mut self.io;
            let n = net::timed(t, || format!("reading from {addr}"), async {
                net::read_line_limited(io, &mut line, room).await.map_err(|e| match net::TooLong::find(&e) {
                    Some(_) => too_long(&addr, max),
                    None => MailboxError::Io { addr: addr.clone(), source: e },
                })
            })
            .await?;
            if n == 0 {
                return Err(MailboxError::Io {
                    addr: self.addr.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection in the middle of an answer",
                    ),
                });
            }
            let content = trim_eol(&line);
            if content == b"." {
                return Ok(out);
            }
            let unstuffed = if line.starts_with(b"..") { &line[1..] } else { &line[..] };
            out.extend_from_slice(unstuffed);
            if out.len() > self.max_response {
                return Err(too_long(&self.addr, self.max_response));
            }
        }
    }

    fn read_error(&self, e: std::io::Error) -> MailboxError {
        match net::TooLong::find(&e) {
            Some(t) => MailboxError::Protocol(format!("{}: {t}", self.addr)),
            None => MailboxError::Io { addr: self.addr.clone(), source: e },
        }
    }
}

/// RFC 2449 §4 allows status lines of 512 octets; this leaves room for
/// chatty greetings while a line without end still costs little.
const MAX_STATUS_LINE: usize = 8192;

fn too_long(addr: &str, limit: usize) -> MailboxError {
    MailboxError::Protocol(format!("{addr}: an answer longer than {limit} bytes; refusing it"))
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
        end -= 1;
    }
    &line[..end]
}

/// A server's text for an error message: at most 200 characters, no controls.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, duplex};

    /// A scripted server on an in-memory pipe: answers each expected command.
    async fn session(script: &'static [(&'static str, &'static str)]) -> Pop3 {
        let (client, mut server) = duplex(64 * 1024);
        tokio::spawn(async move {
            server.write_all(b"+OK ready\r\n").await.unwrap();
            let mut buf = vec![0u8; 4096];
            for (expect, answer) in script {
                let mut got = Vec::new();
                while !got.ends_with(b"\r\n") {
                    let n = server.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                assert_eq!(String::from_utf8_lossy(&got).trim_end(), *expect);
                server.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let mut pop = Pop3 {
            io: BufReader::new(Box::new(client)),
            addr: "test:110".into(),
            timeouts: Timeouts::default(),
            max_response: 1 << 20,
        };
        pop.greeting().await.unwrap();
        pop
    }

    #[tokio::test]
    async fn retr_unstuffs_dots_and_keeps_crlf() {
        let mut pop =
            session(&[("RETR 1", "+OK 20 octets\r\nSubject: x\r\n\r\n..leading dot\r\n.\r\n")]).await;
        assert_eq!(pop.retr(1).await.unwrap(), b"Subject: x\r\n\r\n.leading dot\r\n");
    }

    #[tokio::test]
    async fn uidl_and_list_parse() {
        let mut pop = session(&[
            ("UIDL", "+OK\r\n1 abc\r\n2 def\r\n.\r\n"),
            ("LIST", "+OK 2 messages\r\n1 120\r\n2 4000\r\n.\r\n"),
        ])
        .await;
        assert_eq!(pop.uidl().await.unwrap().unwrap(), vec![(1, "abc".into()), (2, "def".into())]);
        assert_eq!(pop.list().await.unwrap(), vec![(1, 120), (2, 4000)]);
    }

    #[tokio::test]
    async fn wrong_password_is_an_auth_error_without_the_password() {
        let mut pop = session(&[
            ("USER bounces", "+OK\r\n"),
            ("PASS hunter2", "-ERR [AUTH] Authentication failed.\r\n"),
        ])
        .await;
        let err = pop.login("bounces", "hunter2").await.unwrap_err();
        assert!(matches!(err, MailboxError::Auth { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("Authentication failed") && !text.contains("hunter2"), "{text}");
    }

    #[tokio::test]
    async fn no_uidl_is_none() {
        let mut pop = session(&[("UIDL", "-ERR unknown command\r\n")]).await;
        assert_eq!(pop.uidl().await.unwrap(), None);
    }

    #[tokio::test]
    async fn cut_in_the_middle_of_retr_is_an_error() {
        let mut pop = session(&[("RETR 1", "+OK\r\nSubject: x\r\n")]).await;
        let err = pop.retr(1).await.unwrap_err();
        assert!(err.to_string().contains("in the middle"), "{err}");
    }
}
