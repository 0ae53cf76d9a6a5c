//! The bulk operations behind listmonk's `/api/subscribers/blocklist`,
//! `/lists` and `/query/...`: which rows they touch, and what they refuse.

use rebound_core::{SubscriberStatus, SubscriptionStatus};
use rebound_store::{StoreError, SubscriberFilter, SubscriptionChange};
use rebound_testkit_db::{Backend, backend_tests};

use crate::support::Fixture;

/// (list id, subscription status) of each subscription of subscriber `id`.
async fn subscriptions(f: &Fixture, id: i64) -> Vec<(i64, SubscriptionStatus)> {
    f.get_subscriber(id).await.unwrap().lists.iter().map(|l| (l.id, l.subscription_status)).collect()
}

async fn blocklisting_unsubscribes_every_list_and_skips_unknown_ids(b: Backend) {
    let f = Fixture::new(b).await;
    let (one, two) = (f.list("one").await.id, f.list("two").await.id);
    let a = f.subscriber("a@example.com", &[one, two]).await.id;
    let c = f.subscriber("c@example.com", &[one]).await.id;
    assert_eq!(f.blocklist_subscribers(&[a, a, 999_999]).await.unwrap(), 1);
    assert_eq!(f.get_subscriber(a).await.unwrap().status, SubscriberStatus::Blocklisted);
    let unsubscribed = SubscriptionStatus::Unsubscribed;
    assert_eq!(subscriptions(&f, a).await, vec![(one, unsubscribed), (two, unsubscribed)]);
    assert_eq!(f.get_subscriber(c).await.unwrap().status, SubscriberStatus::Enabled);
    assert_eq!(subscriptions(&f, c).await, vec![(one, SubscriptionStatus::Confirmed)]);
    assert_eq!(f.blocklist_subscribers(&[]).await.unwrap(), 0);
}

async fn adding_refuses_unknown_rows_and_the_others_skip_them(b: Backend) {
    let f = Fixture::new(b).await;
    let (one, two) = (f.list("one").await.id, f.list("two").await.id);
    let a = f.subscriber("a@example.com", &[one]).await.id;
    let (confirmed, unconfirmed) = (SubscriptionStatus::Confirmed, SubscriptionStatus::Unconfirmed);
    let add = |status, update_existing| SubscriptionChange::Add { status, update_existing };

    // A pair given twice is one subscription.
    assert_eq!(f.change_subscriptions(&[a, a], &[two, two], add(None, true)).await.unwrap(), 1);
    assert_eq!(subscriptions(&f, a).await, vec![(one, confirmed), (two, unconfirmed)]);
    // By query, existing subscriptions keep their status; by ids they take the given one.
    f.change_subscriptions(&[a], &[two], add(Some(confirmed), false)).await.unwrap();
    assert_eq!(subscriptions(&f, a).await[1], (two, unconfirmed));
    f.change_subscriptions(&[a], &[two], add(Some(confirmed), true)).await.unwrap();
    assert_eq!(subscriptions(&f, a).await[1], (two, confirmed));

    for (subs, lists, says) in [
        (vec![a, 999_999], vec![one], "no subscriber with id 999999"),
        (vec![a], vec![888_888, one], "no list with id 888888"),
    ] {
        let refused =
            f.change_subscriptions(&subs, &lists, add(Some(SubscriptionStatus::Unsubscribed), true)).await;
        assert!(matches!(&refused, Err(StoreError::Invalid(m)) if m == says), "{refused:?}");
    }
    assert_eq!(
        subscriptions(&f, a).await,
        vec![(one, confirmed), (two, confirmed)],
        "a refused add changed rows"
    );

    let unsubscribed =
        f.change_subscriptions(&[a, 999_999], &[one, 888_888], SubscriptionChange::Unsubscribe).await;
    assert_eq!(unsubscribed.unwrap(), 1);
    assert_eq!(subscriptions(&f, a).await[0], (one, SubscriptionStatus::Unsubscribed));
    assert_eq!(f.change_subscriptions(&[a, 999_999], &[two], SubscriptionChange::Remove).await.unwrap(), 1);
    assert_eq!(subscriptions(&f, a).await, vec![(one, SubscriptionStatus::Unsubscribed)]);
}

async fn the_filter_selects_by_lists_subscription_status_and_search(b: Backend) {
    let f = Fixture::new(b).await;
    let (one, two) = (f.list("one").await.id, f.list("two").await.id);
    let a = f.subscriber("a@example.com", &[one]).await.id;
    let bb = f.subscriber("b@example.com", &[one, two]).await.id;
    let c = f.subscriber("c@other.org", &[]).await.id;
    f.change_subscriptions(&[bb], &[one], SubscriptionChange::Unsubscribe).await.unwrap();
    let ids = |filter: SubscriberFilter| {
        let f = &f;
        async move { f.filtered_subscriber_ids(&filter).await.unwrap() }
    };

    assert_eq!(ids(SubscriberFilter::default()).await, vec![a, bb, c]);
    assert_eq!(ids(SubscriberFilter { list_ids: vec![one], ..Default::default() }).await, vec![a, bb]);
    assert_eq!(ids(SubscriberFilter { list_ids: vec![two, one], ..Default::default() }).await, vec![a, bb]);
    let confirmed_on_one = SubscriberFilter {
        list_ids: vec![one],
        subscription_status: Some(SubscriptionStatus::Confirmed),
        ..Default::default()
    };
    assert_eq!(ids(confirmed_on_one).await, vec![a]);
    // Without lists the subscription status does not narrow anything (listmonk's join).
    let status_only =
        SubscriberFilter { subscription_status: Some(SubscriptionStatus::Confirmed), ..Default::default() };
    assert_eq!(ids(status_only).await, vec![a, bb, c]);
    // Search: e-mail or name, whatever the case.
    assert_eq!(
        ids(SubscriberFilter { search: Some("OTHER.org".into()), ..Default::default() }).await,
        vec![c]
    );
    assert_eq!(
        ids(SubscriberFilter { search: Some("name of b@".into()), ..Default::default() }).await,
        vec![bb]
    );
    let nul = SubscriberFilter { search: Some("a\0b".into()), ..Default::default() };
    assert!(ids(nul).await.is_empty(), "a U+0000 in the search is no error");
    let none = SubscriberFilter { list_ids: vec![two], search: Some("a@".into()), ..Default::default() };
    assert!(ids(none).await.is_empty());
}

backend_tests!(
    blocklisting_unsubscribes_every_list_and_skips_unknown_ids,
    adding_refuses_unknown_rows_and_the_others_skip_them,
    the_filter_selects_by_lists_subscription_status_and_search,
);
