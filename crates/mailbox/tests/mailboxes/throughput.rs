//! Scan throughput: 1,000 corpus messages over POP3 and over IMAP, loopback
//! Dovecot, SQLite with synchronous=FULL. Ignored by default; run in release:
//!
//!     cargo test --release -p rebound-mailbox --test mailboxes -- --ignored --nocapture throughput

use std::time::Instant;

use rebound_core::settings::MailboxKind;
use rebound_mailbox::{NoProgress, ScanOptions, Scanner, StopSignal, read_options};
use rebound_testkit::{Backend, OpenStore, TestDb};

use crate::dovecot::{Dovecot, Mode};
use crate::support::*;

const MESSAGES: usize = 1000;

async fn measure(kind: MailboxKind, backend: Backend) {
    let dovecot = Dovecot::start();
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    subscribers_for(store.as_ref(), &corpus_bounces(120)).await;
    let messages = many_bounces(MESSAGES);
    let bytes: usize = messages.iter().map(|m| m.len()).sum();
    for m in &messages {
        dovecot.deliver(m);
    }
    let mut m = dovecot.mailbox(kind, Mode::Plain);
    m.max_messages = MESSAGES as u32;
    let scanner = Scanner::new(store.clone(), intake(&store), ScanOptions::default());
    let started = Instant::now();
    let report = scanner
        .scan(&config(&m), &read_options(&Default::default()), &NoProgress, &StopSignal::never())
        .await;
    let took = started.elapsed();
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(report.counts.seen as usize, MESSAGES);
    assert_eq!(report.counts.removed as usize, MESSAGES);
    assert_eq!(dovecot.message_count(), 0);
    println!(
        "throughput {kind:?} {backend:?}: {MESSAGES} messages ({:.1} MiB) in {:.2} s = {:.0} messages/s \
         (recorded {}, unmatched {}, not bounces {})",
        bytes as f64 / 1048576.0,
        took.as_secs_f64(),
        MESSAGES as f64 / took.as_secs_f64(),
        report.counts.recorded,
        report.counts.unmatched,
        report.counts.not_bounces,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run in release with --ignored --nocapture"]
async fn throughput_pop3() {
    measure(MailboxKind::Pop, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run in release with --ignored --nocapture"]
async fn throughput_imap() {
    measure(MailboxKind::Imap, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run in release with --ignored --nocapture"]
async fn throughput_pop3_postgres() {
    measure(MailboxKind::Pop, Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run in release with --ignored --nocapture"]
async fn throughput_imap_postgres() {
    measure(MailboxKind::Imap, Backend::Postgres).await;
}
