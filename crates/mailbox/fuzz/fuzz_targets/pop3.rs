//! Fuzz the POP3 response reader: the input is everything a server sends
//! (greeting, status lines, multi-line answers). The client runs a whole
//! scan's commands over it; none may panic, and no answer may exceed the
//! allowance, whatever the lines, dots and line ends.
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rebound_mailbox::Timeouts;
use rebound_mailbox::net::BoxStream;
use rebound_mailbox::pop3::Pop3;

/// Small, so inputs of a few kilobytes reach the limit.
const MAX_RESPONSE: usize = 4096;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime"))
}

fuzz_target!(|data: &[u8]| {
    // The server's bytes to read; what the client writes goes nowhere.
    let stream: BoxStream = Box::new(tokio::io::join(Cursor::new(data.to_vec()), tokio::io::sink()));
    let t = Duration::from_secs(5);
    let timeouts = Timeouts { connect: t, login: t, read: t };
    runtime().block_on(async move {
        let Ok(mut pop) = Pop3::over(stream, "fuzz:110", timeouts, MAX_RESPONSE).await else { return };
        let _ = pop.login("user", "password").await;
        if let Ok(Some(uids)) = pop.uidl().await {
            assert!(uids.iter().map(|(_, u)| u.len()).sum::<usize>() <= MAX_RESPONSE);
        }
        if let Ok(list) = pop.list().await {
            assert!(list.len() <= MAX_RESPONSE);
        }
        if let Ok(message) = pop.retr(1).await {
            assert!(message.len() <= MAX_RESPONSE, "an answer of {} bytes", message.len());
        }
        let _ = pop.dele(1).await;
        let _ = pop.quit().await;
    });
});
