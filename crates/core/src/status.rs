use serde::{Deserialize, Serialize};

use crate::CoreError;

/// listmonk's `subscriber_status` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberStatus {
    Enabled,
    Disabled,
    Blocklisted,
}

impl SubscriberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberStatus::Enabled => "enabled",
            SubscriberStatus::Disabled => "disabled",
            SubscriberStatus::Blocklisted => "blocklisted",
        }
    }
}

impl std::str::FromStr for SubscriberStatus {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        match s {
            "enabled" => Ok(Self::Enabled),
            "disabled" => Ok(Self::Disabled),
            "blocklisted" => Ok(Self::Blocklisted),
            other => Err(CoreError::invalid(format!(
                "invalid subscriber status {other:?}: expected enabled, disabled or blocklisted"
            ))),
        }
    }
}

/// listmonk's `subscription_status` enum (a subscriber's status on one list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionStatus {
    Unconfirmed,
    Confirmed,
    Unsubscribed,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Unconfirmed => "unconfirmed",
            SubscriptionStatus::Confirmed => "confirmed",
            SubscriptionStatus::Unsubscribed => "unsubscribed",
        }
    }
}

impl std::str::FromStr for SubscriptionStatus {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        match s {
            "unconfirmed" => Ok(Self::Unconfirmed),
            "confirmed" => Ok(Self::Confirmed),
            "unsubscribed" => Ok(Self::Unsubscribed),
            other => Err(CoreError::invalid(format!(
                "invalid subscription status {other:?}: expected unconfirmed, confirmed or unsubscribed"
            ))),
        }
    }
}

impl TryFrom<String> for SubscriberStatus {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, CoreError> {
        s.parse()
    }
}

impl TryFrom<String> for SubscriptionStatus {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, CoreError> {
        s.parse()
    }
}
