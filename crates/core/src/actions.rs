use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{BounceType, CoreError};

/// What happens to a subscriber once a bounce type's count is reached
/// (listmonk's `bounce.actions.*.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    #[default]
    None,
    Unsubscribe,
    Blocklist,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Unsubscribe => "unsubscribe",
            Action::Blocklist => "blocklist",
            Action::Delete => "delete",
        }
    }
}

/// One bounce type's rule: after `count` bounces (within `window`, when set),
/// apply `action`. `window` goes beyond listmonk ("3 soft bounces in 7 days");
/// without it every bounce ever recorded counts, as in listmonk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRule {
    pub count: u32,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::duration::optional")]
    pub window: Option<Duration>,
}

impl ActionRule {
    pub const fn new(count: u32, action: Action) -> Self {
        ActionRule { count, action, window: None }
    }
}

/// How the actions treat a subscriber's lists (`bounce.action_semantics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ActionSemantics {
    /// A blocklisted subscriber is also unsubscribed from every list, as
    /// listmonk's own blocklisting (the API, the UI, "blocklist bounced
    /// subscribers") does, so no list keeps a confirmed subscription to an
    /// address that bounced.
    #[default]
    Rebound,
    /// listmonk's `record-bounce` exactly: blocklist sets the subscriber's
    /// status only and leaves its subscriptions as they were; only the
    /// unsubscribe action unsubscribes lists.
    Listmonk,
}

impl ActionSemantics {
    /// Whether the blocklist action also unsubscribes every list.
    pub fn blocklist_unsubscribes(self) -> bool {
        self == ActionSemantics::Rebound
    }
}

/// `bounce.actions`: the rule per bounce type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BounceActions {
    pub soft: ActionRule,
    pub hard: ActionRule,
    pub complaint: ActionRule,
    /// Stored under its own key, `bounce.action_semantics`, not in
    /// `bounce.actions`: listmonk reads `bounce.actions` as a map of rules
    /// and would fail on anything else in it. [`crate::Settings::bounce_actions`]
    /// puts the two together.
    #[serde(skip)]
    pub semantics: ActionSemantics,
}

impl Default for BounceActions {
    /// listmonk's defaults, which are also the SES recipe's rules.
    fn default() -> Self {
        BounceActions {
            soft: ActionRule::new(2, Action::None),
            hard: ActionRule::new(1, Action::Blocklist),
            complaint: ActionRule::new(1, Action::Blocklist),
            semantics: ActionSemantics::default(),
        }
    }
}

impl BounceActions {
    pub fn rule(&self, t: BounceType) -> &ActionRule {
        match t {
            BounceType::Soft => &self.soft,
            BounceType::Hard => &self.hard,
            BounceType::Complaint => &self.complaint,
        }
    }

    pub fn validate(&self) -> Result<(), CoreError> {
        for t in BounceType::ALL {
            let r = self.rule(t);
            if r.count == 0 {
                return Err(CoreError::invalid(format!("bounce.actions.{t}.count must be at least 1")));
            }
            if r.window.is_some_and(|w| w.is_zero()) {
                return Err(CoreError::invalid(format!(
                    "bounce.actions.{t}.window must be longer than zero"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listmonk_shape_parses() {
        let a: BounceActions = serde_json::from_str(
            r#"{"soft":{"count":2,"action":"none"},"hard":{"count":1,"action":"blocklist"},
                "complaint":{"count":1,"action":"blocklist"}}"#,
        )
        .unwrap();
        assert_eq!(a, BounceActions::default());
        let back = serde_json::to_value(&a).unwrap();
        assert_eq!(back["soft"], serde_json::json!({"count": 2, "action": "none"}));
    }

    #[test]
    fn window_is_a_human_duration() {
        let r: ActionRule =
            serde_json::from_str(r#"{"count":3,"action":"unsubscribe","window":"7d"}"#).unwrap();
        assert_eq!(r.window, Some(Duration::from_secs(7 * 86400)));
        assert!(serde_json::from_str::<ActionRule>(r#"{"count":3,"action":"zap"}"#).is_err());
    }
}
