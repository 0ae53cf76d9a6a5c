//! Group commit: concurrent requests hand their events to a few writer tasks,
//! which record whatever has queued up in ONE transaction and answer every
//! request once that transaction is durable. Under load a commit (one fsync)
//! carries hundreds of bounces; when idle a lone bounce is written at once,
//! with no batching delay.
//!
//! With several writers (PostgreSQL), a writer that finds another one
//! committing does not start a tiny transaction of its own: it keeps
//! collecting until that commit is done, its batch is full, or [`LINGER`]
//! has passed. Commits then overlap (one flushes while the next runs its
//! statements) without multiplying statements per bounce.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use rebound_core::BounceEvent;
use rebound_store::{RecordOutcome, StoreError};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::IntakeError;
use crate::ports::{ActionsSource, CommitObserver, IntakeStore};

type Reply = oneshot::Sender<Result<Vec<RecordOutcome>, Arc<StoreError>>>;

/// How long a writer waits for more events while another writer commits.
pub const LINGER: Duration = Duration::from_millis(3);

struct Job {
    events: Vec<BounceEvent>,
    reply: Reply,
}

/// Tuning of the writers.
#[derive(Debug, Clone, Copy)]
pub struct IntakeConfig {
    /// Concurrent transactions. SQLite has one writer, so 1 there; PostgreSQL
    /// overlaps a few commits.
    pub writers: usize,
    /// Events per transaction at most.
    pub max_batch: usize,
}

impl Default for IntakeConfig {
    /// One writer, batches of at most 512: what a one-off command needs.
    fn default() -> Self {
        IntakeConfig { writers: 1, max_batch: 512 }
    }
}

/// The queue in front of the writers. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Queue {
    tx: mpsc::Sender<Job>,
}

/// What every writer is given.
#[derive(Clone)]
pub(crate) struct Writing {
    pub store: Arc<dyn IntakeStore>,
    pub actions: Arc<dyn ActionsSource>,
    pub observer: Arc<dyn CommitObserver>,
}

impl Queue {
    /// Starts the writers. They stop when every `Queue` clone is dropped and
    /// the queue is drained, so nothing accepted is left unwritten.
    pub(crate) fn start(writing: Writing, config: IntakeConfig) -> (Queue, Vec<tokio::task::JoinHandle<()>>) {
        let (tx, rx) = mpsc::channel::<Job>(config.max_batch * config.writers.max(1) * 4);
        let shared = Arc::new(Shared {
            rx: Mutex::new(rx),
            committing: AtomicUsize::new(0),
            committed: Notify::new(),
            max_batch: config.max_batch.max(1),
        });
        let handles = (0..config.writers.max(1))
            .map(|_| tokio::spawn(writer(writing.clone(), shared.clone())))
            .collect();
        (Queue { tx }, handles)
    }

    /// Records events (in one transaction with whatever else is queued) and
    /// returns once they are durable.
    pub(crate) async fn record(&self, events: Vec<BounceEvent>) -> Result<Vec<RecordOutcome>, IntakeError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, wait) = oneshot::channel();
        self.tx.send(Job { events, reply }).await.map_err(|_| IntakeError::Closed)?;
        match wait.await {
            Ok(Ok(outcomes)) => Ok(outcomes),
            Ok(Err(e)) => Err(IntakeError::Record(e)),
            Err(_) => Err(IntakeError::Closed),
        }
    }
}

/// What the writers share: the queue, and how many of them are committing.
struct Shared {
    rx: Mutex<mpsc::Receiver<Job>>,
    committing: AtomicUsize,
    committed: Notify,
    max_batch: usize,
}

async fn writer(writing: Writing, shared: Arc<Shared>) {
    loop {
        let Some(jobs) = next_batch(&shared).await else { return };
        shared.committing.fetch_add(1, Ordering::AcqRel);
        commit(&writing, jobs).await;
        shared.committing.fetch_sub(1, Ordering::AcqRel);
        shared.committed.notify_waiters();
    }
}

/// The next batch: whatever is queued, and, while another writer commits,
/// what arrives until it is done (at most [`LINGER`]). None once the queue is
/// closed and empty.
async fn next_batch(shared: &Shared) -> Option<Vec<Job>> {
    let mut rx = shared.rx.lock().await;
    let first = rx.recv().await?;
    let mut n = first.events.len();
    let mut jobs = vec![first];
    let deadline = tokio::time::Instant::now() + LINGER;
    loop {
        while n < shared.max_batch {
            match rx.try_recv() {
                Ok(job) => {
                    n += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        // Registered before the check, so a commit ending in between still wakes us.
        let committed = shared.committed.notified();
        if n >= shared.max_batch || shared.committing.load(Ordering::Acquire) == 0 {
            return Some(jobs);
        }
        tokio::select! {
            job = rx.recv() => match job {
                Some(job) => {
                    n += job.events.len();
                    jobs.push(job);
                }
                None => return Some(jobs),
            },
            () = committed => {}
            () = tokio::time::sleep_until(deadline) => return Some(jobs),
        }
    }
}

async fn commit(writing: &Writing, jobs: Vec<Job>) {
    let (store, observer) = (writing.store.as_ref(), writing.observer.as_ref());
    // Read at each commit: a change of the settings applies to the next batch.
    let actions = writing.actions.current();
    // The events move into one batch; each request keeps its reply and how many it sent.
    let mut replies = Vec::with_capacity(jobs.len());
    let mut events = Vec::with_capacity(jobs.len());
    for job in jobs {
        replies.push((job.reply, job.events.len()));
        events.extend(job.events);
    }
    let started = std::time::Instant::now();
    match store.record_bounces(&events, &actions, Utc::now()).await {
        Ok(outcomes) => {
            observer.committed(&events, &outcomes, started.elapsed());
            tracing::debug!(
                events = events.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "batch committed"
            );
            let mut outcomes = outcomes.into_iter();
            for (reply, n) in replies {
                let _ = reply.send(Ok(outcomes.by_ref().take(n).collect()));
            }
        }
        Err(e) if replies.len() > 1 => {
            // One bad request must not fail the others: record each on its own.
            observer.commit_failed(started.elapsed());
            tracing::warn!(
                error = e.to_string(),
                requests = replies.len(),
                "batch failed; retrying its requests one by one"
            );
            let mut offset = 0;
            for (reply, n) in replies {
                let own = &events[offset..offset + n];
                offset += n;
                let started = std::time::Instant::now();
                let r = store.record_bounces(own, &actions, Utc::now()).await.map_err(Arc::new);
                match &r {
                    Ok(outcomes) => observer.committed(own, outcomes, started.elapsed()),
                    Err(_) => observer.commit_failed(started.elapsed()),
                }
                let _ = reply.send(r);
            }
        }
        Err(e) => {
            observer.commit_failed(started.elapsed());
            let e = Arc::new(e);
            for (reply, _) in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}
