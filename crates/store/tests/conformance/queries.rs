//! Listings: filters, every order, paging, and the id-ordered export pages,
//! for bounces; paging and order of subscribers, lists and campaigns.

use std::cmp::Ordering;

use chrono::{Duration, TimeZone, Utc};
use rebound_core::BounceType::{self, Complaint, Hard, Soft};
use rebound_core::{SubscriberStatus, SubscriptionStatus};
use rebound_store::{
    Bounce, BounceFilter, BounceOrder, BounceQuery, Pagination, PerPage, Selection, StoreError,
    SubscriberQuery, SubscriberUpdate,
};
use rebound_testkit_db::fixtures::{BounceEventExt, bounce};
use rebound_testkit_db::{Backend, backend_tests};

use crate::support::{Fixture, counting_only};

const ALL: Pagination = Pagination { page: 1, per_page: PerPage::All };

/// Six bounces of three subscribers over two campaigns (and none), three
/// sources, all types, with a tie on created_at. Returns them in id order.
async fn six_bounces(f: &Fixture) -> Vec<Bounce> {
    for email in ["carol@example.com", "alice@example.com", "bob@example.com"] {
        f.subscriber(email, &[]).await;
    }
    let beta: uuid::Uuid = f.campaign("Beta").await.uuid.parse().unwrap();
    let alpha: uuid::Uuid = f.campaign("Alpha").await.uuid.parse().unwrap();
    let t = Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap();
    let at = |s: i64| t + Duration::seconds(s);
    let events = [
        bounce("alice@example.com", Hard).source("ses").campaign(beta).at(at(5)),
        bounce("bob@example.com", Soft).source("api").at(at(1)),
        bounce("carol@example.com", Complaint).source("pop.example.com").campaign(alpha).at(at(3)),
        bounce("alice@example.com", Soft).source("api").campaign(alpha).at(at(2)),
        bounce("bob@example.com", Hard).source("ses").at(at(4)),
        bounce("carol@example.com", Soft).source("ses").campaign(beta).at(at(3)),
    ];
    f.record_bounces(&events, &counting_only(), Utc::now()).await.unwrap();
    let rows = f.bounces_after(&BounceFilter::default(), 0, 100).await.unwrap();
    assert_eq!(rows.len(), 6);
    rows
}

fn severity(t: BounceType) -> u8 {
    match t {
        Soft => 0,
        Hard => 1,
        Complaint => 2,
    }
}

/// The order both backends must produce: by the column, then by id, both in
/// the asked direction; bounces without a campaign sort after the others
/// ascending and before them descending (PostgreSQL's rule, which listmonk
/// users see); types by severity (listmonk's enum order).
fn expected(rows: &[Bounce], order: BounceOrder, desc: bool) -> Vec<i64> {
    let mut rows: Vec<&Bounce> = rows.iter().collect();
    rows.sort_by(|a, b| {
        let by = match order {
            BounceOrder::Email => a.email.cmp(&b.email),
            BounceOrder::Source => a.source.cmp(&b.source),
            BounceOrder::CreatedAt => a.created_at.cmp(&b.created_at),
            BounceOrder::Type => severity(a.bounce_type).cmp(&severity(b.bounce_type)),
            BounceOrder::CampaignName => match (&a.campaign, &b.campaign) {
                (Some(x), Some(y)) => x.name.cmp(&y.name),
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
            },
        };
        let o = by.then(a.id.cmp(&b.id));
        if desc { o.reverse() } else { o }
    });
    rows.iter().map(|r| r.id).collect()
}

fn ids(rows: &[Bounce]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

async fn bounces_come_in_every_order(b: Backend) {
    let f = Fixture::new(b).await;
    let rows = six_bounces(&f).await;
    let orders = [
        BounceOrder::Email,
        BounceOrder::CampaignName,
        BounceOrder::Source,
        BounceOrder::CreatedAt,
        BounceOrder::Type,
    ];
    for order_by in orders {
        for desc in [false, true] {
            let q = BounceQuery { order_by, desc, pagination: ALL, ..Default::default() };
            let got = f.query_bounces(&q).await.unwrap();
            assert_eq!(got.total, 6);
            assert_eq!(ids(&got.results), expected(&rows, order_by, desc), "{order_by:?} desc={desc}");
        }
    }
}

async fn bounce_filters_narrow_rows_and_total(b: Backend) {
    let f = Fixture::new(b).await;
    let rows = six_bounces(&f).await;
    let alpha = rows.iter().find_map(|r| r.campaign.clone().filter(|c| c.name == "Alpha")).unwrap();
    let alice = rows.iter().find(|r| r.email == "alice@example.com").unwrap().subscriber_id;
    let filters = [
        BounceFilter { campaign_id: Some(alpha.id), ..Default::default() },
        BounceFilter { subscriber_id: Some(alice), ..Default::default() },
        BounceFilter { source: Some("ses".into()), ..Default::default() },
        BounceFilter { bounce_type: Some(Soft), ..Default::default() },
        BounceFilter { source: Some("ses".into()), bounce_type: Some(Hard), ..Default::default() },
        BounceFilter { source: Some("nowhere".into()), ..Default::default() },
    ];
    for filter in filters {
        let want: Vec<i64> = rows
            .iter()
            .filter(|r| {
                filter.campaign_id.is_none_or(|c| r.campaign.as_ref().is_some_and(|x| x.id == c))
                    && filter.subscriber_id.is_none_or(|s| r.subscriber_id == s)
                    && filter.source.as_ref().is_none_or(|s| &r.source == s)
                    && filter.bounce_type.is_none_or(|t| r.bounce_type == t)
            })
            .map(|r| r.id)
            .collect();
        let q = BounceQuery {
            filter: filter.clone(),
            order_by: BounceOrder::CreatedAt,
            pagination: ALL,
            ..Default::default()
        };
        let got = f.query_bounces(&q).await.unwrap();
        let mut got_ids = ids(&got.results);
        got_ids.sort_unstable();
        assert_eq!(got_ids, want, "{filter:?}");
        assert_eq!(got.total, want.len() as i64, "{filter:?}");
        // The export's id-ordered pages see the same rows.
        let after = f.bounces_after(&filter, 0, 100).await.unwrap();
        assert_eq!(ids(&after), want, "{filter:?}");
    }
}

async fn bounce_pages_split_the_listing(b: Backend) {
    let f = Fixture::new(b).await;
    let rows = six_bounces(&f).await;
    let full = expected(&rows, BounceOrder::CreatedAt, true);
    let page = |page, n| BounceQuery {
        order_by: BounceOrder::CreatedAt,
        desc: true,
        pagination: Pagination { page, per_page: PerPage::Count(n) },
        ..Default::default()
    };
    let mut joined = vec![];
    for p in 1..=3 {
        let got = f.query_bounces(&page(p, 4)).await.unwrap();
        assert_eq!((got.total, got.page, got.per_page), (6, p, PerPage::Count(4)));
        joined.extend(ids(&got.results));
    }
    assert_eq!(joined, full);
    assert_eq!(ids(&f.query_bounces(&page(0, 4)).await.unwrap().results), full[..4], "page 0 is page 1");
    let all = f.query_bounces(&BounceQuery { pagination: ALL, ..Default::default() }).await.unwrap();
    assert_eq!((all.results.len(), all.per_page), (6, PerPage::All));

    // Export pages: id order, strictly after the given id, at most `limit`.
    let first = f.bounces_after(&BounceFilter::default(), 0, 4).await.unwrap();
    assert_eq!(ids(&first), ids(&rows[..4]));
    let rest = f.bounces_after(&BounceFilter::default(), first[3].id, 4).await.unwrap();
    assert_eq!(ids(&rest), ids(&rows[4..]));
    assert!(f.bounces_after(&BounceFilter::default(), rows[5].id, 4).await.unwrap().is_empty());
}

async fn bounces_are_got_and_deleted(b: Backend) {
    let f = Fixture::new(b).await;
    let rows = six_bounces(&f).await;
    let one = f.get_bounce(rows[2].id).await.unwrap();
    assert_eq!((one.email.as_str(), one.bounce_type), ("carol@example.com", Complaint));
    assert!(matches!(f.get_bounce(999_999).await, Err(StoreError::NotFound(_))));
    assert_eq!(f.delete_bounces(&Selection::Ids(vec![rows[0].id, rows[1].id, 999_999])).await.unwrap(), 2);
    assert!(matches!(f.get_bounce(rows[0].id).await, Err(StoreError::NotFound(_))));
    assert_eq!(f.delete_bounces(&Selection::Ids(vec![])).await.unwrap(), 0);
    assert_eq!(f.delete_bounces(&Selection::All).await.unwrap(), 4);
    assert_eq!(f.query_bounces(&BounceQuery::default()).await.unwrap().total, 0);
}

async fn blocklisting_the_bounced_touches_only_them(b: Backend) {
    let f = Fixture::new(b).await;
    let l = f.list("News").await;
    let bounced = f.subscriber("bounced@example.com", &[l.id]).await;
    let already = f.subscriber("already@example.com", &[l.id]).await;
    let clean = f.subscriber("clean@example.com", &[l.id]).await;
    let events = [
        bounce("bounced@example.com", Soft),
        bounce("bounced@example.com", Soft),
        bounce("already@example.com", Soft),
    ];
    f.record_bounces(&events, &counting_only(), Utc::now()).await.unwrap();
    f.update_subscriber(
        already.id,
        SubscriberUpdate { status: Some(SubscriberStatus::Blocklisted), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(f.blocklist_bounced_subscribers().await.unwrap(), 1, "the already blocklisted is not counted");
    let bounced = f.get_subscriber(bounced.id).await.unwrap();
    assert_eq!(bounced.status, SubscriberStatus::Blocklisted);
    assert_eq!(bounced.lists[0].subscription_status, SubscriptionStatus::Unsubscribed);
    let clean = f.get_subscriber(clean.id).await.unwrap();
    assert_eq!(clean.status, SubscriberStatus::Enabled);
    assert_eq!(clean.lists[0].subscription_status, SubscriptionStatus::Confirmed);
    assert_eq!(f.blocklist_bounced_subscribers().await.unwrap(), 0);
}

async fn subscribers_search_filter_and_page(b: Backend) {
    let f = Fixture::new(b).await;
    let (news, promo) = (f.list("News").await, f.list("Promo").await);
    let mut made = vec![];
    for (i, email) in
        ["zoe@example.com", "adam@example.org", "mia@example.com", "max@example.net", "eve@example.com"]
            .iter()
            .enumerate()
    {
        let lists = if i % 2 == 0 { vec![news.id, promo.id] } else { vec![promo.id] };
        made.push(f.subscriber(email, &lists).await);
    }
    let blocked = made[3].id;
    f.update_subscriber(
        blocked,
        SubscriberUpdate { status: Some(SubscriberStatus::Blocklisted), ..Default::default() },
    )
    .await
    .unwrap();
    let emails = |q: SubscriberQuery| {
        let f = &f;
        async move {
            let page = f.query_subscribers(&q).await.unwrap();
            (page.total, page.results.iter().map(|s| s.email.clone()).collect::<Vec<_>>())
        }
    };
    let q = |search: Option<&str>,
             list_id: Option<i64>,
             status: Option<SubscriberStatus>,
             pagination: Pagination| {
        SubscriberQuery {
            search: search.map(String::from),
            list_id,
            status,
            pagination,
            ..Default::default()
        }
    };
    // In id order (creation order), not by e-mail.
    let every: Vec<String> = made.iter().map(|s| s.email.clone()).collect();
    assert_eq!(emails(q(None, None, None, ALL)).await, (5, every.clone()));
    // Search matches the e-mail or the name, ignoring case.
    assert_eq!(emails(q(Some("  MIA "), None, None, ALL)).await, (1, vec!["mia@example.com".to_string()]));
    assert_eq!(
        emails(q(Some("NAME OF ADAM"), None, None, ALL)).await,
        (1, vec!["adam@example.org".to_string()])
    );
    assert_eq!(emails(q(Some("example.com"), None, None, ALL)).await.0, 3);
    assert_eq!(
        emails(q(None, Some(news.id), None, ALL)).await,
        (3, vec!["zoe@example.com".into(), "mia@example.com".into(), "eve@example.com".into()])
    );
    assert_eq!(
        emails(q(None, None, Some(SubscriberStatus::Blocklisted), ALL)).await,
        (1, vec!["max@example.net".into()])
    );
    assert_eq!(emails(q(Some("example.com"), Some(news.id), None, ALL)).await.0, 3);
    // Pages.
    let p2 = Pagination { page: 2, per_page: PerPage::Count(2) };
    assert_eq!(emails(q(None, None, None, p2)).await, (5, every[2..4].to_vec()));
    let p4 = Pagination { page: 4, per_page: PerPage::Count(2) };
    assert_eq!(emails(q(None, None, None, p4)).await, (5, vec![]));
    // Each result carries its lists, in list id order, with its own status.
    let page = f.query_subscribers(&q(None, None, None, ALL)).await.unwrap();
    let zoe = &page.results[0];
    assert_eq!(zoe.lists.iter().map(|l| l.id).collect::<Vec<_>>(), vec![news.id, promo.id]);
    let max = page.results.iter().find(|s| s.id == blocked).unwrap();
    assert_eq!(
        max.lists.iter().map(|l| l.subscription_status).collect::<Vec<_>>(),
        vec![SubscriptionStatus::Unsubscribed]
    );
}

async fn lists_and_campaigns_page(b: Backend) {
    let f = Fixture::new(b).await;
    let mut lists = vec![];
    for name in ["C list", "A list", "B list"] {
        lists.push(f.list(name).await);
    }
    let sub = f.subscriber("s@example.com", &[lists[0].id, lists[1].id]).await;
    f.subscriber("t@example.com", &[lists[0].id]).await;
    f.update_subscriber(sub.id, SubscriberUpdate { lists: Some(vec![lists[0].id]), ..Default::default() })
        .await
        .unwrap();
    let page = f.query_lists(ALL).await.unwrap();
    assert_eq!(page.total, 3);
    let got: Vec<(String, i64)> = page.results.iter().map(|l| (l.name.clone(), l.subscriber_count)).collect();
    assert_eq!(got, vec![("C list".into(), 2), ("A list".into(), 0), ("B list".into(), 0)], "id order");
    let p2 = f.query_lists(Pagination { page: 2, per_page: PerPage::Count(2) }).await.unwrap();
    assert_eq!((p2.total, p2.results.len(), p2.results[0].name.as_str()), (3, 1, "B list"));
    assert!(matches!(f.get_list(999_999).await, Err(StoreError::NotFound(_))));
    f.delete_list(lists[2].id).await.unwrap();
    assert!(matches!(f.delete_list(lists[2].id).await, Err(StoreError::NotFound(_))));

    let mut campaigns = vec![];
    for name in ["First", "Second", "Third"] {
        campaigns.push(f.campaign_on(name, &[lists[0].id, lists[1].id]).await);
    }
    let page = f.query_campaigns(ALL).await.unwrap();
    assert_eq!(page.total, 3);
    let names: Vec<&str> = page.results.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Third", "Second", "First"], "newest first");
    assert_eq!(
        page.results[0].lists,
        serde_json::json!([{"id": lists[0].id, "name": "C list"}, {"id": lists[1].id, "name": "A list"}])
    );
    let p2 = f.query_campaigns(Pagination { page: 2, per_page: PerPage::Count(2) }).await.unwrap();
    assert_eq!(p2.results.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["First"]);
    let none = f.campaign("Alone").await;
    assert_eq!(none.lists, serde_json::json!([]));
    assert_eq!(f.get_campaign(campaigns[0].id).await.unwrap().name, "First");
    assert!(matches!(f.get_campaign(999_999).await, Err(StoreError::NotFound(_))));
}

backend_tests!(
    bounces_come_in_every_order,
    bounce_filters_narrow_rows_and_total,
    bounce_pages_split_the_listing,
    bounces_are_got_and_deleted,
    blocklisting_the_bounced_touches_only_them,
    subscribers_search_filter_and_page,
    lists_and_campaigns_page,
);
