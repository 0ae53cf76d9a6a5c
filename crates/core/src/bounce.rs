use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{CoreError, EmailAddress};

/// listmonk's `bounce_type` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BounceType {
    Soft,
    Hard,
    Complaint,
}

impl BounceType {
    pub const ALL: [BounceType; 3] = [BounceType::Soft, BounceType::Hard, BounceType::Complaint];

    pub fn as_str(self) -> &'static str {
        match self {
            BounceType::Soft => "soft",
            BounceType::Hard => "hard",
            BounceType::Complaint => "complaint",
        }
    }
}

impl std::fmt::Display for BounceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BounceType {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        match s {
            "soft" => Ok(Self::Soft),
            "hard" => Ok(Self::Hard),
            "complaint" => Ok(Self::Complaint),
            other => Err(CoreError::invalid(format!(
                "invalid bounce type {other:?}: expected hard, soft or complaint"
            ))),
        }
    }
}

impl TryFrom<String> for BounceType {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, CoreError> {
        s.parse()
    }
}

/// Who a bounce is about. A bounce mailbox may know both the uuid (from the
/// returned X-Listmonk-Subscriber header) and the failed recipient's address;
/// the uuid wins and the address is the fallback, as docs/design.md "Recording a bounce" orders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberRef {
    pub uuid: Option<Uuid>,
    pub email: Option<EmailAddress>,
}

impl SubscriberRef {
    pub fn new(uuid: Option<Uuid>, email: Option<EmailAddress>) -> Result<Self, CoreError> {
        if uuid.is_none() && email.is_none() {
            return Err(CoreError::invalid("either subscriber_uuid or email is required"));
        }
        Ok(SubscriberRef { uuid, email })
    }

    pub fn by_email(email: EmailAddress) -> Self {
        SubscriberRef { uuid: None, email: Some(email) }
    }

    pub fn by_uuid(uuid: Uuid) -> Self {
        SubscriberRef { uuid: Some(uuid), email: None }
    }
}

/// One bounce or complaint as every source reports it, before it is matched
/// to a subscriber and recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BounceEvent {
    pub subscriber: SubscriberRef,
    pub campaign_uuid: Option<Uuid>,
    pub bounce_type: BounceType,
    /// Where it came from: "api", a provider name ("ses"), a mailbox host, "smtp".
    pub source: String,
    /// Evidence kept with the bounce (provider JSON, DSN fields); always an object.
    pub meta: serde_json::Value,
    /// When the bounce happened; the time of recording when the source does not say.
    pub created_at: Option<DateTime<Utc>>,
    /// The source's own id of this event (provider event id, DSN message id).
    /// A second event with the same (source, event_id) is a retry and is not counted again.
    pub event_id: Option<String>,
    /// No evidence ties this notice to a message rebound sent
    /// (`bounce.attribution` is "strict"): it is kept with the unmatched
    /// bounces, flagged, and acts on no one. Set by the mailbox scanner only,
    /// never read from a request.
    #[serde(skip)]
    pub unverified: bool,
}

impl BounceEvent {
    pub fn new(subscriber: SubscriberRef, bounce_type: BounceType, source: impl Into<String>) -> Self {
        BounceEvent {
            subscriber,
            campaign_uuid: None,
            bounce_type,
            source: source.into(),
            meta: serde_json::Value::Object(Default::default()),
            created_at: None,
            event_id: None,
            unverified: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounce_type_round_trips() {
        for t in BounceType::ALL {
            assert_eq!(t.as_str().parse::<BounceType>().unwrap(), t);
        }
        let err = "permanent".parse::<BounceType>().unwrap_err();
        assert!(err.to_string().contains("hard, soft or complaint"));
    }

    #[test]
    fn subscriber_ref_needs_one_key() {
        let err = SubscriberRef::new(None, None).unwrap_err();
        assert!(err.to_string().contains("subscriber_uuid") && err.to_string().contains("email"));
    }
}
