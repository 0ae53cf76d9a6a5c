//! The running scanners: one task per enabled mailbox, started, restarted
//! and stopped as the live settings change (a mailbox entry edited, added,
//! removed, or bounce.enabled switched), each scanning every scan_interval,
//! backing off exponentially after errors, and, for IMAP servers that offer
//! it, waiting in IDLE between scans so a new bounce is read within seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rebound_core::Settings;
use rebound_core::settings::MailboxKind;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use crate::imap::IdleWake;
use crate::oauth::OAuthTokens;
use crate::scan::{
    MailboxConfig, NoProgress, ScanCounts, ScanReport, Scanner, StopSignal, enabled_mailboxes, read_options,
};

/// Timing of the running scanners.
#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// First retry delay after a failed scan; doubles per failure.
    pub backoff_base: Duration,
    /// Longest retry delay (never longer than the mailbox's scan_interval).
    pub backoff_max: Duration,
    /// Longest single IDLE; the lease is renewed after each.
    pub idle_max: Duration,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
            idle_max: Duration::from_secs(240),
        }
    }
}

/// What a mailbox's scanner in this process is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveState {
    /// Waiting for the next scan.
    Waiting,
    Scanning,
    /// Connected, waiting in IMAP IDLE for new mail.
    Idle,
    /// Waiting to retry after a failed scan.
    Backoff,
}

/// A mailbox scanner's state in this process.
#[derive(Debug, Clone, Serialize)]
pub struct LiveStatus {
    pub state: LiveState,
    pub since: DateTime<Utc>,
    pub next_scan_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub scans: u64,
    /// Counts added up over this process's scans.
    pub totals: ScanCounts,
    pub last_report: Option<ScanReport>,
}

type Reply = oneshot::Sender<ScanReport>;
type LiveMap = Arc<Mutex<HashMap<Uuid, LiveStatus>>>;

/// Why a scan could not be started on request.
#[derive(Debug, thiserror::Error)]
pub enum ScanNowError {
    #[error("bounce processing is disabled (bounce.enabled is false)")]
    BounceDisabled,
    #[error("no mailbox with uuid {0}")]
    NotFound(Uuid),
    #[error("mailbox {0} is disabled")]
    MailboxDisabled(Uuid),
    #[error("the scanner of mailbox {0} is not running yet; try again in a moment")]
    NotRunning(Uuid),
    #[error("a scan of mailbox {0} is already queued")]
    Busy(Uuid),
}

/// Handle on the running scanners. Cheap to clone; it does not keep the
/// scanners' intake alive, so once [`Scanners::shutdown`] returns, nothing of
/// theirs holds the store or the intake.
#[derive(Clone)]
pub struct Scanners {
    inner: Arc<Inner>,
}

struct Inner {
    /// The scanners' OAuth2 tokens, for connection tests.
    oauth: OAuthTokens,
    live: LiveMap,
    triggers: Arc<Mutex<HashMap<Uuid, mpsc::Sender<Reply>>>>,
    settings: watch::Receiver<Arc<Settings>>,
    shutdown: watch::Sender<bool>,
    supervisor: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Scanners {
    /// Starts the supervisor; it follows `settings` until shutdown.
    pub fn start(
        scanner: Scanner,
        settings: watch::Receiver<Arc<Settings>>,
        config: SupervisorConfig,
    ) -> Scanners {
        let live: LiveMap = Arc::default();
        let triggers: Arc<Mutex<HashMap<Uuid, mpsc::Sender<Reply>>>> = Arc::default();
        let (shutdown, stop) = StopSignal::new();
        let oauth = scanner.oauth().clone();
        let supervisor =
            tokio::spawn(supervise(scanner, settings.clone(), config, live.clone(), triggers.clone(), stop));
        Scanners {
            inner: Arc::new(Inner {
                oauth,
                live,
                triggers,
                settings,
                shutdown,
                supervisor: tokio::sync::Mutex::new(Some(supervisor)),
            }),
        }
    }

    /// The OAuth2 access tokens the scanners use.
    pub fn oauth(&self) -> &OAuthTokens {
        &self.inner.oauth
    }

    /// What each running scanner is doing, by mailbox uuid.
    pub fn live(&self) -> HashMap<Uuid, LiveStatus> {
        self.inner.live.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Asks the mailbox's scanner to scan now; the receiver gets the report.
    pub async fn scan_now(&self, mailbox: Uuid) -> Result<oneshot::Receiver<ScanReport>, ScanNowError> {
        let settings = self.inner.settings.borrow().clone();
        if !settings.bounce_enabled {
            return Err(ScanNowError::BounceDisabled);
        }
        let entry = settings
            .mailboxes
            .iter()
            .map(MailboxConfig::new)
            .find(|m| m.uuid == mailbox)
            .ok_or(ScanNowError::NotFound(mailbox))?;
        if !entry.settings.enabled {
            return Err(ScanNowError::MailboxDisabled(mailbox));
        }
        // Right after a settings change the supervisor may still be starting the task.
        let deadline = Instant::now() + Duration::from_secs(5);
        let sender = loop {
            let found = self.inner.triggers.lock().ok().and_then(|t| t.get(&mailbox).cloned());
            match found {
                Some(s) => break s,
                None if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
                None => return Err(ScanNowError::NotRunning(mailbox)),
            }
        };
        let (tx, rx) = oneshot::channel();
        sender.try_send(tx).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ScanNowError::Busy(mailbox),
            mpsc::error::TrySendError::Closed(_) => ScanNowError::NotRunning(mailbox),
        })?;
        Ok(rx)
    }

    /// Stops every scanner: a scan in progress finishes the chunk of
    /// messages in hand (recorded, then deleted), an IDLE is ended, and the
    /// leases are given back. Returns when all have stopped.
    pub async fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
        let handle = self.inner.supervisor.lock().await.take();
        if let Some(h) = handle {
            let _ = h.await;
        }
    }
}

struct Task {
    config: MailboxConfig,
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

async fn supervise(
    scanner: Scanner,
    mut settings: watch::Receiver<Arc<Settings>>,
    config: SupervisorConfig,
    live: LiveMap,
    triggers: Arc<Mutex<HashMap<Uuid, mpsc::Sender<Reply>>>>,
    mut shutdown: StopSignal,
) {
    let mut tasks: HashMap<Uuid, Task> = HashMap::new();
    loop {
        let current = settings.borrow_and_update().clone();
        let desired: HashMap<Uuid, MailboxConfig> =
            enabled_mailboxes(&current).into_iter().map(|m| (m.uuid, m)).collect();

        // Stop the scanners whose mailbox went away or changed; all at once,
        // then wait for each to commit what it holds.
        let outdated: Vec<Uuid> =
            tasks.iter().filter(|(id, t)| desired.get(id) != Some(&t.config)).map(|(id, _)| *id).collect();
        let mut stopping = Vec::new();
        for id in outdated {
            if let Some(t) = tasks.remove(&id) {
                if let Ok(mut map) = triggers.lock() {
                    map.remove(&id);
                }
                let _ = t.stop.send(true);
                stopping.push((id, t));
            }
        }
        for (id, t) in stopping {
            tracing::info!(mailbox = %t.config.label(), "stopping the mailbox scanner (settings changed)");
            let _ = t.join.await;
            if !desired.contains_key(&id)
                && let Ok(mut map) = live.lock()
            {
                map.remove(&id);
            }
        }
        for (id, cfg) in desired {
            if tasks.contains_key(&id) {
                continue;
            }
            tracing::info!(mailbox = %cfg.label(), interval = ?cfg.settings.scan_interval, "starting the mailbox scanner");
            let (trigger_tx, trigger_rx) = mpsc::channel(1);
            let (stop_tx, stop) = StopSignal::new();
            let join = tokio::spawn(run_mailbox(
                scanner.clone(),
                cfg.clone(),
                settings.clone(),
                trigger_rx,
                stop,
                live.clone(),
                config.clone(),
            ));
            if let Ok(mut map) = triggers.lock() {
                map.insert(id, trigger_tx);
            }
            tasks.insert(id, Task { config: cfg, stop: stop_tx, join });
        }

        tokio::select! {
            changed = settings.changed() => if changed.is_err() { break },
            _ = shutdown.wait() => break,
        }
    }
    if let Ok(mut map) = triggers.lock() {
        map.clear();
    }
    for t in tasks.values() {
        let _ = t.stop.send(true);
    }
    for (_, t) in tasks {
        let _ = t.join.await;
    }
}

/// One mailbox's scanner until stopped.
async fn run_mailbox(
    scanner: Scanner,
    cfg: MailboxConfig,
    settings: watch::Receiver<Arc<Settings>>,
    mut triggers: mpsc::Receiver<Reply>,
    mut stop: StopSignal,
    live: LiveMap,
    config: SupervisorConfig,
) {
    let interval = cfg.settings.scan_interval;
    let mut failures: u32 = 0;
    let mut next = Instant::now();
    loop {
        let waiting = if failures > 0 { LiveState::Backoff } else { LiveState::Waiting };
        set_state(&live, cfg.uuid, waiting, Some(next), failures);
        let mut replies: Vec<Reply> = Vec::new();
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            t = triggers.recv() => match t {
                Some(reply) => replies.push(reply),
                None => break,
            },
            _ = stop.wait() => break,
        }
        if stop.is_set() {
            break;
        }
        set_state(&live, cfg.uuid, LiveState::Scanning, None, failures);
        let parse = read_options(&settings.borrow());
        let failed = match cfg.settings.kind {
            MailboxKind::Pop => {
                let report = scanner.scan(&cfg, &parse, &NoProgress, &stop).await;
                let failed = report.failed();
                publish(&live, report, &mut replies);
                failed
            }
            MailboxKind::Imap => {
                imap_session(
                    &scanner,
                    &cfg,
                    &settings,
                    &mut triggers,
                    &mut stop,
                    &live,
                    &config,
                    &mut replies,
                )
                .await
            }
        };
        if failed {
            failures = failures.saturating_add(1);
            next = Instant::now() + backoff(failures, &config, interval);
        } else {
            failures = 0;
            next = Instant::now() + interval;
        }
        if stop.is_set() {
            break;
        }
    }
    if let Ok(mut map) = live.lock() {
        map.remove(&cfg.uuid);
    }
}

/// An IMAP connection kept open: scan, IDLE until new mail (or the
/// interval, a request, shutdown), scan again. Returns when the session
/// ends; true when it ended on a failure.
#[allow(clippy::too_many_arguments)]
async fn imap_session(
    scanner: &Scanner,
    cfg: &MailboxConfig,
    settings: &watch::Receiver<Arc<Settings>>,
    triggers: &mut mpsc::Receiver<Reply>,
    stop: &mut StopSignal,
    live: &LiveMap,
    config: &SupervisorConfig,
    replies: &mut Vec<Reply>,
) -> bool {
    let started = Utc::now();
    match scanner.take_lease(cfg).await {
        Ok(true) => {}
        Ok(false) => {
            publish(live, scanner.skipped(cfg, started), replies);
            return false;
        }
        Err(e) => {
            let report = scanner.finish(cfg, started, ScanCounts::default(), Err(e)).await;
            publish(live, report, replies);
            return true;
        }
    }
    let mut session = match scanner.connect_imap(cfg).await {
        Ok(s) => s,
        Err(e) => {
            let report = scanner.finish(cfg, started, ScanCounts::default(), Err(e)).await;
            publish(live, report, replies);
            scanner.release_lease(cfg).await;
            return true;
        }
    };
    let interval = cfg.settings.scan_interval;
    let failed = 'session: loop {
        set_state(live, cfg.uuid, LiveState::Scanning, None, 0);
        let started = Utc::now();
        let parse = read_options(&settings.borrow());
        let mut counts = ScanCounts::default();
        let result = scanner.scan_imap(&mut session, cfg, &parse, &NoProgress, stop, &mut counts).await;
        let report = scanner.finish(cfg, started, counts, result).await;
        let failed = report.failed();
        publish(live, report, replies);
        if failed {
            break 'session true;
        }
        if stop.is_set() || !session.can_idle {
            break 'session false;
        }
        let last_scan = Instant::now();
        loop {
            let wait =
                config.idle_max.min(interval.saturating_sub(last_scan.elapsed())).max(Duration::from_secs(1));
            set_state(live, cfg.uuid, LiveState::Idle, Some(last_scan + interval), 0);
            let mut requested: Option<Option<Reply>> = None;
            let interrupt = async {
                tokio::select! {
                    t = triggers.recv() => requested = Some(t),
                    _ = stop.wait() => {}
                }
            };
            let wake = session.idle(wait, interrupt).await;
            match requested {
                Some(Some(r)) => replies.push(r),
                // The supervisor dropped the trigger: this scanner is being stopped.
                Some(None) => break 'session false,
                None => {}
            }
            let wake = match wake {
                Ok(w) => w,
                Err(e) => {
                    let report = scanner.finish(cfg, Utc::now(), ScanCounts::default(), Err(e)).await;
                    publish(live, report, replies);
                    break 'session true;
                }
            };
            if stop.is_set() {
                break 'session false;
            }
            match scanner.take_lease(cfg).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(mailbox = %cfg.label(), "lost the mailbox lease while idling; disconnecting");
                    break 'session false;
                }
                Err(e) => {
                    let report = scanner.finish(cfg, Utc::now(), ScanCounts::default(), Err(e)).await;
                    publish(live, report, replies);
                    break 'session true;
                }
            }
            if !replies.is_empty() || wake == IdleWake::NewData || last_scan.elapsed() >= interval {
                continue 'session;
            }
        }
    };
    if !failed {
        let _ = session.logout().await;
    }
    scanner.release_lease(cfg).await;
    // Requests that came in with the stop get the last state rather than nothing.
    for r in replies.drain(..) {
        let _ = r.send(ScanReport {
            mailbox: cfg.uuid,
            label: cfg.label(),
            started_at: Utc::now(),
            finished_at: Utc::now(),
            counts: ScanCounts::default(),
            error: Some("the scanner stopped before scanning".into()),
            skipped: None,
        });
    }
    failed
}

fn backoff(failures: u32, config: &SupervisorConfig, interval: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    let delay = config.backoff_base.saturating_mul(factor);
    delay.min(config.backoff_max).min(interval.max(config.backoff_base))
}

fn publish(live: &LiveMap, report: ScanReport, replies: &mut Vec<Reply>) {
    if let Ok(mut map) = live.lock() {
        let entry = map.entry(report.mailbox).or_insert_with(|| new_status(LiveState::Waiting));
        if report.skipped.is_none() {
            entry.scans += 1;
            entry.totals.add(&report.counts);
        }
        entry.consecutive_failures = if report.failed() { entry.consecutive_failures + 1 } else { 0 };
        entry.last_report = Some(report.clone());
        // The report and the end of the scan are seen together: a reader that
        // finds this report never finds the mailbox still "scanning".
        if entry.state == LiveState::Scanning {
            entry.state = if report.failed() { LiveState::Backoff } else { LiveState::Waiting };
            entry.since = Utc::now();
            entry.next_scan_at = None;
        }
    }
    for r in replies.drain(..) {
        let _ = r.send(report.clone());
    }
}

fn set_state(live: &LiveMap, id: Uuid, state: LiveState, next: Option<Instant>, failures: u32) {
    let next_scan_at = next.map(|n| {
        let wait = n.saturating_duration_since(Instant::now());
        Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()
    });
    if let Ok(mut map) = live.lock() {
        let entry = map.entry(id).or_insert_with(|| new_status(state));
        if entry.state != state {
            entry.since = Utc::now();
        }
        entry.state = state;
        entry.next_scan_at = next_scan_at;
        if failures > 0 {
            entry.consecutive_failures = failures;
        }
    }
}

fn new_status(state: LiveState) -> LiveStatus {
    LiveStatus {
        state,
        since: Utc::now(),
        next_scan_at: None,
        consecutive_failures: 0,
        scans: 0,
        totals: ScanCounts::default(),
        last_report: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_interval() {
        let c = SupervisorConfig::default();
        let interval = Duration::from_secs(900);
        assert_eq!(backoff(1, &c, interval), Duration::from_secs(5));
        assert_eq!(backoff(2, &c, interval), Duration::from_secs(10));
        assert_eq!(backoff(5, &c, interval), Duration::from_secs(80));
        assert_eq!(backoff(30, &c, interval), interval);
    }
}
