//! An operator's correction of a bounce's type: the type changes, the
//! correction is kept in the bounce's meta, and the new type's rule is
//! evaluated again with the subscriber's current counts.

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use rebound_core::{Action, ActionRule, BounceActions, BounceType, SubscriberStatus, SubscriptionStatus};
use rebound_store::reclassify::corrections;
use rebound_store::{Bounce, BounceFilter, BounceQuery, Reclassification, StoreError};
use rebound_testkit_db::fixtures::{BounceEventExt, bounce};
use rebound_testkit_db::{Backend, backend_tests};
use serde_json::json;

use crate::support::{Fixture, counting_only, hard};

use BounceType::{Complaint, Hard, Soft};

fn ask(bounce_id: i64, to: BounceType, note: Option<&str>) -> Reclassification {
    Reclassification { bounce_id, to, by: "ops".into(), note: note.map(str::to_string) }
}

/// The subscriber's bounces, oldest first.
async fn bounces_of(f: &Fixture, subscriber_id: i64) -> Vec<Bounce> {
    let q = BounceQuery {
        filter: BounceFilter { subscriber_id: Some(subscriber_id), ..Default::default() },
        desc: false,
        ..Default::default()
    };
    f.query_bounces(&q).await.unwrap().results
}

async fn soft_to_hard_acts_when_the_count_reaches_the_rule(b: Backend) {
    let f = Fixture::new(b).await;
    let l = f.list("News").await;
    let a = f.subscriber("a@example.com", &[l.id]).await;
    let actions = hard(ActionRule::new(2, Action::Blocklist));
    let events = [Soft, Soft].map(|t| bounce("a@example.com", t).meta(json!({"reason": "mailboxfull"})));
    f.record_bounces(&events, &actions, Utc::now()).await.unwrap();
    let [first, second] = <[Bounce; 2]>::try_from(bounces_of(&f, a.id).await).unwrap();

    // The first hard bounce: under the rule's count, nothing happens.
    let r = f.reclassify_bounce(&ask(first.id, Hard, None), &actions, Utc::now()).await.unwrap();
    assert_eq!((r.correction.count, r.correction.action), (1, None));
    let after = r.bounce.expect("the bounce is still there");
    assert_eq!(after.bounce_type, Hard);
    assert_eq!(after.subscriber_status, SubscriberStatus::Enabled);
    assert_eq!(
        f.get_subscriber(a.id).await.unwrap().lists[0].subscription_status,
        SubscriptionStatus::Confirmed
    );

    // The second reaches it: blocklisted and unsubscribed, as recording does.
    let r = f
        .reclassify_bounce(&ask(second.id, Hard, Some("the MTA said 5.1.1")), &actions, Utc::now())
        .await
        .unwrap();
    assert_eq!((r.correction.count, r.correction.action), (2, Some(Action::Blocklist)));
    assert_eq!(r.bounce.unwrap().subscriber_status, SubscriberStatus::Blocklisted);
    let a = f.get_subscriber(a.id).await.unwrap();
    assert_eq!(a.status, SubscriberStatus::Blocklisted);
    assert_eq!(a.lists[0].subscription_status, SubscriptionStatus::Unsubscribed);
    // Counts are per type: the listing by type sees both as hard now.
    let q = BounceQuery {
        filter: BounceFilter { bounce_type: Some(Soft), ..Default::default() },
        ..Default::default()
    };
    assert_eq!(f.query_bounces(&q).await.unwrap().total, 0);
}

async fn the_correction_is_recorded_with_the_bounce(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let actions = counting_only();
    let ev = bounce("a@example.com", Hard)
        .meta(json!({"reason": "userunknown", "explanation": "status 5.1.1 → userunknown → hard"}));
    f.record_bounces(&[ev], &actions, Utc::now()).await.unwrap();
    let id = bounces_of(&f, a.id).await[0].id;
    let t1 = Utc::now();
    f.reclassify_bounce(&ask(id, Soft, Some("greylisted\u{0}, not unknown")), &actions, t1).await.unwrap();
    let t2 = t1 + Duration::seconds(5);
    f.reclassify_bounce(&ask(id, Complaint, None), &actions, t2).await.unwrap();

    // Read back through the ordinary bounce queries, on both backends alike.
    let stored = f.get_bounce(id).await.unwrap();
    assert_eq!(stored.bounce_type, Complaint);
    assert_eq!(stored.meta["explanation"], "status 5.1.1 → userunknown → hard", "the rest of meta stays");
    let history = corrections(&stored.meta);
    assert_eq!(history.len(), 2, "{}", stored.meta);
    assert_eq!((history[0].from, history[0].to, history[0].by.as_str()), (Hard, Soft, "ops"));
    assert_eq!(history[0].note.as_deref(), Some("greylisted\u{fffd}, not unknown"));
    assert_eq!((history[1].from, history[1].to, history[1].note.as_deref()), (Soft, Complaint, None));
    assert!(
        (history[0].at - t1).num_milliseconds().abs() < 1
            && (history[1].at - t2).num_milliseconds().abs() < 1
    );
    assert_eq!(stored.meta["corrections"][0]["from"], "hard");
}

async fn a_lighter_type_keeps_the_blocklist(b: Backend) {
    let f = Fixture::new(b).await;
    let l = f.list("News").await;
    let a = f.subscriber("a@example.com", &[l.id]).await;
    // listmonk's defaults: one hard bounce blocklists, soft bounces only count.
    let actions = BounceActions::default();
    f.record_bounces(&[bounce("a@example.com", Hard)], &actions, Utc::now()).await.unwrap();
    let id = bounces_of(&f, a.id).await[0].id;
    let r = f.reclassify_bounce(&ask(id, Soft, Some("address works")), &actions, Utc::now()).await.unwrap();
    assert_eq!(r.correction.action, None);
    assert_eq!(r.correction.kept, Some(SubscriberStatus::Blocklisted), "the correction says what it left");
    let a = f.get_subscriber(a.id).await.unwrap();
    assert_eq!(a.status, SubscriberStatus::Blocklisted, "a correction never lifts a blocklist");
    assert_eq!(a.lists[0].subscription_status, SubscriptionStatus::Unsubscribed);
    assert_eq!(
        corrections(&f.get_bounce(id).await.unwrap().meta)[0].kept,
        Some(SubscriberStatus::Blocklisted)
    );
}

async fn only_bounces_in_the_rules_window_count(b: Backend) {
    let f = Fixture::new(b).await;
    let l = f.list("News").await;
    let a = f.subscriber("a@example.com", &[l.id]).await;
    let now = Utc::now();
    let mut actions = counting_only();
    actions.soft =
        ActionRule { count: 2, action: Action::Unsubscribe, window: Some(StdDuration::from_secs(7 * 86400)) };
    let events = [
        bounce("a@example.com", Soft).at(now - Duration::days(10)),
        bounce("a@example.com", Hard).at(now - Duration::days(1)),
        bounce("a@example.com", Hard).at(now - Duration::hours(1)),
    ];
    f.record_bounces(&events, &actions, now).await.unwrap();
    let rows = bounces_of(&f, a.id).await;
    let (hard1, hard2) = (
        rows.iter().find(|b| b.bounce_type == Hard).unwrap().id,
        rows.iter().rfind(|b| b.bounce_type == Hard).unwrap().id,
    );
    assert_ne!(hard1, hard2);
    // The 10-day-old soft bounce is outside the window: this is the first.
    let r = f.reclassify_bounce(&ask(hard1, Soft, None), &actions, now).await.unwrap();
    assert_eq!((r.correction.count, r.correction.action), (1, None));
    let r = f.reclassify_bounce(&ask(hard2, Soft, None), &actions, now).await.unwrap();
    assert_eq!((r.correction.count, r.correction.action), (2, Some(Action::Unsubscribe)));
    let a = f.get_subscriber(a.id).await.unwrap();
    assert_eq!(
        (a.status, a.lists[0].subscription_status),
        (SubscriberStatus::Enabled, SubscriptionStatus::Unsubscribed)
    );
}

async fn a_delete_rule_deletes_the_subscriber_and_its_bounces(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let actions = BounceActions { complaint: ActionRule::new(1, Action::Delete), ..counting_only() };
    f.record_bounces(&[bounce("a@example.com", Soft)], &actions, Utc::now()).await.unwrap();
    let id = bounces_of(&f, a.id).await[0].id;
    let r = f.reclassify_bounce(&ask(id, Complaint, None), &actions, Utc::now()).await.unwrap();
    assert_eq!(r.correction.action, Some(Action::Delete));
    assert!(r.bounce.is_none());
    assert!(matches!(f.get_subscriber(a.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(f.get_bounce(id).await, Err(StoreError::NotFound(_))));
}

async fn unknown_bounces_and_unchanged_types_are_refused(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let actions = counting_only();
    let err = f.reclassify_bounce(&ask(424242, Hard, None), &actions, Utc::now()).await.unwrap_err();
    assert!(matches!(&err, StoreError::NotFound(what) if what == "bounce 424242"), "{err}");
    f.record_bounces(&[bounce("a@example.com", Hard)], &actions, Utc::now()).await.unwrap();
    let before = bounces_of(&f, a.id).await.remove(0);
    let err = f.reclassify_bounce(&ask(before.id, Hard, None), &actions, Utc::now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let long = "x".repeat(rebound_store::reclassify::NOTE_LIMIT + 1);
    let err =
        f.reclassify_bounce(&ask(before.id, Soft, Some(&long)), &actions, Utc::now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    // Nothing was written by the refusals.
    let after = f.get_bounce(before.id).await.unwrap();
    assert_eq!((after.bounce_type, &after.meta), (Hard, &before.meta));
}

backend_tests!(
    soft_to_hard_acts_when_the_count_reaches_the_rule,
    the_correction_is_recorded_with_the_bounce,
    a_lighter_type_keeps_the_blocklist,
    only_bounces_in_the_rules_window_count,
    a_delete_rule_deletes_the_subscriber_and_its_bounces,
    unknown_bounces_and_unchanged_types_are_refused,
);
