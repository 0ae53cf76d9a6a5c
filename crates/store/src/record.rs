//! Recording semantics (docs/design.md "Recording a bounce"), decided in one place.
//!
//! A backend loads, inside its write transaction and with the subscribers
//! locked, the state a batch of events needs: which event ids are new, the
//! matched subscribers, their bounce counts, the campaigns. [`plan`] then
//! decides everything in memory, in event order, and the backend writes the
//! plan in bulk. Both backends therefore share the rules, and a batch of N
//! events costs a handful of statements instead of N round trips.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rebound_core::{Action, ActionSemantics, BounceActions, BounceEvent, BounceType, SubscriberStatus};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::webhooks::{self, OutboxInsert, Route, event_type};

/// What recording one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RecordOutcome {
    /// Inserted as the subscriber's `count`-th bounce of its type; `action`
    /// is the rule this bounce triggered, if any.
    Recorded { subscriber_id: i64, count: u32, action: Option<Action> },
    /// The subscriber is already blocklisted: not inserted (listmonk behaviour).
    Blocklisted { subscriber_id: i64 },
    /// The (source, event id) was seen before: acknowledged, not counted again.
    Duplicate,
    /// No subscriber matched: kept in the unmatched-bounces table.
    Unmatched,
    /// No evidence of a real send (`bounce.attribution` is "strict"): kept in
    /// the unmatched-bounces table, flagged unverified, acting on no one.
    Unverified,
}

impl RecordOutcome {
    /// A one-line summary, e.g. "recorded count=3 action=blocklist".
    pub fn describe(&self) -> String {
        match self {
            RecordOutcome::Recorded { count, action: Some(a), .. } => {
                format!("recorded count={count} action={}", a.as_str())
            }
            RecordOutcome::Recorded { count, action: None, .. } => format!("recorded count={count}"),
            other => other.as_str().to_string(),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RecordOutcome::Recorded { .. } => "recorded",
            RecordOutcome::Blocklisted { .. } => "blocklisted",
            RecordOutcome::Duplicate => "duplicate",
            RecordOutcome::Unmatched => "unmatched",
            RecordOutcome::Unverified => "unverified",
        }
    }
}

/// A subscriber as the planner needs it.
#[derive(Debug, Clone)]
pub struct SubscriberState {
    pub id: i64,
    pub uuid: String,
    pub email: String,
    pub status: SubscriberStatus,
}

/// What the backend loaded for a batch.
pub struct PlanInput<'a> {
    pub events: &'a [BounceEvent],
    /// (source, event id) pairs this transaction inserted, i.e. not seen before.
    pub new_event_ids: &'a HashSet<(String, String)>,
    pub subscribers: &'a [SubscriberState],
    /// Bounces per (subscriber, type) already stored, within each type's window.
    pub counts: &'a HashMap<(i64, BounceType), u32>,
    pub campaigns: &'a HashMap<Uuid, i64>,
    pub actions: &'a BounceActions,
    pub now: DateTime<Utc>,
    /// The batch's addresses (lower-case) that have a suppression row, and
    /// whether it is active.
    pub suppressed: &'a HashMap<String, bool>,
    /// Unmatched bounces per (lower-case address, type) already stored,
    /// within each type's window and after the address's reset.
    pub unmatched_counts: &'a HashMap<(String, BounceType), u32>,
    /// The enabled webhook endpoints: events go to the outbox only for them
    /// (none: no event is even built).
    pub routes: &'a [Route],
}

/// An address a batch suppresses, or a further bounce of an address
/// already suppressed.
#[derive(Debug, Clone, PartialEq)]
pub struct SuppressionWrite {
    /// Lower-case.
    pub email: String,
    pub subscriber_id: Option<i64>,
    pub bounce_type: BounceType,
    pub action: Action,
    pub reason: String,
    pub source: String,
    /// The bounce's time.
    pub at: DateTime<Utc>,
    /// The bounces of `bounce_type` that counted for the rule, this one included.
    pub count: u32,
    /// True: the address becomes suppressed (new or again after a
    /// reactivation). False: it already was; only `last_seen` and `count` move.
    pub added: bool,
    /// Decided by an unmatched bounce's rule (no subscriber).
    pub from_unmatched: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BounceRowInsert {
    pub subscriber_id: i64,
    pub campaign_id: Option<i64>,
    pub bounce_type: BounceType,
    pub source: String,
    pub meta: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnmatchedInsert {
    pub email: String,
    pub subscriber_uuid: Option<Uuid>,
    pub campaign_uuid: Option<Uuid>,
    pub bounce_type: BounceType,
    pub source: String,
    pub meta: Value,
    pub event_id: Option<String>,
    pub reason: &'static str,
    pub unverified: bool,
    pub created_at: DateTime<Utc>,
}

/// The reason an unverified bounce is kept under.
pub const UNVERIFIED_REASON: &str = "unverified: no signed VERP token and no X-Listmonk-Subscriber of a \
                                     message rebound sent (bounce.attribution is \"strict\")";

/// Everything a batch writes, and what each event's caller is told.
#[derive(Debug, Default)]
pub struct Plan {
    pub bounces: Vec<BounceRowInsert>,
    pub unmatched: Vec<UnmatchedInsert>,
    pub unsubscribe: Vec<i64>,
    pub blocklist: Vec<i64>,
    pub delete: Vec<i64>,
    /// Whether `blocklist` also unsubscribes those subscribers' lists.
    pub semantics: ActionSemantics,
    pub outcomes: Vec<RecordOutcome>,
    /// In event order.
    pub suppressions: Vec<SuppressionWrite>,
    /// Outbox rows of the events the batch causes, in event order.
    pub outbox: Vec<OutboxInsert>,
    /// Those of unmatched bounces (not written again when a retry of the
    /// unmatched bounces leaves them unmatched).
    pub outbox_unmatched: Vec<OutboxInsert>,
}

impl Plan {
    fn emit(&mut self, routes: &[Route], event_type: &'static str, now: DateTime<Utc>, data: Value) {
        if !routes.is_empty() {
            self.outbox.extend(webhooks::route(routes, event_type, now, data));
        }
    }

    fn emit_unmatched(
        &mut self,
        routes: &[Route],
        event_type: &'static str,
        now: DateTime<Utc>,
        data: Value,
    ) {
        if !routes.is_empty() {
            self.outbox_unmatched.extend(webhooks::route(routes, event_type, now, data));
        }
    }
}

fn meta_str(meta: &Value, key: &str) -> Option<String> {
    meta.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.chars().take(500).collect())
}

/// The data of a bounce event (docs/events.md).
fn bounce_data(
    ev: &BounceEvent,
    email: &str,
    created_at: DateTime<Utc>,
    subscriber: Option<&SubscriberState>,
    campaign_id: Option<i64>,
) -> Value {
    let reason = ["reason", "diagnostic", "diagnostic_code"].iter().find_map(|k| meta_str(&ev.meta, k));
    json!({
        "email": email,
        "type": ev.bounce_type.as_str(),
        "reason": reason,
        "status": meta_str(&ev.meta, "status"),
        "source": ev.source,
        "event_id": ev.event_id,
        "created_at": created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "campaign": ev.campaign_uuid.map(|u| json!({"uuid": u.to_string(), "id": campaign_id})),
        "subscriber": subscriber.map(|s| json!({"id": s.id, "uuid": s.uuid, "email": s.email})),
        "meta": ev.meta,
    })
}

fn suppression_added(w: &SuppressionWrite) -> Value {
    json!({
        "email": w.email,
        "suppressed": true,
        "type": w.bounce_type.as_str(),
        "action": w.action.as_str(),
        "reason": w.reason,
        "source": w.source,
        "subscriber_id": w.subscriber_id,
        "count": w.count,
        "reactivated_at": null,
    })
}

/// Applies the recording rules to a batch, in event order.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut plan = Plan { semantics: input.actions.semantics, ..Plan::default() };
    let mut claimed: HashSet<(&str, &str)> = HashSet::new();
    let mut counts = input.counts.clone();
    let since = count_since(input.actions, input.now);
    let mut status: HashMap<i64, Option<SubscriberStatus>> =
        input.subscribers.iter().map(|s| (s.id, Some(s.status))).collect();
    let mut suppressed = input.suppressed.clone();
    let mut unmatched_counts = input.unmatched_counts.clone();

    for ev in input.events {
        if let Some(id) = &ev.event_id {
            let key = (ev.source.clone(), id.clone());
            // Only the first event of the batch with a new id may use it.
            if !input.new_event_ids.contains(&key) || !claimed.insert((&ev.source, id)) {
                plan.outcomes.push(RecordOutcome::Duplicate);
                continue;
            }
        }
        let created_at = to_millis(ev.created_at.unwrap_or(input.now));
        if ev.unverified {
            if !input.routes.is_empty() {
                let email = ev.subscriber.email.as_ref().map(|e| e.to_string()).unwrap_or_default();
                let mut data = bounce_data(ev, &email, created_at, None, None);
                data["unmatched_reason"] = json!(UNVERIFIED_REASON);
                data["unverified"] = json!(true);
                plan.emit_unmatched(input.routes, event_type::BOUNCE_UNMATCHED, input.now, data);
            }
            plan.unmatched.push(unmatched(ev, UNVERIFIED_REASON, true, created_at));
            plan.outcomes.push(RecordOutcome::Unverified);
            continue;
        }
        let sub = find_subscriber(input.subscribers, ev);
        let current = sub.and_then(|s| status.get(&s.id).copied().flatten());
        let (Some(sub), Some(current)) = (sub, current) else {
            let reason = if sub.is_some() {
                "subscriber deleted by an earlier bounce"
            } else {
                "no subscriber with this e-mail or uuid"
            };
            let row = unmatched(ev, reason, false, created_at);
            if !input.routes.is_empty() {
                let mut data = bounce_data(ev, &row.email, created_at, None, None);
                data["unmatched_reason"] = json!(reason);
                data["unverified"] = json!(false);
                let t = if ev.bounce_type == BounceType::Complaint {
                    event_type::COMPLAINT_RECORDED
                } else {
                    event_type::BOUNCE_UNMATCHED
                };
                plan.emit_unmatched(input.routes, t, input.now, data);
            }
            // The same rules as for a subscriber decide whether the address
            // is suppressed, counting its unmatched bounces.
            if let Some(email) = Some(row.email.to_lowercase()).filter(|e| !e.is_empty()) {
                let n = unmatched_counts.entry((email.clone(), ev.bounce_type)).or_insert(0);
                let count = *n + 1;
                if in_window(&since, ev.bounce_type, created_at) {
                    *n += 1;
                }
                let rule = input.actions.rule(ev.bounce_type);
                let already = suppressed.get(&email).copied().unwrap_or(false);
                if already || (count >= rule.count && rule.action != Action::None) {
                    let w = SuppressionWrite {
                        subscriber_id: None,
                        bounce_type: ev.bounce_type,
                        action: rule.action,
                        reason: suppression_reason(ev, rule.action, count, input.actions),
                        source: ev.source.clone(),
                        at: created_at,
                        count,
                        added: !already,
                        from_unmatched: true,
                        email: email.clone(),
                    };
                    if w.added {
                        plan.emit_unmatched(
                            input.routes,
                            event_type::SUPPRESSION_ADDED,
                            input.now,
                            suppression_added(&w),
                        );
                    }
                    plan.suppressions.push(w);
                    suppressed.insert(email, true);
                }
            }
            plan.unmatched.push(row);
            plan.outcomes.push(RecordOutcome::Unmatched);
            continue;
        };
        if current == SubscriberStatus::Blocklisted {
            let email = sub.email.to_lowercase();
            if suppressed.get(&email).copied().unwrap_or(false) {
                plan.suppressions.push(SuppressionWrite {
                    email,
                    subscriber_id: Some(sub.id),
                    bounce_type: ev.bounce_type,
                    action: Action::Blocklist,
                    reason: String::new(),
                    source: ev.source.clone(),
                    at: created_at,
                    count: 0,
                    added: false,
                    from_unmatched: false,
                });
            }
            plan.outcomes.push(RecordOutcome::Blocklisted { subscriber_id: sub.id });
            continue;
        }
        let n = counts.entry((sub.id, ev.bounce_type)).or_insert(0);
        let count = *n + 1;
        // Later events of the batch count this one only if it falls in the
        // window, as they would once it is stored: how events are batched
        // must not change what they count.
        if in_window(&since, ev.bounce_type, created_at) {
            *n += 1;
        }
        let campaign_id = ev.campaign_uuid.and_then(|u| input.campaigns.get(&u).copied());
        plan.bounces.push(BounceRowInsert {
            subscriber_id: sub.id,
            campaign_id,
            bounce_type: ev.bounce_type,
            source: ev.source.clone(),
            meta: ev.meta.clone(),
            created_at,
        });
        let rule = input.actions.rule(ev.bounce_type);
        let action = (count >= rule.count && rule.action != Action::None).then_some(rule.action);
        match action {
            Some(Action::Unsubscribe) => plan.unsubscribe.push(sub.id),
            Some(Action::Blocklist) => {
                plan.blocklist.push(sub.id);
                status.insert(sub.id, Some(SubscriberStatus::Blocklisted));
            }
            Some(Action::Delete) => {
                plan.delete.push(sub.id);
                status.insert(sub.id, None);
            }
            Some(Action::None) | None => {}
        }
        if !input.routes.is_empty() {
            let mut data = bounce_data(ev, &sub.email, created_at, Some(sub), campaign_id);
            data["count"] = json!(count);
            data["action"] = json!(action.map(|a| a.as_str()));
            let t = if ev.bounce_type == BounceType::Complaint {
                event_type::COMPLAINT_RECORDED
            } else {
                event_type::BOUNCE_RECORDED
            };
            plan.emit(input.routes, t, input.now, data);
            let acted = match action {
                Some(Action::Blocklist) => Some(event_type::SUBSCRIBER_BLOCKLISTED),
                Some(Action::Unsubscribe) => Some(event_type::SUBSCRIBER_UNSUBSCRIBED),
                Some(Action::Delete) => Some(event_type::SUBSCRIBER_DELETED),
                Some(Action::None) | None => None,
            };
            if let Some(t) = acted {
                let data = json!({
                    "subscriber": {"id": sub.id, "uuid": sub.uuid, "email": sub.email},
                    "action": action.map(|a| a.as_str()),
                    "bounce_type": ev.bounce_type.as_str(),
                    "count": count,
                    "rule": {"count": rule.count, "action": rule.action.as_str()},
                });
                plan.emit(input.routes, t, input.now, data);
            }
        }
        let email = sub.email.to_lowercase();
        let already = suppressed.get(&email).copied().unwrap_or(false);
        if already || action.is_some() {
            let w = SuppressionWrite {
                subscriber_id: Some(sub.id),
                bounce_type: ev.bounce_type,
                action: action.unwrap_or(Action::None),
                reason: suppression_reason(ev, rule.action, count, input.actions),
                source: ev.source.clone(),
                at: created_at,
                count,
                added: !already,
                from_unmatched: false,
                email: email.clone(),
            };
            if w.added {
                plan.emit(input.routes, event_type::SUPPRESSION_ADDED, input.now, suppression_added(&w));
            }
            plan.suppressions.push(w);
            suppressed.insert(email, true);
        }
        plan.outcomes.push(RecordOutcome::Recorded { subscriber_id: sub.id, count, action });
    }
    // Rows of deleted subscribers go with them (ON DELETE CASCADE); inserting
    // them first and deleting after keeps the statements simple and correct.
    plan.unsubscribe.sort_unstable();
    plan.unsubscribe.dedup();
    plan.blocklist.sort_unstable();
    plan.blocklist.dedup();
    plan.delete.sort_unstable();
    plan.delete.dedup();
    plan
}

/// Why a bounce suppresses its address: the provider's or DSN's own words
/// when the evidence has them, and the rule that fired.
fn suppression_reason(ev: &BounceEvent, action: Action, count: u32, actions: &BounceActions) -> String {
    let rule = actions.rule(ev.bounce_type);
    let said = bounce_reason(&ev.meta);
    let why = format!(
        "{count} {} bounce(s): bounce.actions.{} is {} after {}",
        ev.bounce_type.as_str(),
        ev.bounce_type.as_str(),
        action.as_str(),
        rule.count
    );
    match said {
        Some(said) => format!("{said} ({why})"),
        None => why,
    }
}

/// The reason a bounce's evidence gives (`meta.reason`, `meta.diagnostic`,
/// `meta.status`), if any.
pub fn bounce_reason(meta: &Value) -> Option<String> {
    ["reason", "diagnostic", "diagnostic_code", "status"]
        .iter()
        .find_map(|k| meta.get(*k).and_then(Value::as_str).filter(|s| !s.trim().is_empty()))
        .map(|s| s.chars().take(500).collect())
}

fn unmatched(
    ev: &BounceEvent,
    reason: &'static str,
    unverified: bool,
    created_at: DateTime<Utc>,
) -> UnmatchedInsert {
    UnmatchedInsert {
        email: ev.subscriber.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        subscriber_uuid: ev.subscriber.uuid,
        campaign_uuid: ev.campaign_uuid,
        bounce_type: ev.bounce_type,
        source: ev.source.clone(),
        meta: ev.meta.clone(),
        event_id: ev.event_id.clone(),
        reason,
        unverified,
        created_at,
    }
}

/// The uuid wins; the e-mail is the fallback (docs/design.md "Recording a bounce", step 1).
fn find_subscriber<'a>(subs: &'a [SubscriberState], ev: &BounceEvent) -> Option<&'a SubscriberState> {
    let by_uuid = ev.subscriber.uuid.and_then(|u| {
        let u = u.to_string();
        subs.iter().find(|s| s.uuid.eq_ignore_ascii_case(&u))
    });
    by_uuid.or_else(|| {
        let email = ev.subscriber.email.as_ref()?;
        subs.iter().find(|s| s.email.eq_ignore_ascii_case(email.as_str()))
    })
}

/// The earliest `created_at` a bounce of each type may have to count, given
/// each rule's window; `None` counts every bounce.
pub fn count_since(actions: &BounceActions, now: DateTime<Utc>) -> [(BounceType, Option<DateTime<Utc>>); 3] {
    BounceType::ALL.map(|t| {
        let since = actions
            .rule(t)
            .window
            .and_then(|w| chrono::Duration::from_std(w).ok())
            .and_then(|w| now.checked_sub_signed(w));
        (t, since)
    })
}

fn in_window(
    since: &[(BounceType, Option<DateTime<Utc>>); 3],
    t: BounceType,
    created_at: DateTime<Utc>,
) -> bool {
    since.iter().find(|(st, _)| *st == t).and_then(|(_, s)| *s).is_none_or(|s| created_at >= s)
}

/// Bounce times are kept to the millisecond on both backends (SQLite's text
/// timestamps hold milliseconds, PostgreSQL's microseconds), so a bounce
/// reads back with the same time from either.
fn to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    chrono::DurationRound::duration_trunc(t, chrono::Duration::milliseconds(1)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rebound_core::{ActionRule, EmailAddress, SubscriberRef};

    fn sub(id: i64, email: &str, status: SubscriberStatus) -> SubscriberState {
        SubscriberState { id, uuid: Uuid::new_v4().to_string(), email: email.into(), status }
    }

    fn ev(email: &str, t: BounceType, id: Option<&str>) -> BounceEvent {
        let mut e = BounceEvent::new(SubscriberRef::by_email(EmailAddress::parse(email).unwrap()), t, "api");
        e.event_id = id.map(str::to_string);
        e
    }

    fn run(events: &[BounceEvent], subs: &[SubscriberState], actions: &BounceActions) -> Plan {
        let new_ids =
            events.iter().filter_map(|e| e.event_id.clone().map(|i| (e.source.clone(), i))).collect();
        plan(&PlanInput {
            events,
            new_event_ids: &new_ids,
            subscribers: subs,
            counts: &HashMap::new(),
            campaigns: &HashMap::new(),
            actions,
            now: Utc::now(),
            suppressed: &HashMap::new(),
            unmatched_counts: &HashMap::new(),
            routes: &[],
        })
    }

    #[test]
    fn threshold_fires_once_then_blocklisted_bounces_are_skipped() {
        let actions = BounceActions { hard: ActionRule::new(3, Action::Blocklist), ..Default::default() };
        let subs = [sub(1, "a@x.org", SubscriberStatus::Enabled)];
        let events: Vec<_> = (0..5).map(|_| ev("a@x.org", BounceType::Hard, None)).collect();
        let p = run(&events, &subs, &actions);
        assert_eq!(p.bounces.len(), 3);
        assert_eq!(p.blocklist, vec![1]);
        assert_eq!(
            p.outcomes[2],
            RecordOutcome::Recorded { subscriber_id: 1, count: 3, action: Some(Action::Blocklist) }
        );
        assert_eq!(p.outcomes[3], RecordOutcome::Blocklisted { subscriber_id: 1 });
    }

    #[test]
    fn same_event_id_twice_in_a_batch_counts_once() {
        let subs = [sub(1, "a@x.org", SubscriberStatus::Enabled)];
        let events =
            [ev("a@x.org", BounceType::Soft, Some("e1")), ev("a@x.org", BounceType::Soft, Some("e1"))];
        let p = run(&events, &subs, &BounceActions::default());
        assert_eq!(p.bounces.len(), 1);
        assert_eq!(p.outcomes[1], RecordOutcome::Duplicate);
    }

    #[test]
    fn unknown_subscriber_is_kept_unmatched() {
        let p = run(&[ev("nobody@x.org", BounceType::Hard, None)], &[], &BounceActions::default());
        assert_eq!(p.outcomes, vec![RecordOutcome::Unmatched]);
        assert_eq!(p.unmatched[0].email, "nobody@x.org");
    }

    #[test]
    fn an_unverified_bounce_is_kept_and_acts_on_no_one() {
        let actions = BounceActions { hard: ActionRule::new(1, Action::Blocklist), ..Default::default() };
        let subs = [sub(1, "a@x.org", SubscriberStatus::Enabled)];
        let mut forged = ev("a@x.org", BounceType::Hard, Some("e1"));
        forged.unverified = true;
        let p = run(&[forged, ev("a@x.org", BounceType::Soft, None)], &subs, &actions);
        assert_eq!(p.outcomes[0], RecordOutcome::Unverified);
        assert!(p.unmatched[0].unverified && p.unmatched[0].reason.starts_with("unverified"));
        assert_eq!(p.unmatched[0].email, "a@x.org");
        assert!(p.blocklist.is_empty(), "an unverified hard bounce blocklisted");
        assert_eq!(p.bounces.len(), 1, "only the other bounce is recorded");
    }

    #[test]
    fn delete_action_sends_later_bounces_to_unmatched() {
        let actions = BounceActions { hard: ActionRule::new(1, Action::Delete), ..Default::default() };
        let subs = [sub(7, "a@x.org", SubscriberStatus::Enabled)];
        let events = [ev("a@x.org", BounceType::Hard, None), ev("a@x.org", BounceType::Hard, None)];
        let p = run(&events, &subs, &actions);
        assert_eq!(p.delete, vec![7]);
        assert_eq!(p.outcomes[1], RecordOutcome::Unmatched);
    }

    #[test]
    fn unmatched_addresses_are_suppressed_by_the_same_rule() {
        let actions = BounceActions { hard: ActionRule::new(2, Action::Blocklist), ..Default::default() };
        let events = [ev("x@y.org", BounceType::Hard, None), ev("x@y.org", BounceType::Hard, None)];
        let p = run(&events, &[], &actions);
        assert_eq!(p.suppressions.len(), 1, "suppressed at the rule's count, not before");
        let w = &p.suppressions[0];
        assert!(w.added && w.from_unmatched && w.subscriber_id.is_none());
        assert_eq!((w.email.as_str(), w.count, w.action), ("x@y.org", 2, Action::Blocklist));
        // The soft rule takes no action: never suppressed.
        let soft: Vec<_> = (0..5).map(|_| ev("s@y.org", BounceType::Soft, None)).collect();
        assert!(run(&soft, &[], &actions).suppressions.is_empty());
    }
}
