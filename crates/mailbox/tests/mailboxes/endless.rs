//! A hostile server that never ends a line: the clients refuse it after
//! their limit, with an error that says so, and stop reading. How much the
//! server managed to send before the client hung up shows how much the
//! client took in: a client that buffered the line would take all of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rebound_mailbox::imap::Imap;
use rebound_mailbox::pop3::{Pop3, Security};
use rebound_mailbox::{Login, MailboxError, Timeouts};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the flood offers in all; a client that reads it whole fails the test.
const FLOOD: u64 = 192 << 20;
/// What the client may hold (its limit) plus what loopback socket buffers take.
const TAKEN_AT_MOST: u64 = 48 << 20;

/// Accepts one connection, writes `greeting`, answers `commands` lines
/// with `reply`, then sends `a` without end until the client goes away
/// (or FLOOD is sent). Returns the port and the bytes of flood sent.
async fn flood(greeting: &'static str, commands: usize, reply: &'static str) -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let (read, mut write) = sock.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(greeting.as_bytes()).await.unwrap();
        for _ in 0..commands {
            let mut line = String::new();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
        }
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'a'; 64 * 1024];
        while counter.load(Ordering::Relaxed) < FLOOD {
            if write.write_all(&chunk).await.is_err() {
                return;
            }
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    });
    (port, sent)
}

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        login: Duration::from_secs(30),
        read: Duration::from_secs(30),
    }
}

#[track_caller]
fn assert_refused(err: &MailboxError, sent: &AtomicU64) {
    // An unbounded client's error may quote the whole line: show its start.
    let text: String = err.to_string().chars().take(300).collect();
    assert!(matches!(err, MailboxError::Protocol(_)), "{text}");
    assert!(text.contains("longer than") && text.contains("refusing"), "{text}");
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent < TAKEN_AT_MOST, "the client took in {} MiB of one line", sent >> 20);
}

#[tokio::test]
async fn pop3_greeting_without_end_is_refused() {
    let (port, sent) = flood("+OK ", 0, "").await;
    let err =
        Pop3::connect("127.0.0.1", port, Security::Plain, false, timeouts(), 1 << 20).await.unwrap_err();
    assert_refused(&err, &sent);
}

#[tokio::test]
async fn pop3_message_line_without_end_is_refused() {
    let (port, sent) = flood("+OK ready\r\n", 1, "+OK message follows\r\n").await;
    let mut pop =
        Pop3::connect("127.0.0.1", port, Security::Plain, false, timeouts(), 1 << 20).await.unwrap();
    let err = pop.retr(1).await.unwrap_err();
    assert_refused(&err, &sent);
}

async fn imap_connect(port: u16) -> MailboxError {
    Imap::connect(
        "127.0.0.1",
        port,
        Security::Plain,
        false,
        timeouts(),
        &Login::Password { user: "u", password: "p" },
        "INBOX",
        1 << 20,
    )
    .await
    .expect_err("the server never ends its line")
}

#[tokio::test]
async fn imap_greeting_without_end_is_refused() {
    let (port, sent) = flood("* OK ", 0, "").await;
    assert_refused(&imap_connect(port).await, &sent);
}

#[tokio::test]
async fn imap_literal_without_end_is_refused() {
    // A literal announced larger than any message, then sent for ever
    // (async-imap itself refuses announcements over 512 MiB).
    let (port, sent) = flood("* OK ready\r\n", 1, "* 1 FETCH (UID 1 BODY[] {400000000}\r\n").await;
    assert_refused(&imap_connect(port).await, &sent);
}
