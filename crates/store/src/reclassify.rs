//! Correcting a verdict: an operator says a bounce is of another type.
//!
//! The bounce's type changes, the correction is appended to the bounce's
//! `meta.corrections` (so it travels with the bounce through the API, the
//! UI and the CSV export), and the rule of the new type is evaluated again
//! with the rules in force now, as recording would have evaluated it had
//! the bounce arrived with that type: the subscriber's other bounces of the
//! new type within the rule's window, plus this one, against the rule's
//! count. Both backends run the SQL; the decision is made here, once.
//!
//! A correction only ever adds an action. It never lifts a blocklist,
//! re-subscribes, or brings back a deleted subscriber, even when the new
//! type would not have acted: a correction to a lighter type says so in the
//! correction (`kept`), and the operator undoes the earlier action on the
//! subscriber's page if the address works. As when recording, a blocklisted
//! subscriber's bounces act on no one.

use chrono::{DateTime, Utc};
use rebound_core::{Action, BounceActions, BounceType, SubscriberStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::record::{Plan, count_since};
use crate::{Bounce, BounceStore, Result, StoreError, nul};

/// The key of the corrections list in a bounce's meta.
pub const CORRECTIONS_KEY: &str = "corrections";

/// The longest note a correction keeps, in characters.
pub const NOTE_LIMIT: usize = 1000;

/// What an operator asks.
#[derive(Debug, Clone)]
pub struct Reclassification {
    pub bounce_id: i64,
    pub to: BounceType,
    /// Who corrects (the user name).
    pub by: String,
    pub note: Option<String>,
}

/// One correction as kept in `meta.corrections`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub at: DateTime<Utc>,
    pub by: String,
    pub from: BounceType,
    pub to: BounceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The subscriber's bounces of type `to` that counted for its rule, this one included.
    pub count: u32,
    /// The action the rule of `to` took, if any.
    pub action: Option<Action>,
    /// A state of the subscriber the correction left as it was although the
    /// new type's rule would not have put it there ("blocklisted").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<SubscriberStatus>,
}

/// What a reclassification did.
#[derive(Debug, Clone, Serialize)]
pub struct Reclassified {
    /// The bounce as stored now; `None` when the rule deleted the subscriber,
    /// and with it its bounces.
    pub bounce: Option<Bounce>,
    pub correction: Correction,
}

/// The corrections kept in a bounce's meta, oldest first; malformed entries
/// (meta is free-form and may come from elsewhere) are left out.
pub fn corrections(meta: &Value) -> Vec<Correction> {
    meta.get(CORRECTIONS_KEY)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|c| serde_json::from_value(c.clone()).ok()).collect())
        .unwrap_or_default()
}

/// The stored bounce a correction starts from.
pub(crate) struct Current {
    pub bounce_type: BounceType,
    pub meta: Value,
    pub subscriber_status: SubscriberStatus,
    /// The subscriber's OTHER bounces of the new type within its rule's window.
    pub others_in_window: u32,
}

impl Current {
    /// From the columns both backends read: the bounce's type and meta, the
    /// subscriber's status, and the count of its other bounces in the window.
    pub fn from_columns(
        bounce_type: &str,
        meta: Value,
        subscriber_status: &str,
        others: i64,
    ) -> Result<Current> {
        Ok(Current {
            bounce_type: bounce_type
                .parse()
                .map_err(|e: rebound_core::CoreError| StoreError::Invalid(e.to_string()))?,
            meta,
            subscriber_status: subscriber_status.parse().unwrap_or(SubscriberStatus::Enabled),
            others_in_window: u32::try_from(others).unwrap_or(u32::MAX),
        })
    }
}

/// The decision and what to write.
pub(crate) struct Decision {
    pub correction: Correction,
    pub meta: Value,
}

/// Checks the request and decides the action and the new meta.
pub(crate) fn decide(
    r: &Reclassification,
    current: Current,
    actions: &BounceActions,
    now: DateTime<Utc>,
) -> Result<Decision> {
    if current.bounce_type == r.to {
        return Err(StoreError::Conflict(format!("bounce {} is already {}", r.bounce_id, r.to)));
    }
    let note = r.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > NOTE_LIMIT) {
        return Err(StoreError::Invalid(format!("note: at most {NOTE_LIMIT} characters")));
    }
    let count = current.others_in_window.saturating_add(1);
    let rule = actions.rule(r.to);
    let wanted = (count >= rule.count && rule.action != Action::None).then_some(rule.action);
    let blocklisted = current.subscriber_status == SubscriberStatus::Blocklisted;
    let (action, kept) = if blocklisted {
        let already = wanted == Some(Action::Blocklist);
        (None, (!already).then_some(SubscriberStatus::Blocklisted))
    } else {
        (wanted, None)
    };
    let correction = Correction {
        at: now,
        by: nul::clean_str(&r.by).into_owned(),
        from: current.bounce_type,
        to: r.to,
        note: note.map(|n| nul::clean_str(n).into_owned()),
        count,
        action,
        kept,
    };
    let meta = with_correction(current.meta, &correction);
    Ok(Decision { correction, meta })
}

/// `meta` with `c` appended to its corrections. A meta that is not an
/// object (the generic webhook accepts any JSON) is kept under `value`.
fn with_correction(meta: Value, c: &Correction) -> Value {
    let mut map = match meta {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => Map::from_iter([("value".to_string(), other)]),
    };
    let entry = serde_json::to_value(c).unwrap_or(Value::Null);
    match map.get_mut(CORRECTIONS_KEY) {
        Some(Value::Array(items)) => items.push(entry),
        _ => {
            map.insert(CORRECTIONS_KEY.to_string(), Value::Array(vec![entry]));
        }
    }
    Value::Object(map)
}

/// The earliest `created_at` that counts for `t`'s rule (`None`: every bounce).
pub(crate) fn since(actions: &BounceActions, t: BounceType, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    count_since(actions, now).into_iter().find(|(st, _)| *st == t).and_then(|(_, s)| s)
}

/// The answer once the correction is committed: the bounce as it is now,
/// read again, unless the new type's rule deleted the subscriber (and the
/// bounce with it).
pub(crate) async fn answer(
    store: &dyn BounceStore,
    bounce_id: i64,
    correction: Correction,
) -> Result<Reclassified> {
    let bounce = match correction.action {
        Some(Action::Delete) => None,
        _ => Some(store.get_bounce(bounce_id).await?),
    };
    Ok(Reclassified { bounce, correction })
}

/// The action as the plan recording writes, so both apply it alike.
pub(crate) fn action_plan(subscriber_id: i64, action: Option<Action>, actions: &BounceActions) -> Plan {
    let mut plan = Plan { semantics: actions.semantics, ..Plan::default() };
    match action {
        Some(Action::Unsubscribe) => plan.unsubscribe.push(subscriber_id),
        Some(Action::Blocklist) => plan.blocklist.push(subscriber_id),
        Some(Action::Delete) => plan.delete.push(subscriber_id),
        Some(Action::None) | None => {}
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use rebound_core::ActionRule;
    use serde_json::json;

    fn ask(to: BounceType) -> Reclassification {
        Reclassification { bounce_id: 7, to, by: "ops".into(), note: Some("  works  ".into()) }
    }

    fn current(t: BounceType, status: SubscriberStatus, others: u32) -> Current {
        Current {
            bounce_type: t,
            meta: json!({"reason": "userunknown"}),
            subscriber_status: status,
            others_in_window: others,
        }
    }

    #[test]
    fn the_new_type_counts_this_bounce_and_acts_at_its_rule() {
        let actions = BounceActions { hard: ActionRule::new(2, Action::Blocklist), ..Default::default() };
        let d = decide(
            &ask(BounceType::Hard),
            current(BounceType::Soft, SubscriberStatus::Enabled, 1),
            &actions,
            Utc::now(),
        )
        .unwrap();
        assert_eq!((d.correction.count, d.correction.action), (2, Some(Action::Blocklist)));
        assert_eq!(d.correction.note.as_deref(), Some("works"));
        assert_eq!(d.meta["reason"], "userunknown");
        assert_eq!(corrections(&d.meta), vec![d.correction]);
    }

    #[test]
    fn a_lighter_type_keeps_the_blocklist_and_says_so() {
        let d = decide(
            &ask(BounceType::Soft),
            current(BounceType::Hard, SubscriberStatus::Blocklisted, 0),
            &BounceActions::default(),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(d.correction.action, None);
        assert_eq!(d.correction.kept, Some(SubscriberStatus::Blocklisted));
    }

    #[test]
    fn the_same_type_is_refused_and_corrections_accumulate() {
        let c = current(BounceType::Hard, SubscriberStatus::Enabled, 0);
        assert!(matches!(
            decide(&ask(BounceType::Hard), c, &BounceActions::default(), Utc::now()),
            Err(StoreError::Conflict(_))
        ));
        let mut c = current(BounceType::Soft, SubscriberStatus::Enabled, 0);
        c.meta = Value::String("raw".into());
        let first = decide(&ask(BounceType::Hard), c, &BounceActions::default(), Utc::now()).unwrap();
        assert_eq!(first.meta["value"], "raw");
        let again = Current { meta: first.meta, ..current(BounceType::Hard, SubscriberStatus::Enabled, 0) };
        let second = decide(&ask(BounceType::Soft), again, &BounceActions::default(), Utc::now()).unwrap();
        let all = corrections(&second.meta);
        assert_eq!(
            all.iter().map(|c| (c.from, c.to)).collect::<Vec<_>>(),
            vec![(BounceType::Soft, BounceType::Hard), (BounceType::Hard, BounceType::Soft)]
        );
    }
}
