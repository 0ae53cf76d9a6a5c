//! The sender: the live `smtp` settings, a pool per server entry, retries.
//!
//! Pools are looked up from the settings on every send, so a changed
//! `smtp` entry takes effect at once: an entry whose settings differ from
//! its pool's gets a new pool (connections of the old one close once the
//! sends in flight on them finish).
//!
//! Each message is tried `1 + max_msg_retries` times (listmonk's setting)
//! across the enabled servers in turn, waiting `retry_delay`, then twice
//! that, and so on between tries. A 5xx refusal of RCPT TO or DATA is
//! final at once: it is the recipient's bounce. A 4xx refusal is retried
//! and becomes a (soft) bounce only when the last try still gets one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rebound_core::Settings;
use serde::Serialize;

use crate::compose::{CampaignContent, Recipient, compose, new_message_id};
use crate::smtp::{Attempt, Pool, Reply, SendError, Stage};

/// Tuning that is not in the settings.
#[derive(Debug, Clone, Copy)]
pub struct SenderOptions {
    /// Longest wait for any one reply (and for connecting).
    pub io_timeout: Duration,
    /// Wait before the first retry; doubled for each further one.
    pub retry_delay: Duration,
}

impl Default for SenderOptions {
    fn default() -> Self {
        SenderOptions { io_timeout: Duration::from_secs(60), retry_delay: Duration::from_secs(1) }
    }
}

/// How a message ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DeliveryResult {
    /// The server took responsibility for the message (250 after DATA).
    Accepted { reply: Reply },
    /// The server refused the recipient: a 5xx to RCPT TO or DATA, or a
    /// 4xx that every try got.
    Rejected { stage: Stage, reply: Reply },
    /// Not handed over, and not about the recipient (no server, connection,
    /// TLS, authentication, refused sender).
    Failed {
        #[serde(serialize_with = "display")]
        error: SendError,
    },
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn display<S: serde::Serializer>(e: &SendError, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(e)
}

/// One message's delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// host:port of the server of the last try.
    pub server: String,
    /// MAIL FROM of the last try.
    pub envelope_from: String,
    pub message_id: String,
    pub attempts: u32,
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
    #[serde(flatten)]
    pub result: DeliveryResult,
}

pub struct Sender {
    pools: Mutex<Vec<Arc<Pool>>>,
    next: AtomicUsize,
    options: SenderOptions,
}

impl Default for Sender {
    fn default() -> Self {
        Sender::new(SenderOptions::default())
    }
}

impl Sender {
    pub fn new(options: SenderOptions) -> Sender {
        Sender { pools: Mutex::new(Vec::new()), next: AtomicUsize::new(0), options }
    }

    /// The pools of the enabled servers, made anew for changed entries.
    fn pools(&self, settings: &Settings) -> Vec<Arc<Pool>> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        let current: Vec<Arc<Pool>> = settings
            .smtp
            .iter()
            .filter(|s| s.enabled)
            .map(|s| match pools.iter().find(|p| p.server == *s) {
                Some(p) => p.clone(),
                None => Arc::new(Pool::new(s.clone(), self.options.io_timeout)),
            })
            .collect();
        *pools = current.clone();
        current
    }

    /// Sends `campaign` to `to` through the enabled servers of `settings`.
    pub async fn send(&self, settings: &Settings, campaign: &CampaignContent, to: &Recipient) -> Delivery {
        let started = Instant::now();
        let message_id = new_message_id(&campaign.from_email);
        let pools = self.pools(settings);
        let mut delivery = Delivery {
            server: String::new(),
            envelope_from: String::new(),
            message_id: message_id.clone(),
            attempts: 0,
            elapsed: Duration::ZERO,
            result: DeliveryResult::Failed { error: SendError::NoServer },
        };
        if pools.is_empty() {
            return delivery;
        }
        let tries = 1 + pools[0].server.max_msg_retries;
        for attempt in 1..=tries {
            let pool = &pools[self.next.fetch_add(1, Ordering::Relaxed) % pools.len()];
            delivery.server = pool.label.clone();
            delivery.attempts = attempt;
            let out = match compose(campaign, to, &pool.server, &settings.verp, &message_id) {
                Ok(out) => out,
                Err(e) => {
                    delivery.result = DeliveryResult::Failed { error: e.into() };
                    break;
                }
            };
            delivery.envelope_from = out.envelope_from.to_string();
            let last = attempt == tries;
            match pool.deliver(&out).await {
                Attempt::Accepted(reply) => {
                    delivery.result = DeliveryResult::Accepted { reply };
                    break;
                }
                Attempt::Refused { stage, reply } if reply.code >= 500 || last => {
                    delivery.result = DeliveryResult::Rejected { stage, reply };
                    break;
                }
                Attempt::Failed { error, transient } if !transient || last => {
                    delivery.result = DeliveryResult::Failed { error };
                    break;
                }
                Attempt::Refused { stage, reply } => {
                    tracing::info!(server = %pool.label, recipient = %to.email, stage = stage.as_str(), reply = %reply, attempt, "temporary refusal; retrying");
                }
                Attempt::Failed { error, .. } => {
                    tracing::warn!(recipient = %to.email, error = %error, attempt, "send failed; retrying");
                }
            }
            let delay = self.options.retry_delay.saturating_mul(1 << (attempt - 1).min(16));
            tokio::time::sleep(delay).await;
        }
        delivery.elapsed = started.elapsed();
        delivery
    }
}
