//! Bounces no subscriber matched: kept with everything they carried, listed
//! newest first, retried once the subscriber exists, deleted on request.

use chrono::{Duration, TimeZone, Utc};
use rebound_core::{
    Action, ActionRule,
    BounceType::{Complaint, Hard, Soft},
    SubscriberStatus,
};
use rebound_store::{BounceFilter, BounceQuery, Pagination, PerPage, RecordOutcome, Selection};
use rebound_testkit_db::fixtures::{BounceEventExt, bounce, bounce_of_uuid};
use rebound_testkit_db::{Backend, backend_tests};
use serde_json::json;
use uuid::Uuid;

use crate::support::{Fixture, counting_only, hard};

async fn unmatched_bounces_keep_what_they_carried(b: Backend) {
    let f = Fixture::new(b).await;
    let at = Utc.with_ymd_and_hms(2024, 3, 2, 1, 2, 3).unwrap();
    let (sub_uuid, camp_uuid) = (Uuid::new_v4(), Uuid::new_v4());
    let events = [
        bounce("first@example.com", Hard).source("ses").event_id("e-1").at(at).meta(json!({"k": "v"})),
        bounce_of_uuid(sub_uuid, Soft).campaign(camp_uuid).at(at + Duration::seconds(1)),
        bounce("third@example.com", Complaint).at(at + Duration::seconds(2)),
    ];
    let out = f.record_bounces(&events, &counting_only(), Utc::now()).await.unwrap();
    assert_eq!(out, vec![RecordOutcome::Unmatched; 3]);

    let page1 = f.query_unmatched(Pagination { page: 1, per_page: PerPage::Count(2) }).await.unwrap();
    assert_eq!(page1.total, 3);
    let emails: Vec<&str> = page1.results.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["third@example.com", ""], "newest first");
    let by_uuid = &page1.results[1];
    assert_eq!(by_uuid.subscriber_uuid.as_deref(), Some(sub_uuid.to_string().as_str()));
    assert_eq!(by_uuid.campaign_uuid.as_deref(), Some(camp_uuid.to_string().as_str()));
    assert_eq!(by_uuid.bounce_type, Soft);
    assert_eq!(by_uuid.event_id, None);

    let page2 = f.query_unmatched(Pagination { page: 2, per_page: PerPage::Count(2) }).await.unwrap();
    assert_eq!(page2.total, 3);
    let first = &page2.results[..];
    assert_eq!(first.len(), 1);
    let first = &first[0];
    assert_eq!(first.email, "first@example.com");
    assert_eq!((first.source.as_str(), first.event_id.as_deref()), ("ses", Some("e-1")));
    assert_eq!(first.meta, json!({"k": "v"}));
    assert_eq!(first.bounce_type, Hard);
    assert_eq!(first.created_at, at);
    assert_eq!(first.subscriber_uuid, None);
    assert_eq!(first.reason, "no subscriber with this e-mail or uuid");
    let page3 = f.query_unmatched(Pagination { page: 3, per_page: PerPage::Count(2) }).await.unwrap();
    assert!(page3.results.is_empty());
    assert_eq!(page3.total, 3);
}

async fn retry_records_the_matched_and_keeps_the_rest(b: Backend) {
    let f = Fixture::new(b).await;
    let at = Utc::now() - Duration::days(2);
    let events = [
        bounce("a@example.com", Hard).at(at).source("ses").meta(json!({"n": 1})),
        bounce("b@example.com", Hard).at(at),
        bounce("c@example.com", Hard).at(at),
    ];
    f.record_bounces(&events, &counting_only(), Utc::now()).await.unwrap();
    let ids: Vec<i64> = {
        let mut ids: Vec<i64> =
            f.query_unmatched(Pagination::default()).await.unwrap().results.iter().map(|u| u.id).collect();
        ids.sort_unstable();
        ids
    };
    let a = f.subscriber("a@example.com", &[]).await;
    let bee = f.subscriber("b@example.com", &[]).await;
    let actions = hard(ActionRule::new(1, Action::Blocklist));

    // Only the selected row is tried.
    let out = f.retry_unmatched(&Selection::Ids(vec![ids[0]]), &actions, Utc::now()).await.unwrap();
    assert_eq!(
        out,
        vec![RecordOutcome::Recorded { subscriber_id: a.id, count: 1, action: Some(Action::Blocklist) }]
    );
    let left: Vec<i64> =
        f.query_unmatched(Pagination::default()).await.unwrap().results.iter().map(|u| u.id).collect();
    assert_eq!(left, vec![ids[2], ids[1]]);
    let kept = &f.query_bounces(&BounceQuery::default()).await.unwrap().results[0];
    assert_eq!((kept.subscriber_id, kept.source.as_str(), kept.created_at), (a.id, "ses", at.trunc_ms()));
    assert_eq!(kept.meta, json!({"n": 1}));
    assert_eq!(f.get_subscriber(a.id).await.unwrap().status, SubscriberStatus::Blocklisted, "actions apply");

    // The rest: b matches now, c still does not and stays as it was.
    let out = f.retry_unmatched(&Selection::All, &actions, Utc::now()).await.unwrap();
    assert_eq!(
        out,
        vec![
            RecordOutcome::Recorded { subscriber_id: bee.id, count: 1, action: Some(Action::Blocklist) },
            RecordOutcome::Unmatched,
        ],
        "in id order"
    );
    let left = f.query_unmatched(Pagination::default()).await.unwrap();
    assert_eq!(left.results.iter().map(|u| u.id).collect::<Vec<_>>(), vec![ids[2]], "not copied, not moved");
    assert_eq!(left.results[0].email, "c@example.com");
    let q = BounceQuery {
        filter: BounceFilter { subscriber_id: Some(bee.id), ..Default::default() },
        ..Default::default()
    };
    assert_eq!(f.query_bounces(&q).await.unwrap().total, 1);
    // Nothing to retry: nothing happens.
    let out = f.retry_unmatched(&Selection::Ids(vec![]), &actions, Utc::now()).await.unwrap();
    assert!(out.is_empty());
}

async fn unmatched_bounces_are_deleted_by_id_or_all(b: Backend) {
    let f = Fixture::new(b).await;
    let events = ["x@example.com", "y@example.com", "z@example.com"].map(|e| bounce(e, Hard));
    f.record_bounces(&events, &counting_only(), Utc::now()).await.unwrap();
    let ids: Vec<i64> =
        f.query_unmatched(Pagination::default()).await.unwrap().results.iter().map(|u| u.id).collect();
    assert_eq!(f.delete_unmatched(&Selection::Ids(vec![ids[0], 999_999])).await.unwrap(), 1);
    assert_eq!(f.query_unmatched(Pagination::default()).await.unwrap().total, 2);
    assert_eq!(f.delete_unmatched(&Selection::All).await.unwrap(), 2);
    assert_eq!(f.query_unmatched(Pagination::default()).await.unwrap().total, 0);
}

trait TruncMs {
    fn trunc_ms(self) -> Self;
}

impl TruncMs for chrono::DateTime<Utc> {
    /// Both backends keep at least milliseconds.
    fn trunc_ms(self) -> Self {
        chrono::DurationRound::duration_trunc(self, Duration::milliseconds(1)).unwrap()
    }
}

backend_tests!(
    unmatched_bounces_keep_what_they_carried,
    retry_records_the_matched_and_keeps_the_rest,
    unmatched_bounces_are_deleted_by_id_or_all,
);
