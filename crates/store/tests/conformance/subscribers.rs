//! Subscribers: uniqueness regardless of case, lookups, updates of status and
//! lists, deletion, and the bulk import.

use chrono::Utc;
use rebound_core::{BounceType, EmailAddress, SubscriberRef, SubscriberStatus, SubscriptionStatus};
use rebound_store::{
    BounceFilter, BounceQuery, ImportReport, ImportRow, NewSubscriber, Pagination, PerPage, StoreError,
    SubscriberQuery, SubscriberUpdate,
};
use rebound_testkit_db::fixtures::bounce;
use rebound_testkit_db::{Backend, backend_tests, insert_subscribers};
use serde_json::json;

use crate::support::{Fixture, counting_only};

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

/// An enabled subscriber on no list.
fn plain(e: &str) -> NewSubscriber {
    NewSubscriber {
        email: email(e),
        name: String::new(),
        attribs: json!({}),
        status: SubscriberStatus::Enabled,
        lists: vec![],
        preconfirm: false,
    }
}

fn statuses(s: &rebound_store::Subscriber) -> Vec<(i64, SubscriptionStatus)> {
    s.lists.iter().map(|l| (l.id, l.subscription_status)).collect()
}

async fn an_email_is_one_subscriber_whatever_its_case(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    assert_eq!(a.email, "a@example.com");
    assert_eq!(a.status, SubscriberStatus::Enabled);
    assert_eq!(a.uuid.len(), 36);
    let again = f.create_subscriber(plain("a@example.com")).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // Stored with capitals by another program: still the same address.
    insert_subscribers(&f.db.url, &["Big@Example.COM".to_string()]).await;
    let dup = f.create_subscriber(plain("big@example.com")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let found = f.find_subscriber(&SubscriberRef::by_email(email("big@example.com"))).await.unwrap();
    assert_eq!(found.map(|s| s.email), Some("Big@Example.COM".to_string()));
    // Changing an e-mail to a taken one is a conflict too.
    let c = f.subscriber("c@example.com", &[]).await;
    let taken = f
        .update_subscriber(
            c.id,
            SubscriberUpdate { email: Some(email("a@example.com")), ..Default::default() },
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
}

async fn lookups_prefer_the_uuid(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let bee = f.subscriber("b@example.com", &[]).await;
    let by = |uuid: Option<&str>, mail: Option<&str>| SubscriberRef {
        uuid: uuid.map(|u| u.parse().unwrap()),
        email: mail.map(email),
    };
    let find = |r: SubscriberRef| {
        let f = &f;
        async move { f.find_subscriber(&r).await.unwrap().map(|s| s.id) }
    };
    assert_eq!(find(by(Some(&bee.uuid), Some("a@example.com"))).await, Some(bee.id));
    assert_eq!(find(by(Some(&uuid::Uuid::new_v4().to_string()), Some("a@example.com"))).await, Some(a.id));
    assert_eq!(find(by(Some(&a.uuid), None)).await, Some(a.id));
    assert_eq!(find(by(None, Some("nobody@example.com"))).await, None);
    assert!(matches!(f.get_subscriber(999_999).await, Err(StoreError::NotFound(_))));
}

/// listmonk's insert-subscriber and update-subscriber-with-lists: new
/// subscriptions are unconfirmed whatever the list's opt-in unless
/// pre-confirmed; a later pre-confirmed update confirms the unconfirmed ones
/// and leaves unsubscribed ones as they are.
async fn subscriptions_follow_preconfirm_and_status(b: Backend) {
    let f = Fixture::new(b).await;
    let single = f.list("Single").await;
    let double = f.list_with("Double", "double").await;
    let both = [single.id, double.id, 999_999];
    let a = f
        .create_subscriber(NewSubscriber {
            name: "Name of a@example.com".into(),
            lists: both.to_vec(),
            ..plain("a@example.com")
        })
        .await
        .unwrap();
    assert_eq!(
        statuses(&a),
        vec![(single.id, SubscriptionStatus::Unconfirmed), (double.id, SubscriptionStatus::Unconfirmed)],
        "unconfirmed until confirmed; unknown lists are ignored"
    );
    let pre = f
        .create_subscriber(NewSubscriber {
            attribs: json!({"city": "Oslo", "n": [1, 2]}),
            lists: both.to_vec(),
            preconfirm: true,
            ..plain("pre@example.com")
        })
        .await
        .unwrap();
    assert_eq!(
        statuses(&pre),
        vec![(single.id, SubscriptionStatus::Confirmed), (double.id, SubscriptionStatus::Confirmed)]
    );
    assert_eq!(pre.attribs, json!({"city": "Oslo", "n": [1, 2]}));
    let blocked = f.subscriber_with("x@example.com", SubscriberStatus::Blocklisted, &both).await;
    assert_eq!(
        statuses(&blocked),
        vec![(single.id, SubscriptionStatus::Unsubscribed), (double.id, SubscriptionStatus::Unsubscribed)]
    );

    // Updating lists replaces them; fields not given stay.
    let a = f
        .update_subscriber(a.id, SubscriberUpdate { lists: Some(vec![double.id]), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(statuses(&a), vec![(double.id, SubscriptionStatus::Unconfirmed)]);
    assert_eq!(a.name, "Name of a@example.com");
    let a = f
        .update_subscriber(
            a.id,
            SubscriberUpdate {
                name: Some("Ann".into()),
                attribs: Some(json!({"k": 1})),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((a.name.as_str(), &a.attribs), ("Ann", &json!({"k": 1})));
    assert_eq!(statuses(&a), vec![(double.id, SubscriptionStatus::Unconfirmed)], "lists not given stay");
    // A pre-confirmed update confirms what waits and adds confirmed.
    let a = f
        .update_subscriber(
            a.id,
            SubscriberUpdate {
                lists: Some(vec![single.id, double.id]),
                preconfirm: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        statuses(&a),
        vec![(single.id, SubscriptionStatus::Confirmed), (double.id, SubscriptionStatus::Confirmed)]
    );
    // Blocklisting unsubscribes from every list.
    let a = f
        .update_subscriber(
            a.id,
            SubscriberUpdate {
                status: Some(SubscriberStatus::Blocklisted),
                lists: Some(vec![single.id, double.id]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(a.status, SubscriberStatus::Blocklisted);
    assert_eq!(
        statuses(&a),
        vec![(single.id, SubscriptionStatus::Unsubscribed), (double.id, SubscriptionStatus::Unsubscribed)]
    );
    let missing =
        f.update_subscriber(999_999, SubscriberUpdate { name: Some("x".into()), ..Default::default() }).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}

async fn deleting_subscribers_takes_their_bounces(b: Backend) {
    let f = Fixture::new(b).await;
    let a = f.subscriber("a@example.com", &[]).await;
    let bee = f.subscriber("b@example.com", &[]).await;
    let events = [bounce("a@example.com", BounceType::Hard), bounce("b@example.com", BounceType::Hard)];
    f.record_bounces(&events, &counting_only(), Utc::now()).await.unwrap();
    assert_eq!(f.delete_subscribers(&[a.id, 999_999]).await.unwrap(), 1);
    assert_eq!(f.delete_subscribers(&[]).await.unwrap(), 0);
    let q = BounceQuery { filter: BounceFilter::default(), ..Default::default() };
    let left = f.query_bounces(&q).await.unwrap();
    assert_eq!(left.results.iter().map(|r| r.subscriber_id).collect::<Vec<_>>(), vec![bee.id]);
}

fn row(e: &str) -> ImportRow {
    ImportRow { email: email(e), name: format!("Imported {e}"), attribs: json!({"from": "csv"}) }
}

async fn import_creates_subscribes_and_counts(b: Backend) {
    let f = Fixture::new(b).await;
    insert_subscribers(&f.db.url, &["Old@Example.com".to_string()]).await;
    let blocked = f.subscriber_with("blocked@example.com", SubscriberStatus::Blocklisted, &[]).await;
    let rows = [
        row("new1@example.com"),
        row("old@example.com"),
        row("blocked@example.com"),
        row("new2@example.com"),
    ];
    let progress = std::sync::Mutex::new(vec![]);
    let report =
        f.import_subscribers("Imported", &rows, &|n| progress.lock().unwrap().push(n)).await.unwrap();
    assert_eq!(report, ImportReport { list_id: report.list_id, list_created: true, created: 2, existing: 2 });
    assert_eq!(progress.lock().unwrap().last(), Some(&4));
    let list = f.get_list(report.list_id).await.unwrap();
    assert_eq!(
        (list.name.as_str(), list.optin.as_str(), list.list_type.as_str()),
        ("Imported", "single", "private")
    );
    let members = f
        .query_subscribers(&SubscriberQuery {
            list_id: Some(list.id),
            pagination: Pagination { page: 1, per_page: PerPage::All },
            ..Default::default()
        })
        .await
        .unwrap();
    let mut got: Vec<(String, SubscriptionStatus)> =
        members.results.iter().map(|s| (s.email.clone(), s.lists[0].subscription_status)).collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("Old@Example.com".into(), SubscriptionStatus::Confirmed),
            ("blocked@example.com".into(), SubscriptionStatus::Unsubscribed),
            ("new1@example.com".into(), SubscriptionStatus::Confirmed),
            ("new2@example.com".into(), SubscriptionStatus::Confirmed),
        ]
    );
    let new1 = members.results.iter().find(|s| s.email == "new1@example.com").unwrap();
    assert_eq!((new1.name.as_str(), &new1.attribs), ("Imported new1@example.com", &json!({"from": "csv"})));
    assert_eq!(f.get_subscriber(blocked.id).await.unwrap().status, SubscriberStatus::Blocklisted);

    // Into an existing double opt-in list: unconfirmed; a second run creates nothing.
    let double = f.list_with("Double", "double").await;
    let report = f.import_subscribers("Double", &rows[..2], &|_| {}).await.unwrap();
    assert_eq!(report, ImportReport { list_id: double.id, list_created: false, created: 0, existing: 2 });
    let new1 = f.get_subscriber(new1.id).await.unwrap();
    assert!(
        new1.lists
            .iter()
            .any(|l| l.id == double.id && l.subscription_status == SubscriptionStatus::Unconfirmed)
    );

    // An address twice in one file is one subscriber, created once.
    let twice = [row("twice@example.com"), row("twice@example.com")];
    let report = f.import_subscribers("Imported", &twice, &|_| {}).await.unwrap();
    assert_eq!((report.created, report.existing), (1, 1));

    // Two lists of one name: which one is meant is unclear, nothing is done.
    f.list("Twin").await;
    f.list("Twin").await;
    let before = f.query_subscribers(&SubscriberQuery::default()).await.unwrap().total;
    let err = f.import_subscribers("Twin", &[row("z@example.com")], &|_| {}).await;
    assert!(matches!(err, Err(StoreError::Invalid(_))), "{err:?}");
    assert_eq!(f.query_subscribers(&SubscriberQuery::default()).await.unwrap().total, before);
}

backend_tests!(
    an_email_is_one_subscriber_whatever_its_case,
    lookups_prefer_the_uuid,
    subscriptions_follow_preconfirm_and_status,
    deleting_subscribers_takes_their_bounces,
    import_creates_subscribes_and_counts,
);
