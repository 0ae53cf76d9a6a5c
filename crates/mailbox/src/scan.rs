//! One scan of one mailbox: list, fetch in small chunks, parse, hand the
//! outcomes to the intake, and only then delete (or move) the messages.
//!
//! Order per chunk, each step starting only after the previous one is
//! durable:
//!
//! 1. fetch the chunk's messages (nothing changes on the server);
//! 2. parse them (on a blocking thread, each for at most the mailbox's
//!    `parse_timeout`; a parser panic or a parse that takes longer keeps
//!    the message unparsed);
//! 3. record the bounces and keep the other messages, then
//! 4. remember the messages' server ids as handled (3 and 4 are the
//!    intake's, in this order: `Intake::write_mailbox_chunk`);
//! 5. delete / move them on the server.
//!
//! A scan cut anywhere loses nothing: before 3 the messages are still on the
//! server; between 3 and 5 the next scan either finds them remembered as
//! handled (4) and only deletes them, or parses them again, and then the
//! stable event ids make the store answer "duplicate" and the kept
//! messages' digests make the second copy a no-op.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rebound_core::settings::{AfterProcessing, MailboxKind, MailboxSettings};

use crate::login::Login;
use crate::oauth::OAuthTokens;
use rebound_core::{BounceEvent, Settings};
use rebound_dsn::ParseOptions;
use rebound_intake::{Intake, MailboxChunk};
use rebound_store::{Disposition, MailboxScan, NewMailboxMessage, RecordOutcome, Store};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, watch};
use uuid::Uuid;

use crate::error::{MailboxError, Result};
use crate::imap::{self, Imap};
use crate::message::{self, AttributionRules, MessageContext, Outcome};
use crate::net::Timeouts;
use crate::pop3::{Pop3, Security};

/// A mailbox entry resolved for scanning.
#[derive(Debug, Clone, PartialEq)]
pub struct MailboxConfig {
    /// The entry's uuid; entries saved without one get a stable uuid derived
    /// from kind, host, port, user and folder.
    pub uuid: Uuid,
    pub settings: MailboxSettings,
}

impl MailboxConfig {
    pub fn new(settings: &MailboxSettings) -> MailboxConfig {
        let uuid = settings.uuid.unwrap_or_else(|| {
            let d = Sha256::digest(identity(settings).as_bytes());
            let mut b = [0u8; 16];
            b.copy_from_slice(&d[..16]);
            uuid::Builder::from_random_bytes(b).into_uuid()
        });
        MailboxConfig { uuid, settings: settings.clone() }
    }

    pub fn label(&self) -> String {
        let s = &self.settings;
        let kind = match s.kind {
            MailboxKind::Pop => "POP3",
            MailboxKind::Imap => "IMAP",
        };
        // Not a URL: usernames are often e-mail addresses, and
        // "pop://bounces@site.com@mail.site.com:995" reads as nonsense.
        format!("{} at {}:{} ({kind})", s.username, s.host, s.port)
    }

    /// The `source` of bounces from this mailbox (listmonk: the host).
    pub fn source(&self) -> String {
        self.settings.host.clone()
    }

    pub fn security(&self) -> Security {
        if self.settings.tls_enabled {
            Security::Tls
        } else if self.settings.starttls {
            Security::StartTls
        } else {
            Security::Plain
        }
    }

    /// Prefix of the handled-message keys: a mailbox pointed at another
    /// server or user never mistakes that server's ids for handled ones.
    fn key_prefix(&self) -> String {
        let d = Sha256::digest(identity(&self.settings).as_bytes());
        hex::encode(&d[..6])
    }

    fn after(&self) -> imap::AfterProcessing {
        match self.settings.after_processing {
            AfterProcessing::Delete => imap::AfterProcessing::Delete,
            AfterProcessing::Move => imap::AfterProcessing::MoveTo(self.settings.move_to.clone()),
        }
    }

    /// The longest answer a server may send (a fetched message with its
    /// framing, a listing): twice max_message_size (dot-stuffing, literal
    /// overhead) plus room for the protocol's own lines.
    fn max_response(&self) -> usize {
        usize::try_from(self.settings.max_message_size).unwrap_or(usize::MAX).saturating_mul(2) + 65536
    }
}

fn identity(s: &MailboxSettings) -> String {
    let folder = if s.kind == MailboxKind::Imap { s.folder.as_str() } else { "" };
    format!("{:?}\n{}\n{}\n{}\n{}", s.kind, s.host.to_ascii_lowercase(), s.port, s.username, folder)
}

/// The mailboxes `settings` asks to scan: none while bounce.enabled is off.
pub fn enabled_mailboxes(settings: &Settings) -> Vec<MailboxConfig> {
    if !settings.bounce_enabled {
        return Vec::new();
    }
    settings.mailboxes.iter().filter(|m| m.enabled).map(MailboxConfig::new).collect()
}

/// How this installation's notices are read: the parser's options and the
/// attribution rules.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub parse: ParseOptions,
    pub attribution: AttributionRules,
}

/// The read options `settings` ask for.
pub fn read_options(settings: &Settings) -> ReadOptions {
    ReadOptions {
        parse: ParseOptions {
            classification: settings.classification,
            verp_template: (!settings.verp.address.is_empty()).then(|| settings.verp.address.clone()),
            ..ParseOptions::default()
        },
        attribution: AttributionRules::from_settings(settings),
    }
}

/// What a scan did. Message counts unless said otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScanCounts {
    /// Messages fetched and looked at.
    pub seen: u64,
    /// Bounce events recorded against a subscriber.
    pub recorded: u64,
    /// Bounce events for subscribers already blocklisted (not inserted, as listmonk).
    pub blocklisted: u64,
    /// Bounce events already recorded by an earlier scan (or another source).
    pub duplicates: u64,
    /// Bounce events kept as unmatched (no such subscriber).
    pub unmatched: u64,
    /// Bounce events kept as unverified (strict attribution, no evidence of
    /// a real send): recorded, acting on no one.
    pub unverified: u64,
    /// Messages kept in the database as not bounces (or unparseable, or naming nobody).
    pub not_bounces: u64,
    /// Messages deleted or moved from the server.
    pub removed: u64,
    /// Messages left on the server on purpose (too large to keep whole).
    pub left: u64,
    /// Messages larger than max_message_size, not fetched.
    pub too_large: u64,
    /// Messages not reached because of max_messages (the next scan takes them).
    pub deferred: u64,
    /// Parser failures (the messages are kept) plus a failed scan.
    pub errors: u64,
}

impl ScanCounts {
    pub fn add(&mut self, o: &ScanCounts) {
        self.seen += o.seen;
        self.recorded += o.recorded;
        self.blocklisted += o.blocklisted;
        self.duplicates += o.duplicates;
        self.unmatched += o.unmatched;
        self.unverified += o.unverified;
        self.not_bounces += o.not_bounces;
        self.removed += o.removed;
        self.left += o.left;
        self.too_large += o.too_large;
        self.deferred += o.deferred;
        self.errors += o.errors;
    }
}

/// The result of one scan.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub mailbox: Uuid,
    pub label: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub counts: ScanCounts,
    /// Why the scan failed; the counts say how far it got.
    pub error: Option<String>,
    /// The scan did not run because another process holds the mailbox's lease.
    pub skipped: Option<String>,
}

impl ScanReport {
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    pub fn elapsed(&self) -> Duration {
        (self.finished_at - self.started_at).to_std().unwrap_or_default()
    }
}

/// Observes a scan's progress (the CLI's progress bar).
pub trait Progress: Send + Sync {
    /// The scan will fetch `n` messages.
    fn listed(&self, _n: u64) {}
    /// `n` more messages are done.
    fn advanced(&self, _n: u64) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

/// Asks scans to stop after the message chunk in hand is committed.
#[derive(Debug, Clone)]
pub struct StopSignal {
    rx: watch::Receiver<bool>,
    /// Keeps a never-firing signal's channel open, so `wait` pends.
    _never: Option<Arc<watch::Sender<bool>>>,
}

impl StopSignal {
    pub fn new() -> (watch::Sender<bool>, StopSignal) {
        let (tx, rx) = watch::channel(false);
        (tx, StopSignal { rx, _never: None })
    }

    /// A signal that never fires.
    pub fn never() -> StopSignal {
        let (tx, rx) = watch::channel(false);
        StopSignal { rx, _never: Some(Arc::new(tx)) }
    }

    pub fn is_set(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once the signal fires (or its sender is gone).
    pub async fn wait(&mut self) {
        let _ = self.rx.wait_for(|v| *v).await;
    }
}

/// Tuning of scans.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub timeouts: Timeouts,
    /// Messages per fetch / record / delete round.
    pub chunk: usize,
    /// A kept (not bounce) message larger than this is stored truncated and left on the server.
    pub keep_limit: usize,
    /// How long a mailbox lease lasts without renewal.
    pub lease_ttl: Duration,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            timeouts: Timeouts::default(),
            chunk: 25,
            keep_limit: 1024 * 1024,
            lease_ttl: Duration::from_secs(600),
        }
    }
}

/// Scans mailboxes into a store through the intake. Cheap to clone.
#[derive(Clone)]
pub struct Scanner {
    /// Leases, handled messages, scan states: the scan's own bookkeeping.
    pub(crate) store: Arc<dyn Store>,
    /// Where the messages' outcomes are written.
    pub(crate) intake: Intake,
    /// This process's name in mailbox leases.
    pub(crate) owner: String,
    pub(crate) options: ScanOptions,
    /// Parses in flight at most, across every mailbox (one per core).
    parsers: Arc<Semaphore>,
    /// OAuth2 mailboxes' access tokens.
    pub(crate) oauth: OAuthTokens,
}

impl Scanner {
    pub fn new(store: Arc<dyn Store>, intake: Intake, options: ScanOptions) -> Scanner {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Scanner {
            oauth: OAuthTokens::new(store.clone()),
            store,
            intake,
            owner: lease_owner(),
            options,
            parsers: Arc::new(Semaphore::new(cores.max(2))),
        }
    }

    /// The access tokens of OAuth2 mailboxes (shared with connection tests).
    pub fn oauth(&self) -> &OAuthTokens {
        &self.oauth
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// One complete scan: takes the mailbox's lease, connects, scans,
    /// logs out, saves the outcome as the mailbox's state and gives the
    /// lease back. Never panics; failures are in the report.
    pub async fn scan(
        &self,
        mailbox: &MailboxConfig,
        parse: &ReadOptions,
        progress: &dyn Progress,
        stop: &StopSignal,
    ) -> ScanReport {
        let started_at = Utc::now();
        match self.take_lease(mailbox).await {
            Ok(true) => {}
            Ok(false) => return self.skipped(mailbox, started_at),
            Err(e) => return self.finish(mailbox, started_at, ScanCounts::default(), Err(e)).await,
        }
        let mut counts = ScanCounts::default();
        let result = match mailbox.settings.kind {
            MailboxKind::Pop => self.scan_pop(mailbox, parse, progress, stop, &mut counts).await,
            MailboxKind::Imap => match self.connect_imap(mailbox).await {
                Ok(mut session) => {
                    let r = self.scan_imap(&mut session, mailbox, parse, progress, stop, &mut counts).await;
                    if r.is_ok() {
                        let _ = session.logout().await;
                    }
                    r
                }
                Err(e) => Err(e),
            },
        };
        let report = self.finish(mailbox, started_at, counts, result).await;
        self.release_lease(mailbox).await;
        report
    }

    pub(crate) async fn take_lease(&self, mailbox: &MailboxConfig) -> Result<bool> {
        Ok(self
            .store
            .acquire_mailbox_lease(mailbox.uuid, &self.owner, self.options.lease_ttl, Utc::now())
            .await?)
    }

    pub(crate) async fn release_lease(&self, mailbox: &MailboxConfig) {
        if let Err(e) = self.store.release_mailbox_lease(mailbox.uuid, &self.owner).await {
            tracing::warn!(mailbox = %mailbox.label(), error = %e, "could not release the mailbox lease");
        }
    }

    pub(crate) fn skipped(&self, mailbox: &MailboxConfig, started_at: DateTime<Utc>) -> ScanReport {
        tracing::info!(mailbox = %mailbox.label(), "another rebound process is scanning this mailbox; skipped");
        ScanReport {
            mailbox: mailbox.uuid,
            label: mailbox.label(),
            started_at,
            finished_at: Utc::now(),
            counts: ScanCounts::default(),
            error: None,
            skipped: Some("another rebound process holds this mailbox's lease".into()),
        }
    }

    /// Logs the scan, saves it as the mailbox's state, and makes the report.
    pub(crate) async fn finish(
        &self,
        mailbox: &MailboxConfig,
        started_at: DateTime<Utc>,
        mut counts: ScanCounts,
        result: Result<()>,
    ) -> ScanReport {
        let error = result.err().map(|e| e.to_string());
        if error.is_some() {
            counts.errors += 1;
        }
        let report = ScanReport {
            mailbox: mailbox.uuid,
            label: mailbox.label(),
            started_at,
            finished_at: Utc::now(),
            counts,
            error,
            skipped: None,
        };
        let c = &report.counts;
        match &report.error {
            None => tracing::info!(
                mailbox = %report.label, seen = c.seen, recorded = c.recorded, duplicates = c.duplicates,
                unmatched = c.unmatched, not_bounces = c.not_bounces, removed = c.removed, errors = c.errors,
                elapsed_ms = report.elapsed().as_millis() as u64, "mailbox scanned"
            ),
            Some(e) => tracing::warn!(
                mailbox = %report.label, seen = c.seen, recorded = c.recorded, removed = c.removed,
                error = %e, "mailbox scan failed"
            ),
        }
        let saved = MailboxScan {
            label: report.label.clone(),
            started_at: report.started_at,
            finished_at: report.finished_at,
            counts: serde_json::to_value(report.counts).unwrap_or_default(),
            error: report.error.clone(),
        };
        if let Err(e) = self.store.save_mailbox_scan(mailbox.uuid, &saved).await {
            tracing::warn!(mailbox = %report.label, error = %e, "could not save the scan state");
        }
        report
    }

    async fn scan_pop(
        &self,
        mailbox: &MailboxConfig,
        parse: &ReadOptions,
        progress: &dyn Progress,
        stop: &StopSignal,
        counts: &mut ScanCounts,
    ) -> Result<()> {
        let s = &mailbox.settings;
        let mut pop = Pop3::connect(
            &s.host,
            s.port,
            mailbox.security(),
            s.tls_skip_verify,
            self.options.timeouts,
            mailbox.max_response(),
        )
        .await?;
        pop.log_in(&Login::of(mailbox, &self.oauth).await?).await?;
        let mut remote = PopRemote { pop, prefix: mailbox.key_prefix() };
        let result = self.run(&mut remote, mailbox, parse, progress, stop, counts).await;
        // QUIT makes the DELEs take effect (RFC 1939 §6). After a failure of
        // the store (not of the connection) it still commits the chunks that
        // were durable before it.
        let quit = remote.pop.quit().await;
        if quit.is_err() {
            // No deletion took effect; the next scan finds the messages
            // remembered as handled and deletes them then.
            counts.removed = 0;
        }
        result.and(quit)
    }

    pub(crate) async fn connect_imap(&self, mailbox: &MailboxConfig) -> Result<Imap> {
        let s = &mailbox.settings;
        let login = Login::of(mailbox, &self.oauth).await?;
        let mut imap = Imap::connect(
            &s.host,
            s.port,
            mailbox.security(),
            s.tls_skip_verify,
            self.options.timeouts,
            &login,
            &s.folder,
            mailbox.max_response(),
        )
        .await?;
        if let imap::AfterProcessing::MoveTo(folder) = mailbox.after() {
            imap.ensure_folder(&folder).await?;
        }
        Ok(imap)
    }

    /// One scan over an open IMAP session (the supervisor keeps the session
    /// open between scans to IDLE on it).
    pub(crate) async fn scan_imap(
        &self,
        session: &mut Imap,
        mailbox: &MailboxConfig,
        parse: &ReadOptions,
        progress: &dyn Progress,
        stop: &StopSignal,
        counts: &mut ScanCounts,
    ) -> Result<()> {
        session.drain_notifications();
        let mut remote = ImapRemote { imap: session, prefix: mailbox.key_prefix(), after: mailbox.after() };
        self.run(&mut remote, mailbox, parse, progress, stop, counts).await
    }

    async fn run(
        &self,
        remote: &mut dyn Remote,
        mailbox: &MailboxConfig,
        parse: &ReadOptions,
        progress: &dyn Progress,
        stop: &StopSignal,
        counts: &mut ScanCounts,
    ) -> Result<()> {
        let s = &mailbox.settings;
        let listing = remote.list().await?;
        let handled = self.store.mailbox_handled(mailbox.uuid).await?;
        // Remembered messages no longer on the server are done with.
        let present: HashSet<&str> = listing.iter().filter_map(|l| l.key.as_deref()).collect();
        let gone: Vec<String> = handled.keys().filter(|k| !present.contains(k.as_str())).cloned().collect();
        self.store.forget_mailbox_handled(mailbox.uuid, &gone).await?;

        let mut redo = Vec::new();
        let mut todo = Vec::new();
        for l in listing {
            match l.key.as_ref().and_then(|k| handled.get(k)) {
                Some(Disposition::Remove) => redo.push(l.id),
                Some(Disposition::Leave) => counts.left += 1,
                None if l.size > s.max_message_size => {
                    counts.too_large += 1;
                    tracing::warn!(
                        mailbox = %mailbox.label(), size = l.size, limit = s.max_message_size,
                        "a message larger than max_message_size stays on the server unread"
                    );
                }
                None => todo.push(l),
            }
        }
        let limit = s.max_messages as usize;
        if todo.len() > limit {
            counts.deferred = (todo.len() - limit) as u64;
            todo.truncate(limit);
        }
        progress.listed(todo.len() as u64);

        // Handled by an earlier scan whose deletion did not take effect.
        for ids in redo.chunks(self.options.chunk.max(1)) {
            remote.remove(ids).await?;
            counts.removed += ids.len() as u64;
        }

        let ctx = MessageContext {
            mailbox_uuid: mailbox.uuid,
            source: mailbox.source(),
            parse: parse.parse.clone(),
            keep_limit: self.options.keep_limit,
            attribution: parse.attribution.clone(),
        };
        let mut lease_renewed = Instant::now();
        for chunk in todo.chunks(self.options.chunk.max(1)) {
            if stop.is_set() {
                tracing::info!(mailbox = %mailbox.label(), "stopping the scan after the last committed message");
                break;
            }
            if lease_renewed.elapsed() > self.options.lease_ttl / 3 {
                if !self.take_lease(mailbox).await? {
                    return Err(MailboxError::Store("lost the mailbox lease to another process".into()));
                }
                lease_renewed = Instant::now();
            }
            self.chunk(remote, chunk, &ctx, s.parse_timeout, counts).await?;
            progress.advanced(chunk.len() as u64);
        }
        Ok(())
    }

    /// Parses one message on a blocking thread, for at most `limit`. A
    /// message that takes longer is kept unparsed, so it is deleted (or
    /// remembered as handled) like any kept message and never parsed again
    /// after a restart. Its thread cannot be stopped: it finishes on its own
    /// (the parser is linear in its input) while holding one of the parse
    /// permits, so abandoned parses never take more than those threads.
    async fn process(
        &self,
        raw: Vec<u8>,
        ctx: &MessageContext,
        limit: Duration,
    ) -> Result<message::Processed> {
        let failed =
            |e: tokio::task::JoinError| MailboxError::Protocol(format!("the parser thread failed: {e}"));
        let permit =
            self.parsers.clone().acquire_owned().await.map_err(|e| MailboxError::Protocol(e.to_string()))?;
        let raw = Arc::new(raw);
        let (bytes, context) = (raw.clone(), ctx.clone());
        let parsing = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            message::process(&bytes, &context)
        });
        match tokio::time::timeout(limit, parsing).await {
            Ok(done) => done.map_err(failed),
            Err(_) => {
                let why = format!(
                    "parsing took longer than {} (the mailbox's parse_timeout): kept unparsed, not tried again",
                    humantime::format_duration(limit)
                );
                tracing::warn!(source = %ctx.source, size = raw.len(), "{why}");
                let context = ctx.clone();
                tokio::task::spawn_blocking(move || message::unparsed(&raw, &context, why))
                    .await
                    .map_err(failed)
            }
        }
    }

    /// Steps 1 to 5 of the module docs for one chunk.
    async fn chunk(
        &self,
        remote: &mut dyn Remote,
        chunk: &[Listed],
        ctx: &MessageContext,
        parse_timeout: Duration,
        counts: &mut ScanCounts,
    ) -> Result<()> {
        let fetched = remote.fetch(chunk).await?;
        counts.seen += fetched.len() as u64;
        let keys: HashMap<u32, Option<String>> = chunk.iter().map(|l| (l.id, l.key.clone())).collect();

        let mut processed = Vec::with_capacity(fetched.len());
        for (id, raw) in fetched {
            processed.push((id, self.process(raw, ctx, parse_timeout).await?));
        }

        let mut events: Vec<BounceEvent> = Vec::new();
        let mut kept: Vec<NewMailboxMessage> = Vec::new();
        let mut handled: Vec<(String, Disposition)> = Vec::new();
        let mut remove: Vec<u32> = Vec::new();
        for (id, p) in processed {
            let disposition = match p.outcome {
                Outcome::Bounce(evs) => {
                    events.extend(evs);
                    Disposition::Remove
                }
                Outcome::Keep(k) => {
                    if k.kind == rebound_store::KeptKind::ParseError {
                        counts.errors += 1;
                    }
                    counts.not_bounces += 1;
                    let d = if k.left_on_server { Disposition::Leave } else { Disposition::Remove };
                    kept.push(k);
                    d
                }
            };
            match disposition {
                Disposition::Remove => remove.push(id),
                Disposition::Leave => counts.left += 1,
            }
            if let Some(Some(key)) = keys.get(&id) {
                handled.push((key.clone(), disposition));
            }
        }

        let chunk = MailboxChunk { mailbox: ctx.mailbox_uuid, bounces: events, kept, handled };
        let written = self.intake.write_mailbox_chunk(chunk).await;
        for o in &written.outcomes {
            match o {
                RecordOutcome::Recorded { .. } => counts.recorded += 1,
                RecordOutcome::Blocklisted { .. } => counts.blocklisted += 1,
                RecordOutcome::Duplicate => counts.duplicates += 1,
                RecordOutcome::Unmatched => counts.unmatched += 1,
                RecordOutcome::Unverified => counts.unverified += 1,
            }
        }
        written.result?;
        remote.remove(&remove).await?;
        counts.removed += remove.len() as u64;
        Ok(())
    }
}

/// A message on the server: its number (POP3) or UID (IMAP), its
/// remembered-as-handled key when the server gives stable ids, its size.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub id: u32,
    pub key: Option<String>,
    pub size: u64,
}

/// What a scan needs from a protocol.
#[async_trait]
pub(crate) trait Remote: Send {
    async fn list(&mut self) -> Result<Vec<Listed>>;
    /// The messages' bytes; a message gone meanwhile is missing.
    async fn fetch(&mut self, msgs: &[Listed]) -> Result<Vec<(u32, Vec<u8>)>>;
    /// Deletes or moves (POP3: marks, applied at QUIT).
    async fn remove(&mut self, ids: &[u32]) -> Result<()>;
}

struct PopRemote {
    pop: Pop3,
    prefix: String,
}

#[async_trait]
impl Remote for PopRemote {
    async fn list(&mut self) -> Result<Vec<Listed>> {
        let uids: HashMap<u32, String> = self.pop.uidl().await?.unwrap_or_default().into_iter().collect();
        let sizes = self.pop.list().await?;
        Ok(sizes
            .into_iter()
            .map(|(n, size)| Listed {
                id: n,
                key: uids.get(&n).map(|u| format!("{}:{u}", self.prefix)),
                size,
            })
            .collect())
    }

    async fn fetch(&mut self, msgs: &[Listed]) -> Result<Vec<(u32, Vec<u8>)>> {
        let mut out = Vec::with_capacity(msgs.len());
        for m in msgs {
            out.push((m.id, self.pop.retr(m.id).await?));
        }
        Ok(out)
    }

    async fn remove(&mut self, ids: &[u32]) -> Result<()> {
        for n in ids {
            self.pop.dele(*n).await?;
        }
        Ok(())
    }
}

struct ImapRemote<'a> {
    imap: &'a mut Imap,
    prefix: String,
    after: imap::AfterProcessing,
}

#[async_trait]
impl Remote for ImapRemote<'_> {
    async fn list(&mut self) -> Result<Vec<Listed>> {
        let validity = self.imap.uid_validity;
        Ok(self
            .imap
            .list()
            .await?
            .into_iter()
            .map(|(uid, size)| Listed {
                id: uid,
                key: Some(format!("{}:{validity}:{uid}", self.prefix)),
                size,
            })
            .collect())
    }

    async fn fetch(&mut self, msgs: &[Listed]) -> Result<Vec<(u32, Vec<u8>)>> {
        let uids: Vec<u32> = msgs.iter().map(|m| m.id).collect();
        self.imap.fetch(&uids).await
    }

    async fn remove(&mut self, ids: &[u32]) -> Result<()> {
        self.imap.remove(ids, &self.after).await
    }
}

/// This process's name in leases: host, pid and a random part.
fn lease_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "rebound".to_string());
    let random = Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}
