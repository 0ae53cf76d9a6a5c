//! Builders for the inputs tests feed rebound: bounce events as every source
//! reports them. `bounce("a@example.com", BounceType::Hard).source("ses").event_id("e1")`.

use chrono::{DateTime, Utc};
use rebound_core::{BounceEvent, BounceType, EmailAddress, SubscriberRef};
use serde_json::Value;
use uuid::Uuid;

/// A bounce of `email` from the source "api", with an empty meta object.
pub fn bounce(email: &str, bounce_type: BounceType) -> BounceEvent {
    let email = EmailAddress::parse(email).unwrap_or_else(|e| panic!("fixture address {email:?}: {e}"));
    BounceEvent::new(SubscriberRef::by_email(email), bounce_type, "api")
}

/// A bounce naming only the subscriber's uuid.
pub fn bounce_of_uuid(uuid: Uuid, bounce_type: BounceType) -> BounceEvent {
    BounceEvent::new(SubscriberRef::by_uuid(uuid), bounce_type, "api")
}

/// Chained setters for the optional parts of an event.
pub trait BounceEventExt: Sized {
    fn source(self, source: &str) -> Self;
    fn event_id(self, event_id: &str) -> Self;
    fn campaign(self, campaign_uuid: Uuid) -> Self;
    fn at(self, created_at: DateTime<Utc>) -> Self;
    fn meta(self, meta: Value) -> Self;
    /// Also names the subscriber by uuid (which wins over the e-mail).
    fn uuid(self, uuid: Uuid) -> Self;
}

impl BounceEventExt for BounceEvent {
    fn source(mut self, source: &str) -> Self {
        self.source = source.to_string();
        self
    }
    fn event_id(mut self, event_id: &str) -> Self {
        self.event_id = Some(event_id.to_string());
        self
    }
    fn campaign(mut self, campaign_uuid: Uuid) -> Self {
        self.campaign_uuid = Some(campaign_uuid);
        self
    }
    fn at(mut self, created_at: DateTime<Utc>) -> Self {
        self.created_at = Some(created_at);
        self
    }
    fn meta(mut self, meta: Value) -> Self {
        self.meta = meta;
        self
    }
    fn uuid(mut self, uuid: Uuid) -> Self {
        self.subscriber.uuid = Some(uuid);
        self
    }
}
