//! listmonk's `query` at the store: a checked SQL expression narrows
//! `query_subscribers` alike on both backends, beside listmonk's list join,
//! subscription status and order; what the database refuses at run time,
//! or a query past its time, is `Invalid` (a 400), never a write.

use std::time::Duration;

use rebound_core::SubscriptionStatus;
use rebound_store::{
    Pagination, PerPage, SUBSCRIBER_TABLES, SqlFilter, StoreError, SubscriberExpression, SubscriberOrder,
    SubscriberQuery, SubscriberUpdate,
};
use rebound_testkit_db::{Backend, backend_tests};
use serde_json::json;

use crate::support::Fixture;

const ALL: Pagination = Pagination { page: 1, per_page: PerPage::All };

fn expression(text: &str, timeout: Duration) -> Option<SubscriberExpression> {
    Some(SubscriberExpression { filter: SqlFilter::parse(text, &SUBSCRIBER_TABLES).unwrap(), timeout })
}

async fn expressions_filter_beside_lists_and_order(b: Backend) {
    let f = Fixture::new(b).await;
    let (news, promo) = (f.list("News").await, f.list("Promo").await);
    for (i, (email, tier, lists)) in [
        ("ann@example.com", "gold", vec![news.id]),
        ("bob@example.com", "gold", vec![promo.id]),
        ("cat@example.com", "tin", vec![news.id]),
        ("dan@example.com", "gold", vec![news.id]),
    ]
    .into_iter()
    .enumerate()
    {
        let s = f.subscriber(email, &lists).await;
        let attribs = Some(json!({"tier": tier, "visits": i * 10}));
        f.update_subscriber(s.id, SubscriberUpdate { attribs, ..Default::default() }).await.unwrap();
    }
    let emails = |q: SubscriberQuery| {
        let f = &f;
        async move {
            let page = f.query_subscribers(&q).await.unwrap();
            (page.total, page.results.iter().map(|s| s.email.clone()).collect::<Vec<_>>())
        }
    };
    let gold = || expression("subscribers.attribs->>'tier' = 'gold'", Duration::from_secs(10));
    let q = SubscriberQuery {
        expression: gold(),
        order_by: SubscriberOrder::Email,
        desc: true,
        pagination: ALL,
        ..Default::default()
    };
    assert_eq!(
        emails(q).await,
        (3, vec!["dan@example.com".into(), "bob@example.com".into(), "ann@example.com".into()])
    );
    let in_news =
        SubscriberQuery { expression: gold(), list_id: Some(news.id), pagination: ALL, ..Default::default() };
    assert_eq!(emails(in_news).await, (2, vec!["ann@example.com".into(), "dan@example.com".into()]));
    let unsubscribed = SubscriberQuery {
        expression: gold(),
        list_id: Some(news.id),
        subscription_status: Some(SubscriptionStatus::Unsubscribed),
        pagination: ALL,
        ..Default::default()
    };
    assert_eq!(emails(unsubscribed).await.0, 0);
    let cast = SubscriberQuery {
        expression: expression(
            "(subscribers.attribs->>'visits')::int BETWEEN 15 AND 25 AND subscribers.name ILIKE 'NAME OF %'",
            Duration::from_secs(10),
        ),
        pagination: ALL,
        ..Default::default()
    };
    assert_eq!(emails(cast).await, (1, vec!["cat@example.com".into()]));
}

async fn failing_and_slow_expressions_are_invalid(b: Backend) {
    let f = Fixture::new(b).await;
    for i in 0..30 {
        f.subscriber(&format!("s{i}@example.com"), &[]).await;
    }
    let failing = SubscriberQuery {
        expression: expression("subscribers.no_such_column = 1", Duration::from_secs(10)),
        ..Default::default()
    };
    match f.query_subscribers(&failing).await {
        Err(StoreError::Invalid(m)) => assert!(m.starts_with("query failed: "), "{m}"),
        other => panic!("{other:?}"),
    }
    let slow = SubscriberQuery {
        expression: expression(
            "EXISTS (SELECT 1 FROM subscribers a, subscribers b, subscribers c, subscribers d, subscribers e, \
             subscribers g WHERE a.name || b.name || c.name || d.name || e.name || g.name = 'x')",
            Duration::from_millis(300),
        ),
        ..Default::default()
    };
    match f.query_subscribers(&slow).await {
        Err(StoreError::Invalid(m)) => assert!(m.contains("longer than 0.3 s"), "{m}"),
        other => panic!("{other:?}"),
    }
    // The store goes on reading and writing.
    assert_eq!(f.query_subscribers(&SubscriberQuery::default()).await.unwrap().total, 30);
    f.subscriber("after@example.com", &[]).await;
}

backend_tests!(expressions_filter_beside_lists_and_order, failing_and_slow_expressions_are_invalid);
