//! Campaign test sends (listmonk's POST /api/campaigns/{id}/test and
//! `rebound send-test`): the campaign to each given subscriber, and every
//! refusal of a recipient recorded as a bounce with source "smtp".

use std::collections::BTreeMap;

use rebound_core::{BounceEvent, BounceType, EmailAddress, Settings, SubscriberRef};
use rebound_intake::{Intake, IntakeError};
use rebound_store::{Campaign, RecordOutcome, Store, StoreError, Subscriber};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::compose::{CampaignContent, Recipient};
use crate::sender::{Delivery, DeliveryResult, Sender};
use crate::smtp::Stage;

/// The bounce `source` of refusals at send time.
pub const SOURCE: &str = "smtp";

/// Campaign fields a test may override (listmonk's test call sends the
/// campaign as edited, unsaved); None keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct CampaignOverrides {
    pub subject: Option<String>,
    pub from_email: Option<String>,
    pub body: Option<String>,
    pub content_type: Option<String>,
    pub headers: Option<Vec<BTreeMap<String, String>>>,
}

#[derive(Debug, Clone)]
pub struct TestSend {
    pub campaign_id: i64,
    /// Subscribers' e-mail addresses.
    pub emails: Vec<String>,
    pub overrides: CampaignOverrides,
}

#[derive(Debug, thiserror::Error)]
pub enum TestSendError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Refusals that could not be recorded.
    #[error("the bounces could not be recorded: {0}")]
    Record(IntakeError),
}

/// What happened to one recipient.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Handed over to the SMTP server.
    Sent,
    /// Refused by the server: a bounce.
    Bounced,
    /// Not handed over for a reason that is not the recipient's.
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct BounceRecord {
    #[serde(rename = "type")]
    pub bounce_type: BounceType,
    pub reason: String,
    pub status: Option<String>,
    /// What recording did ("recorded count=1 action=blocklist",
    /// "blocklisted", ...), or why it was not recorded.
    pub recorded: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecipientResult {
    pub email: String,
    pub subscriber_uuid: Uuid,
    pub outcome: Outcome,
    pub delivery: Delivery,
    pub bounce: Option<BounceRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub campaign_id: i64,
    pub campaign_uuid: Uuid,
    pub results: Vec<RecipientResult>,
}

impl TestReport {
    pub fn failures(&self) -> impl Iterator<Item = &RecipientResult> {
        self.results.iter().filter(|r| matches!(r.outcome, Outcome::Failed))
    }
}

/// Sends the campaign to each subscriber (concurrently, within each
/// server's `max_conns`) and records each refusal as a bounce through the
/// intake when its send ends, while `bounce.enabled` is on.
pub async fn send_test(
    store: &dyn Store,
    sender: &Sender,
    settings: &Settings,
    intake: &Intake,
    req: TestSend,
) -> Result<TestReport, TestSendError> {
    if req.emails.is_empty() {
        return Err(TestSendError::Invalid("no subscribers to send the test to".into()));
    }
    let campaign = store.get_campaign(req.campaign_id).await?;
    let content = content(&campaign, req.overrides)?;
    let mut recipients = Vec::with_capacity(req.emails.len());
    for raw in &req.emails {
        let email = EmailAddress::parse(raw).map_err(|e| TestSendError::Invalid(e.to_string()))?;
        let sub = store
            .find_subscriber(&SubscriberRef::by_email(email.clone()))
            .await?
            .ok_or_else(|| TestSendError::Invalid(format!("{email} is not a subscriber")))?;
        if !recipients.iter().any(|(r, _): &(Recipient, Subscriber)| r.uuid.to_string() == sub.uuid) {
            recipients.push((recipient(&sub)?, sub));
        }
    }

    // Each refusal is recorded as soon as its send ends (the intake
    // commits concurrent ones together), not after the slowest send.
    let sends = recipients.iter().map(|(to, _)| {
        let content = &content;
        async move {
            let delivery = sender.send(settings, content, to).await;
            let (outcome, bounce) = match &delivery.result {
                DeliveryResult::Accepted { .. } => (Outcome::Sent, None),
                DeliveryResult::Failed { .. } => (Outcome::Failed, None),
                DeliveryResult::Rejected { stage, reply } => {
                    let (event, mut record) = rejection(&delivery, *stage, reply, to, content.uuid, settings);
                    if settings.bounce_enabled {
                        let outcomes = intake.record(vec![event]).await.map_err(TestSendError::Record)?;
                        record.recorded = outcomes.first().map(RecordOutcome::describe).unwrap_or_default();
                    }
                    (Outcome::Bounced, Some(record))
                }
            };
            Ok::<_, TestSendError>(RecipientResult {
                email: to.email.clone(),
                subscriber_uuid: to.uuid,
                outcome,
                delivery,
                bounce,
            })
        }
    });
    // join_all, not try_join_all: a recording error must not cut the other
    // sends off in the middle of their transactions.
    let results = futures::future::join_all(sends).await.into_iter().collect::<Result<Vec<_>, _>>()?;
    for r in &results {
        tracing::info!(
            campaign = req.campaign_id,
            recipient = %r.email,
            outcome = ?r.outcome,
            server = %r.delivery.server,
            attempts = r.delivery.attempts,
            "test send"
        );
    }
    Ok(TestReport { campaign_id: campaign.id, campaign_uuid: content.uuid, results })
}

/// The bounce event for a refused recipient, and how it reads in the report.
pub fn rejection(
    delivery: &Delivery,
    stage: Stage,
    reply: &crate::smtp::Reply,
    to: &Recipient,
    campaign_uuid: Uuid,
    settings: &Settings,
) -> (BounceEvent, BounceRecord) {
    let typed = rebound_dsn::classify_smtp_reply(
        reply.code,
        &reply.text,
        stage == Stage::Data,
        settings.classification,
    );
    // A 4xx is a refusal for now: it can only count as soft, however the
    // text reads, and only once every try got it.
    let bounce_type = if reply.code < 500 { BounceType::Soft } else { typed.bounce_type };
    let email = EmailAddress::parse(&to.email).ok();
    let mut event = BounceEvent::new(SubscriberRef { uuid: Some(to.uuid), email }, bounce_type, SOURCE);
    event.campaign_uuid = Some(campaign_uuid);
    event.meta = json!({
        "recipient": to.email,
        "stage": stage,
        "reply_code": reply.code,
        "status": typed.status,
        "reason": typed.reason.as_str(),
        "diagnostic": reply.text,
        "server": delivery.server,
        "envelope_from": delivery.envelope_from,
        "message_id": delivery.message_id,
        "attempts": delivery.attempts,
    });
    event.event_id = Some(delivery.message_id.clone());
    let recorded = if settings.bounce_enabled {
        String::new()
    } else {
        "not recorded: bounce processing is disabled (bounce.enabled)".to_string()
    };
    let record = BounceRecord {
        bounce_type,
        reason: typed.reason.as_str().to_string(),
        status: typed.status,
        recorded,
    };
    (event, record)
}

fn content(c: &Campaign, o: CampaignOverrides) -> Result<CampaignContent, TestSendError> {
    let uuid = Uuid::parse_str(&c.uuid)
        .map_err(|_| TestSendError::Invalid(format!("campaign {} has an invalid uuid", c.id)))?;
    let headers = match o.headers {
        Some(h) => h,
        None => headers_of(&c.headers),
    };
    Ok(CampaignContent {
        uuid,
        subject: o.subject.unwrap_or_else(|| c.subject.clone()),
        from_email: o.from_email.unwrap_or_else(|| c.from_email.clone()),
        body: o.body.unwrap_or_else(|| c.body.clone()),
        content_type: o.content_type.unwrap_or_else(|| c.content_type.clone()),
        headers,
    })
}

/// A campaign's `headers` JSON (`[{"Name": "value"}]`); other shapes give none.
pub fn headers_of(v: &Value) -> Vec<BTreeMap<String, String>> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_object())
                .map(|h| {
                    h.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn recipient(s: &Subscriber) -> Result<Recipient, TestSendError> {
    let uuid = Uuid::parse_str(&s.uuid)
        .map_err(|_| TestSendError::Invalid(format!("subscriber {} has an invalid uuid", s.id)))?;
    Ok(Recipient { uuid, email: s.email.clone(), name: s.name.clone() })
}
