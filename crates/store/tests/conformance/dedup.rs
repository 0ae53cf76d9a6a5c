//! An event that carries its source's id is recorded once per (source, id):
//! a provider's retry is acknowledged, not counted again.

use chrono::Utc;
use rebound_core::BounceType::{Hard, Soft};
use rebound_store::{BounceQuery, RecordOutcome, Selection};
use rebound_testkit_db::fixtures::{BounceEventExt, bounce};
use rebound_testkit_db::{Backend, backend_tests};

use crate::support::{Fixture, counting_only};

async fn total(f: &Fixture) -> i64 {
    f.query_bounces(&BounceQuery::default()).await.unwrap().total
}

async fn an_event_id_counts_once_per_source(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let actions = counting_only();
    let ev = || bounce("a@example.com", Soft).source("ses").event_id("msg-1");
    let out = f.record_bounces(&[ev(), ev()], &actions, Utc::now()).await.unwrap();
    assert_eq!(
        out,
        vec![
            RecordOutcome::Recorded { subscriber_id: a.id, count: 1, action: None },
            RecordOutcome::Duplicate
        ],
        "twice in one batch"
    );
    let out = f.record_bounces(&[ev()], &actions, Utc::now()).await.unwrap();
    assert_eq!(out, vec![RecordOutcome::Duplicate], "again in a later batch");
    // The same id from another source is another event; events without an id are never duplicates.
    let out = f
        .record_bounces(
            &[
                bounce("a@example.com", Soft).source("sendgrid").event_id("msg-1"),
                bounce("a@example.com", Soft).source("ses"),
                bounce("a@example.com", Soft).source("ses"),
            ],
            &actions,
            Utc::now(),
        )
        .await
        .unwrap();
    let counts: Vec<String> = out.iter().map(|o| o.describe()).collect();
    assert_eq!(counts, ["recorded count=2", "recorded count=3", "recorded count=4"]);
    assert_eq!(total(&f).await, 4);

    // Deleting the bounce does not forget that the event was seen.
    f.delete_bounces(&Selection::All).await.unwrap();
    assert_eq!(
        f.record_bounces(&[ev()], &actions, Utc::now()).await.unwrap(),
        vec![RecordOutcome::Duplicate]
    );
}

async fn a_retry_of_an_unmatched_event_is_a_duplicate(b: Backend) {
    let f = Fixture::new(b).await;
    let actions = counting_only();
    let ev = || bounce("late@example.com", Hard).source("postmark").event_id("42");
    assert_eq!(
        f.record_bounces(&[ev()], &actions, Utc::now()).await.unwrap(),
        vec![RecordOutcome::Unmatched]
    );
    let late = f.subscriber("late@example.com", &[]).await;
    // The provider retries after the subscriber exists: still the same event,
    // kept once (in the unmatched table), to be matched by a retry.
    assert_eq!(
        f.record_bounces(&[ev()], &actions, Utc::now()).await.unwrap(),
        vec![RecordOutcome::Duplicate]
    );
    assert_eq!(total(&f).await, 0);
    let out = f.retry_unmatched(&Selection::All, &actions, Utc::now()).await.unwrap();
    assert_eq!(out, vec![RecordOutcome::Recorded { subscriber_id: late.id, count: 1, action: None }]);
    assert_eq!(total(&f).await, 1);
    assert_eq!(f.query_unmatched(Default::default()).await.unwrap().total, 0);
}

/// The same event delivered to several connections (or instances) at once
/// is recorded by exactly one of them.
async fn concurrent_deliveries_of_one_event_record_it_once(b: Backend) {
    let f = Fixture::new(b).await;
    f.subscriber("a@example.com", &[]).await;
    let tries = (0..8).map(|i| {
        let store = f.store.clone();
        tokio::spawn(async move {
            // Each batch also carries an event of its own, which must not be lost.
            let events = [
                bounce("a@example.com", Hard).source("ses").event_id("same"),
                bounce("a@example.com", Soft).source("ses").event_id(&format!("own-{i}")),
            ];
            store.record_bounces(&events, &counting_only(), Utc::now()).await.unwrap()
        })
    });
    let mut recorded_shared = 0;
    for t in futures::future::join_all(tries).await {
        let out = t.unwrap();
        recorded_shared += usize::from(matches!(out[0], RecordOutcome::Recorded { .. }));
        assert!(matches!(out[1], RecordOutcome::Recorded { .. }), "{out:?}");
    }
    assert_eq!(recorded_shared, 1);
    assert_eq!(total(&f).await, 9);
}

backend_tests!(
    an_event_id_counts_once_per_source,
    a_retry_of_an_unmatched_event_is_a_duplicate,
    concurrent_deliveries_of_one_event_record_it_once,
);
