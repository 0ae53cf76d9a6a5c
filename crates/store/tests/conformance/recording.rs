//! Recording semantics: counting per type, the actions at the configured
//! counts, windows, complaints, matching, and what is kept with a bounce.

use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use rebound_core::{
    Action, ActionRule, ActionSemantics, BounceActions, BounceType, SubscriberStatus, SubscriptionStatus,
};
use rebound_store::{BounceFilter, BounceQuery, CampaignRef, Pagination, PerPage, RecordOutcome, StoreError};
use rebound_testkit_db::fixtures::{BounceEventExt, bounce, bounce_of_uuid};
use rebound_testkit_db::{Backend, backend_tests, insert_subscribers};
use serde_json::json;
use uuid::Uuid;

use crate::support::{Fixture, counting_only, hard};

use BounceType::{Complaint, Hard, Soft};

fn recorded(subscriber_id: i64, count: u32, action: Option<Action>) -> RecordOutcome {
    RecordOutcome::Recorded { subscriber_id, count, action }
}

async fn bounces_of(f: &Fixture, subscriber_id: i64) -> i64 {
    let q = BounceQuery {
        filter: BounceFilter { subscriber_id: Some(subscriber_id), ..Default::default() },
        ..Default::default()
    };
    f.query_bounces(&q).await.unwrap().total
}

fn statuses(s: &rebound_store::Subscriber) -> Vec<SubscriptionStatus> {
    s.lists.iter().map(|l| l.subscription_status).collect()
}

async fn each_type_is_counted_on_its_own(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let other = f.subscriber("other@example.com", &[]).await;
    let actions = counting_only();
    let events = [Soft, Soft, Hard, Complaint, Soft].map(|t| bounce("a@example.com", t));
    let out = f.record_bounces(&events, &actions, Utc::now()).await.unwrap();
    assert_eq!(
        out,
        vec![
            recorded(a.id, 1, None),
            recorded(a.id, 2, None),
            recorded(a.id, 1, None),
            recorded(a.id, 1, None),
            recorded(a.id, 3, None),
        ]
    );
    // The count carries over to the next batch, per subscriber.
    let out = f
        .record_bounces(
            &[bounce("a@example.com", Soft), bounce("other@example.com", Soft)],
            &actions,
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(out, vec![recorded(a.id, 4, None), recorded(other.id, 1, None)]);
    assert_eq!(bounces_of(&f, a.id).await, 6);
    assert_eq!(bounces_of(&f, other.id).await, 1);
}

async fn action_none_only_counts(b: Backend) {
    let f = Fixture::new(b).await;
    let l = f.list("News").await;
    let a = f.subscriber("a@example.com", &[l.id]).await;
    // listmonk's default soft rule: 2, none.
    let actions = BounceActions::default();
    let events = [Soft, Soft, Soft].map(|t| bounce("a@example.com", t));
    let out = f.record_bounces(&events, &actions, Utc::now()).await.unwrap();
    assert_eq!(out, vec![recorded(a.id, 1, None), recorded(a.id, 2, None), recorded(a.id, 3, None)]);
    let a = f.get_subscriber(a.id).await.unwrap();
    assert_eq!(a.status, SubscriberStatus::Enabled);
    assert_eq!(statuses(&a), vec![SubscriptionStatus::Confirmed]);
}

async fn unsubscribe_at_the_configured_count(b: Backend) {
    let f = Fixture::new(b).await;
    let (l1, l2) = (f.list("One").await, f.list("Two").await);
    let a = f.subscriber("a@example.com", &[l1.id, l2.id]).await;
    let bystander = f.subscriber("b@example.com", &[l1.id]).await;
    let actions = hard(ActionRule::new(3, Action::Unsubscribe));
    let two = [bounce("a@example.com", Hard), bounce("a@example.com", Hard)];
    f.record_bounces(&two, &actions, Utc::now()).await.unwrap();
    let before = f.get_subscriber(a.id).await.unwrap();
    assert_eq!(statuses(&before), vec![SubscriptionStatus::Confirmed; 2], "below the count nothing happens");

    let out = f.record_bounces(&[bounce("a@example.com", Hard)], &actions, Utc::now()).await.unwrap();
    assert_eq!(out, vec![recorded(a.id, 3, Some(Action::Unsubscribe))]);
    let after = f.get_subscriber(a.id).await.unwrap();
    assert_eq!(after.status, SubscriberStatus::Enabled, "unsubscribing leaves the subscriber enabled");
    assert_eq!(statuses(&after), vec![SubscriptionStatus::Unsubscribed; 2]);
    assert_eq!(statuses(&f.get_subscriber(bystander.id).await.unwrap()), vec![SubscriptionStatus::Confirmed]);
    let l1 = f.get_list(l1.id).await.unwrap();
    // listmonk counts every subscription, unsubscribed ones too.
    assert_eq!(l1.subscriber_count, 2);
    assert_eq!(l1.subscriber_statuses, [("confirmed".into(), 1), ("unsubscribed".into(), 1)].into());

    // Past the count every bounce is still kept (the operator's evidence).
    let out = f.record_bounces(&[bounce("a@example.com", Hard)], &actions, Utc::now()).await.unwrap();
    assert_eq!(out, vec![recorded(a.id, 4, Some(Action::Unsubscribe))]);
    assert_eq!(bounces_of(&f, a.id).await, 4);
}

async fn blocklist_at_the_configured_count(b: Backend) {
    let f = Fixture::new(b).await;
    let l = f.list("News").await;
    let a = f.subscriber("a@example.com", &[l.id]).await;
    let actions = hard(ActionRule::new(2, Action::Blocklist));
    let four = [Hard, Hard, Hard, Soft].map(|t| bounce("a@example.com", t));
    let out = f.record_bounces(&four, &actions, Utc::now()).await.unwrap();
    assert_eq!(
        out,
        vec![
            recorded(a.id, 1, None),
            recorded(a.id, 2, Some(Action::Blocklist)),
            RecordOutcome::Blocklisted { subscriber_id: a.id },
            RecordOutcome::Blocklisted { subscriber_id: a.id },
        ]
    );
    let a2 = f.get_subscriber(a.id).await.unwrap();
    assert_eq!(a2.status, SubscriberStatus::Blocklisted);
    assert_eq!(statuses(&a2), vec![SubscriptionStatus::Unsubscribed]);
    // A blocklisted subscriber's bounces are not inserted (listmonk), in later batches too.
    let out = f.record_bounces(&[bounce("a@example.com", Complaint)], &actions, Utc::now()).await.unwrap();
    assert_eq!(out, vec![RecordOutcome::Blocklisted { subscriber_id: a.id }]);
    assert_eq!(bounces_of(&f, a.id).await, 2);

    // Blocklisted by hand, before any bounce: the same.
    let c = f.subscriber_with("c@example.com", SubscriberStatus::Blocklisted, &[]).await;
    let out = f.record_bounces(&[bounce("c@example.com", Hard)], &actions, Utc::now()).await.unwrap();
    assert_eq!(out, vec![RecordOutcome::Blocklisted { subscriber_id: c.id }]);
    assert_eq!(bounces_of(&f, c.id).await, 0);
    // A disabled subscriber is recorded like an enabled one.
    let d = f.subscriber_with("d@example.com", SubscriberStatus::Disabled, &[]).await;
    let out = f.record_bounces(&[bounce("d@example.com", Hard)], &actions, Utc::now()).await.unwrap();
    assert_eq!(out, vec![recorded(d.id, 1, None)]);
}

/// `bounce.action_semantics` "listmonk": listmonk's `record-bounce`
/// blocklists by status only and leaves the lists; unsubscribing still
/// unsubscribes every list, and a correction applies the same rule.
async fn listmonk_semantics_blocklist_sets_the_status_only(b: Backend) {
    let f = Fixture::new(b).await;
    let (l1, l2) = (f.list("One").await, f.list("Two").await);
    let a = f.subscriber("a@example.com", &[l1.id, l2.id]).await;
    let u = f.subscriber("u@example.com", &[l1.id]).await;
    let listmonk = |rule| BounceActions {
        soft: ActionRule::new(1, Action::Unsubscribe),
        semantics: ActionSemantics::Listmonk,
        ..hard(rule)
    };
    let actions = listmonk(ActionRule::new(1, Action::Blocklist));
    let out = f
        .record_bounces(&[bounce("a@example.com", Hard), bounce("u@example.com", Soft)], &actions, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![recorded(a.id, 1, Some(Action::Blocklist)), recorded(u.id, 1, Some(Action::Unsubscribe))]
    );
    let a2 = f.get_subscriber(a.id).await.unwrap();
    assert_eq!(a2.status, SubscriberStatus::Blocklisted);
    assert_eq!(statuses(&a2), vec![SubscriptionStatus::Confirmed; 2], "listmonk leaves the lists");
    assert_eq!(f.get_list(l2.id).await.unwrap().subscriber_count, 1);
    let u2 = f.get_subscriber(u.id).await.unwrap();
    assert_eq!(
        (u2.status, statuses(&u2)),
        (SubscriberStatus::Enabled, vec![SubscriptionStatus::Unsubscribed])
    );

    // A correction to hard blocklists the same way.
    let c = f.subscriber("c@example.com", &[l1.id]).await;
    f.record_bounces(&[bounce("c@example.com", Complaint)], &actions, Utc::now()).await.unwrap();
    let of_c = BounceQuery {
        filter: BounceFilter { subscriber_id: Some(c.id), ..Default::default() },
        ..Default::default()
    };
    let id = f.query_bounces(&of_c).await.unwrap().results[0].id;
    let ask = rebound_store::Reclassification { bounce_id: id, to: Hard, by: "ops".into(), note: None };
    f.reclassify_bounce(&ask, &actions, Utc::now()).await.unwrap();
    let c2 = f.get_subscriber(c.id).await.unwrap();
    assert_eq!(
        (c2.status, statuses(&c2)),
        (SubscriberStatus::Blocklisted, vec![SubscriptionStatus::Confirmed])
    );

    // rebound's semantics (the default) on the same lists unsubscribes them.
    let d = f.subscriber("d@example.com", &[l1.id]).await;
    let rebound = BounceActions { semantics: ActionSemantics::Rebound, ..actions.clone() };
    f.record_bounces(&[bounce("d@example.com", Hard)], &rebound, Utc::now()).await.unwrap();
    assert_eq!(statuses(&f.get_subscriber(d.id).await.unwrap()), vec![SubscriptionStatus::Unsubscribed]);
    assert_eq!(BounceActions::default().semantics, ActionSemantics::Rebound);
}

async fn delete_at_the_configured_count(b: Backend) {
    let f = Fixture::new(b).await;
    let l = f.list("News").await;
    let a = f.subscriber("a@example.com", &[l.id]).await;
    let actions = hard(ActionRule::new(2, Action::Delete));
    let three = [Hard, Hard, Hard].map(|t| bounce("a@example.com", t));
    let out = f.record_bounces(&three, &actions, Utc::now()).await.unwrap();
    assert_eq!(
        out,
        vec![recorded(a.id, 1, None), recorded(a.id, 2, Some(Action::Delete)), RecordOutcome::Unmatched]
    );
    assert!(matches!(f.get_subscriber(a.id).await, Err(StoreError::NotFound(_))));
    assert_eq!(bounces_of(&f, a.id).await, 0, "the subscriber's bounces go with it");
    assert_eq!(f.get_list(l.id).await.unwrap().subscriber_count, 0);
    let out = f.record_bounces(&[bounce("a@example.com", Hard)], &actions, Utc::now()).await.unwrap();
    assert_eq!(out, vec![RecordOutcome::Unmatched]);
    let unmatched = f.query_unmatched(Pagination::default()).await.unwrap();
    let reasons: Vec<&str> = unmatched.results.iter().map(|u| u.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec!["no subscriber with this e-mail or uuid", "subscriber deleted by an earlier bounce"],
        "newest first"
    );
}

async fn windows_count_only_recent_bounces(b: Backend) {
    let f = Fixture::new(b).await;
    let l = f.list("News").await;
    let a = f.subscriber("a@example.com", &[l.id]).await;
    let now = Utc::now();
    let mut actions = counting_only();
    actions.soft =
        ActionRule { count: 2, action: Action::Unsubscribe, window: Some(StdDuration::from_secs(7 * 86400)) };
    let old = bounce("a@example.com", Soft).at(now - Duration::days(10));
    assert_eq!(f.record_bounces(&[old], &actions, now).await.unwrap(), vec![recorded(a.id, 1, None)]);
    // The 10-day-old bounce is outside the 7-day window: this one is the first.
    let out = f.record_bounces(&[bounce("a@example.com", Soft).at(now)], &actions, now).await.unwrap();
    assert_eq!(out, vec![recorded(a.id, 1, None)]);
    // Hard bounces have no window: every one counts.
    let old_hard = bounce("a@example.com", Hard).at(now - Duration::days(400));
    f.record_bounces(&[old_hard], &actions, now).await.unwrap();
    let out = f.record_bounces(&[bounce("a@example.com", Hard)], &actions, now).await.unwrap();
    assert_eq!(out, vec![recorded(a.id, 2, None)]);

    let yesterday = bounce("a@example.com", Soft).at(now - Duration::days(1));
    let out = f.record_bounces(&[yesterday], &actions, now).await.unwrap();
    assert_eq!(out, vec![recorded(a.id, 2, Some(Action::Unsubscribe))]);
    assert_eq!(statuses(&f.get_subscriber(a.id).await.unwrap()), vec![SubscriptionStatus::Unsubscribed]);
}

/// Group commit decides how events are batched; it must not decide what
/// they count. The same events, one per call and all in one call, give the
/// same counts and actions.
async fn a_batch_counts_like_the_same_events_one_by_one(b: Backend) {
    let f = Fixture::new(b).await;
    let one = f.subscriber("one@example.com", &[]).await;
    let all = f.subscriber("all@example.com", &[]).await;
    let now = Utc::now();
    let mut actions = counting_only();
    actions.soft =
        ActionRule { count: 2, action: Action::Blocklist, window: Some(StdDuration::from_secs(86400)) };
    let ages = [30, 20, 0, 0];
    let events = |email: &str| -> Vec<_> {
        ages.iter().map(|d| bounce(email, Soft).at(now - Duration::days(*d))).collect()
    };
    let mut one_by_one = vec![];
    for ev in events("one@example.com") {
        one_by_one.extend(f.record_bounces(&[ev], &actions, now).await.unwrap());
    }
    let batched = f.record_bounces(&events("all@example.com"), &actions, now).await.unwrap();
    let describe = |o: &[RecordOutcome]| -> Vec<String> { o.iter().map(|o| o.describe()).collect() };
    assert_eq!(
        describe(&one_by_one),
        ["recorded count=1", "recorded count=1", "recorded count=1", "recorded count=2 action=blocklist"]
    );
    assert_eq!(describe(&batched), describe(&one_by_one));
    let (one, all) = (f.get_subscriber(one.id).await.unwrap(), f.get_subscriber(all.id).await.unwrap());
    assert_eq!((one.status, all.status), (SubscriberStatus::Blocklisted, SubscriberStatus::Blocklisted));
}

async fn complaints_are_counted_and_acted_on_apart(b: Backend) {
    let f = Fixture::new(b).await;
    let l = f.list("News").await;
    let a = f.subscriber("a@example.com", &[l.id]).await;
    let c = f.subscriber("c@example.com", &[l.id]).await;
    let counting = counting_only();
    let out = f
        .record_bounces(&[Hard, Hard, Complaint].map(|t| bounce("c@example.com", t)), &counting, Utc::now())
        .await
        .unwrap();
    assert_eq!(out[2], recorded(c.id, 1, None), "hard bounces do not count toward complaints");

    // listmonk's defaults: one complaint blocklists; a soft bounce does nothing.
    let actions = BounceActions::default();
    let out = f
        .record_bounces(
            &[bounce("a@example.com", Soft), bounce("a@example.com", Complaint)],
            &actions,
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(out, vec![recorded(a.id, 1, None), recorded(a.id, 1, Some(Action::Blocklist))]);
    let a = f.get_subscriber(a.id).await.unwrap();
    assert_eq!(a.status, SubscriberStatus::Blocklisted);
    assert_eq!(statuses(&a), vec![SubscriptionStatus::Unsubscribed]);
}

async fn the_uuid_wins_and_the_email_is_the_fallback(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let bee = f.subscriber("b@example.com", &[]).await;
    let b_uuid: Uuid = bee.uuid.parse().unwrap();
    let a_uuid: Uuid = a.uuid.parse().unwrap();
    let actions = counting_only();
    let events = [
        // Both named: the uuid decides.
        bounce("a@example.com", Hard).uuid(b_uuid),
        // An unknown uuid: the e-mail is used (listmonk would not fall back).
        bounce("a@example.com", Hard).uuid(Uuid::new_v4()),
        bounce_of_uuid(a_uuid, Hard),
        bounce_of_uuid(Uuid::new_v4(), Hard),
    ];
    let out = f.record_bounces(&events, &actions, Utc::now()).await.unwrap();
    assert_eq!(
        out,
        vec![
            recorded(bee.id, 1, None),
            recorded(a.id, 1, None),
            recorded(a.id, 2, None),
            RecordOutcome::Unmatched
        ]
    );

    // A subscriber another program stored with capitals is still found.
    insert_subscribers(&f.db.url, &["Mixed.Case@Example.ORG".to_string()]).await;
    let out =
        f.record_bounces(&[bounce("mixed.case@example.org", Hard)], &actions, Utc::now()).await.unwrap();
    let RecordOutcome::Recorded { subscriber_id, .. } = out[0] else { panic!("not matched: {out:?}") };
    let row = f.get_bounce(last_bounce_id(&f).await).await.unwrap();
    assert_eq!((row.subscriber_id, row.email.as_str()), (subscriber_id, "Mixed.Case@Example.ORG"));
}

async fn last_bounce_id(f: &Fixture) -> i64 {
    let q = BounceQuery { desc: true, ..Default::default() };
    f.query_bounces(&q).await.unwrap().results[0].id
}

async fn campaign_meta_source_and_time_are_kept(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let c = f.campaign("Spring news").await;
    let at = Utc.with_ymd_and_hms(2024, 5, 1, 10, 20, 30).unwrap() + Duration::milliseconds(123);
    let meta = json!({"diagnostic": "550 5.1.1 user unknown",
                      "nested": {"list": [1, "x", null, true, 2.5]}, "ü": "ß"});
    let ev = bounce("a@example.com", Hard)
        .campaign(c.uuid.parse().unwrap())
        .source("ses")
        .meta(meta.clone())
        .at(at);
    let unknown_campaign = bounce("a@example.com", Soft).campaign(Uuid::new_v4());
    let out = f.record_bounces(&[ev, unknown_campaign], &counting_only(), Utc::now()).await.unwrap();
    assert!(out.iter().all(|o| matches!(o, RecordOutcome::Recorded { .. })), "{out:?}");

    let page = f
        .query_bounces(&BounceQuery {
            pagination: Pagination { page: 1, per_page: PerPage::All },
            ..Default::default()
        })
        .await
        .unwrap();
    let kept = page.results.iter().find(|r| r.bounce_type == Hard).unwrap();
    assert_eq!(kept.campaign, Some(CampaignRef { id: c.id, name: "Spring news".into() }));
    assert_eq!(kept.meta, meta);
    assert_eq!(kept.source, "ses");
    assert_eq!(kept.created_at, at);
    assert_eq!(kept.email, "a@example.com");
    assert_eq!(kept.subscriber_uuid, a.uuid);
    assert_eq!(kept.subscriber_status, SubscriberStatus::Enabled);
    let loose = page.results.iter().find(|r| r.bounce_type == Soft).unwrap();
    assert_eq!(loose.campaign, None, "an unknown campaign uuid records the bounce without a campaign");
    assert_eq!(loose.meta, json!({}));
    assert_eq!(loose.source, "api");
    assert_eq!(f.get_bounce(kept.id).await.unwrap().meta, meta);
}

async fn deleting_a_subscribers_bounces_restarts_the_count(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let keep = f.subscriber("keep@example.com", &[]).await;
    let actions = counting_only();
    let events =
        [bounce("a@example.com", Hard), bounce("a@example.com", Hard), bounce("keep@example.com", Hard)];
    f.record_bounces(&events, &actions, Utc::now()).await.unwrap();
    assert_eq!(f.delete_subscriber_bounces(a.id).await.unwrap(), 2);
    assert_eq!(f.delete_subscriber_bounces(a.id).await.unwrap(), 0);
    let out = f.record_bounces(&[bounce("a@example.com", Hard)], &actions, Utc::now()).await.unwrap();
    assert_eq!(out, vec![recorded(a.id, 1, None)]);
    assert_eq!(bounces_of(&f, keep.id).await, 1);
}

/// Batches from many connections at once: every count is taken once, none
/// is lost, and the threshold fires exactly once.
async fn concurrent_batches_lose_no_count(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let actions = hard(ActionRule::new(25, Action::Unsubscribe));
    let tasks = (0..4).map(|_| {
        let store = f.store.clone();
        let actions = actions.clone();
        tokio::spawn(async move {
            let mut out = vec![];
            for _ in 0..10 {
                out.extend(
                    store
                        .record_bounces(&[bounce("a@example.com", Hard)], &actions, Utc::now())
                        .await
                        .unwrap(),
                );
            }
            out
        })
    });
    let mut counts: Vec<u32> = vec![];
    let mut fired = 0;
    for t in futures::future::join_all(tasks).await {
        for o in t.unwrap() {
            let RecordOutcome::Recorded { count, action, .. } = o else { panic!("{o:?}") };
            counts.push(count);
            fired += usize::from(action.is_some() && count == 25);
        }
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=40).collect::<Vec<_>>());
    assert_eq!(fired, 1);
    assert_eq!(bounces_of(&f, a.id).await, 40);
}

/// PostgreSQL's text and JSONB cannot hold U+0000, which anyone can put in a
/// provider payload or a bounce message; SQLite can. Both store it as U+FFFD,
/// and one such event does not fail the others committed with it.
async fn nul_characters_are_stored_as_replacement_characters(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let events = [
        bounce("a@example.com", Soft).source("ses").event_id("fine"),
        bounce("a@example.com", Hard)
            .source("s\u{0}es")
            .event_id("id-\u{0}-1")
            .meta(json!({"diag\u{0}nostic": "550\u{0} no", "list": ["\u{0}"]})),
        bounce("nobody@example.com", Hard).event_id("\u{0}").meta(json!({"x": "\u{0}"})),
    ];
    let out = f.record_bounces(&events, &counting_only(), Utc::now()).await.unwrap();
    assert_eq!(out, vec![recorded(a.id, 1, None), recorded(a.id, 1, None), RecordOutcome::Unmatched]);
    let q = BounceQuery {
        filter: BounceFilter { bounce_type: Some(Hard), ..Default::default() },
        ..Default::default()
    };
    let hard = &f.query_bounces(&q).await.unwrap().results[0];
    assert_eq!(hard.source, "s\u{fffd}es");
    assert_eq!(hard.meta, json!({"diag\u{fffd}nostic": "550\u{fffd} no", "list": ["\u{fffd}"]}));
    let unmatched = &f.query_unmatched(Pagination::default()).await.unwrap().results[0];
    assert_eq!(
        (unmatched.event_id.as_deref(), &unmatched.meta),
        (Some("\u{fffd}"), &json!({"x": "\u{fffd}"}))
    );
    // The retry of the same event is still recognised.
    let again = bounce("a@example.com", Hard).source("s\u{0}es").event_id("id-\u{0}-1");
    assert_eq!(
        f.record_bounces(&[again], &counting_only(), Utc::now()).await.unwrap(),
        vec![RecordOutcome::Duplicate]
    );
}

backend_tests!(
    each_type_is_counted_on_its_own,
    action_none_only_counts,
    unsubscribe_at_the_configured_count,
    blocklist_at_the_configured_count,
    listmonk_semantics_blocklist_sets_the_status_only,
    delete_at_the_configured_count,
    windows_count_only_recent_bounces,
    a_batch_counts_like_the_same_events_one_by_one,
    complaints_are_counted_and_acted_on_apart,
    the_uuid_wins_and_the_email_is_the_fallback,
    campaign_meta_source_and_time_are_kept,
    deleting_a_subscribers_bounces_restarts_the_count,
    concurrent_batches_lose_no_count,
    nul_characters_are_stored_as_replacement_characters,
);
