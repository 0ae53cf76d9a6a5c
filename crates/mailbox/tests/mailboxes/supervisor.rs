//! The running scanners: IMAP IDLE, settings changes, scan now, backoff.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rebound_core::Settings;
use rebound_core::settings::MailboxKind;
use rebound_mailbox::{LiveState, ScanNowError, Scanners, SupervisorConfig};
use rebound_testkit::{Backend, OpenStore, TestDb};
use tokio::sync::watch;

use crate::dovecot::{Dovecot, Mode};
use crate::support::*;

fn quick() -> SupervisorConfig {
    SupervisorConfig { backoff_base: Duration::from_millis(200), ..SupervisorConfig::default() }
}

fn settings_with(mailboxes: Vec<rebound_core::settings::MailboxSettings>, enabled: bool) -> Arc<Settings> {
    Arc::new(Settings { bounce_enabled: enabled, mailboxes, ..Settings::default() })
}

/// Polls `f` every 20 ms until it is true or `limit` passes.
async fn until(limit: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_idle_picks_up_a_new_bounce_within_seconds() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(2);
    subscribers_for(store.as_ref(), &fixtures).await;
    let m = dovecot.mailbox(MailboxKind::Imap, Mode::Tls); // scan_interval: 1 hour
    let uuid = m.uuid.unwrap();
    let (_tx, rx) = watch::channel(settings_with(vec![m], true));
    let scanners = Scanners::start(scanner(&store), rx, quick());

    let idle = until(Duration::from_secs(10), async || {
        scanners.live().get(&uuid).is_some_and(|s| s.state == LiveState::Idle)
    })
    .await;
    assert!(idle, "the scanner did not reach IDLE: {:?}\n{}", scanners.live(), dovecot.log());

    for (i, f) in fixtures.iter().enumerate() {
        let delivered = Instant::now();
        dovecot.deliver(&f.raw);
        let want = fixtures[..=i].iter().map(|f| f.events.len()).sum::<usize>() as i64;
        let seen = until(Duration::from_secs(5), async || bounce_rows(store.as_ref()).await >= want).await;
        let took = delivered.elapsed();
        assert!(seen, "bounce {i} not recorded within 5 s: {:?}", scanners.live());
        eprintln!("IDLE: bounce {i} recorded {took:?} after delivery");
        assert!(until(Duration::from_secs(5), async || dovecot.message_count() == 0).await);
    }
    let live = scanners.live()[&uuid].clone();
    assert!(live.scans >= 3, "{live:?}");
    scanners.shutdown().await;
    assert!(scanners.live().is_empty());
    // The lease was given back on shutdown.
    let state = store.mailbox_states().await.unwrap();
    assert_eq!(state[0].lease_owner, None, "{state:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changes_restart_and_stop_the_scanners() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(2);
    subscribers_for(store.as_ref(), &fixtures).await;
    dovecot.deliver(&fixtures[0].raw);

    let good = dovecot.mailbox(MailboxKind::Pop, Mode::StartTls);
    let uuid = good.uuid.unwrap();
    let mut bad = good.clone();
    bad.password = rebound_core::Secret::new("wrong");
    let (tx, rx) = watch::channel(settings_with(vec![bad], true));
    let scanners = Scanners::start(scanner(&store), rx, quick());

    // The wrong password fails, and the scanner retries with backoff.
    let failing = until(Duration::from_secs(10), async || {
        scanners.live().get(&uuid).is_some_and(|s| s.consecutive_failures >= 2)
    })
    .await;
    let live = scanners.live();
    assert!(failing, "{live:?}");
    let err = live[&uuid].last_report.as_ref().unwrap().error.clone().unwrap();
    assert!(err.contains("refused"), "{err}");
    assert_eq!(dovecot.message_count(), 1);

    // The operator fixes the password: the scanner restarts with it.
    tx.send_replace(settings_with(vec![good.clone()], true));
    let recorded = until(Duration::from_secs(10), async || bounce_rows(store.as_ref()).await == 1).await;
    assert!(recorded, "{:?}", scanners.live());
    assert!(until(Duration::from_secs(5), async || dovecot.message_count() == 0).await);

    // Scan now (the interval is an hour): the report comes back.
    dovecot.deliver(&fixtures[1].raw);
    let report = scanners.scan_now(uuid).await.expect("scan now").await.expect("report");
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(report.counts.recorded as usize, fixtures[1].events.len());
    assert!(matches!(scanners.scan_now(uuid::Uuid::new_v4()).await, Err(ScanNowError::NotFound(_))));

    // bounce.enabled off: every scanner stops.
    tx.send_replace(settings_with(vec![good.clone()], false));
    assert!(until(Duration::from_secs(5), async || scanners.live().is_empty()).await);
    assert!(matches!(scanners.scan_now(uuid).await, Err(ScanNowError::BounceDisabled)));

    // A disabled mailbox does not run either.
    let mut off = good.clone();
    off.enabled = false;
    tx.send_replace(settings_with(vec![off], true));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(scanners.live().is_empty());
    assert!(matches!(scanners.scan_now(uuid).await, Err(ScanNowError::MailboxDisabled(_))));
    scanners.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_scan_one_mailbox_at_once() {
    // PostgreSQL: several rebound instances share it.
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(12);
    subscribers_for(store.as_ref(), &fixtures).await;
    for f in &fixtures {
        dovecot.deliver(&f.raw);
    }
    let m = config(&dovecot.mailbox(MailboxKind::Pop, Mode::Plain));
    let parse = rebound_mailbox::read_options(&Settings::default());
    let (a, b) = (scanner(&store), scanner(&store));
    let never = rebound_mailbox::StopSignal::never();
    let progress = rebound_mailbox::NoProgress;
    let (ra, rb) = tokio::join!(a.scan(&m, &parse, &progress, &never), b.scan(&m, &parse, &progress, &never));
    assert!(ra.error.is_none() && rb.error.is_none(), "{ra:?} {rb:?}");
    // One of them held the lease; the other was told so and did nothing.
    assert!(ra.skipped.is_some() != rb.skipped.is_some(), "{ra:?} {rb:?}");
    assert_eq!((ra.counts.recorded + rb.counts.recorded) as usize, total_events(&fixtures));
    assert_eq!(bounce_rows(store.as_ref()).await as usize, total_events(&fixtures));
    assert_eq!(dovecot.message_count(), 0);
}
