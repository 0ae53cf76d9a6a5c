//! A hostile SMTP server that never ends its greeting line: the sender
//! refuses it after its limit with an error that says so, and stops reading
//! (the server could send only what the limit and the socket buffers take).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rebound_core::Settings;
use rebound_sender::{DeliveryResult, SendError, Sender};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::sender::{campaign, fast, smtp, to};

const FLOOD: u64 = 192 << 20;
const TAKEN_AT_MOST: u64 = 48 << 20;

#[tokio::test]
async fn a_reply_line_without_end_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let _ = sock.write_all(b"220 ").await;
        let chunk = vec![b'a'; 64 * 1024];
        while counter.load(Ordering::Relaxed) < FLOOD {
            if sock.write_all(&chunk).await.is_err() {
                return;
            }
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    });
    let mut server = smtp(port);
    server.max_msg_retries = 0;
    let settings = Settings { smtp: vec![server], ..Settings::default() };
    let d = Sender::new(fast()).send(&settings, &campaign(), &to("a@x.test")).await;
    let DeliveryResult::Failed { error } = &d.result else { panic!("{:?}", d.result) };
    let text: String = error.to_string().chars().take(300).collect();
    assert!(matches!(error, SendError::Connect { .. } | SendError::Connection { .. }), "{text}");
    assert!(text.contains("longer than") && text.contains("refusing"), "{text}");
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent < TAKEN_AT_MOST, "the sender took in {} MiB of one line", sent >> 20);
}
