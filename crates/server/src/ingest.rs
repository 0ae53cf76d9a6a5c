//! Group commit: concurrent requests hand their events to a few writer tasks,
//! which record whatever has queued up in ONE transaction and answer every
//! request once that transaction is durable. Under load a commit (one fsync)
//! carries hundreds of bounces; when idle a lone bounce is written at once,
//! with no batching delay.

use std::sync::Arc;

use chrono::Utc;
use rebound_core::BounceEvent;
use rebound_store::{RecordOutcome, Store, StoreError};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::metrics::Metrics;
use crate::settings::SettingsHandle;

type Reply = oneshot::Sender<Result<Vec<RecordOutcome>, Arc<StoreError>>>;

struct Job {
    events: Vec<BounceEvent>,
    reply: Reply,
}

/// Tuning of the writers.
#[derive(Debug, Clone, Copy)]
pub struct IngestConfig {
    /// Concurrent transactions. SQLite has one writer, so 1 there; PostgreSQL
    /// overlaps a few commits.
    pub writers: usize,
    /// Events per transaction at most.
    pub max_batch: usize,
}

#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the bounce could not be stored: {0}")]
    Store(Arc<StoreError>),
    #[error("rebound is shutting down")]
    Closed,
}

impl Ingest {
    /// Starts the writers. They stop when every `Ingest` clone is dropped and
    /// the queue is drained, so nothing accepted is left unwritten.
    pub fn start(
        store: Arc<dyn Store>,
        settings: SettingsHandle,
        config: IngestConfig,
        metrics: Arc<Metrics>,
    ) -> (Ingest, Vec<tokio::task::JoinHandle<()>>) {
        let (tx, rx) = mpsc::channel::<Job>(config.max_batch * config.writers.max(1) * 4);
        let rx = Arc::new(Mutex::new(rx));
        let handles = (0..config.writers.max(1))
            .map(|_| {
                let (store, settings, rx) = (store.clone(), settings.clone(), rx.clone());
                tokio::spawn(writer(store, settings, rx, config.max_batch, metrics.clone()))
            })
            .collect();
        (Ingest { tx }, handles)
    }

    /// Records events (in one transaction with whatever else is queued) and
    /// returns once they are durable.
    pub async fn record(&self, events: Vec<BounceEvent>) -> Result<Vec<RecordOutcome>, IngestError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, wait) = oneshot::channel();
        self.tx.send(Job { events, reply }).await.map_err(|_| IngestError::Closed)?;
        match wait.await {
            Ok(Ok(outcomes)) => Ok(outcomes),
            Ok(Err(e)) => Err(IngestError::Store(e)),
            Err(_) => Err(IngestError::Closed),
        }
    }
}

async fn writer(
    store: Arc<dyn Store>,
    settings: SettingsHandle,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    max_batch: usize,
    metrics: Arc<Metrics>,
) {
    loop {
        let jobs = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut n = first.events.len();
            let mut jobs = vec![first];
            while n < max_batch {
                match rx.try_recv() {
                    Ok(job) => {
                        n += job.events.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            jobs
        };
        commit(store.as_ref(), &settings, jobs, &metrics).await;
    }
}

async fn commit(store: &dyn Store, settings: &SettingsHandle, jobs: Vec<Job>, metrics: &Metrics) {
    let actions = settings.get().actions.clone();
    let events: Vec<BounceEvent> = jobs.iter().flat_map(|j| j.events.iter().cloned()).collect();
    let started = std::time::Instant::now();
    match store.record_bounces(&events, &actions, Utc::now()).await {
        Ok(mut outcomes) => {
            metrics.commit(&events, &outcomes, started.elapsed());
            tracing::debug!(
                events = events.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "batch committed"
            );
            for job in jobs {
                let rest = outcomes.split_off(job.events.len());
                let _ = job.reply.send(Ok(outcomes));
                outcomes = rest;
            }
        }
        Err(e) if jobs.len() > 1 => {
            // One bad request must not fail the others: record each on its own.
            metrics.commit_failed(started.elapsed());
            tracing::warn!(error = %e, jobs = jobs.len(), "batch failed; retrying its requests one by one");
            for job in jobs {
                let started = std::time::Instant::now();
                let r = store.record_bounces(&job.events, &actions, Utc::now()).await.map_err(Arc::new);
                match &r {
                    Ok(outcomes) => metrics.commit(&job.events, outcomes, started.elapsed()),
                    Err(_) => metrics.commit_failed(started.elapsed()),
                }
                let _ = job.reply.send(r);
            }
        }
        Err(e) => {
            metrics.commit_failed(started.elapsed());
            let e = Arc::new(e);
            for job in jobs {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}
