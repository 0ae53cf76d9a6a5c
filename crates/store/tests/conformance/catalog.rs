//! Lists and campaigns as listmonk keeps them: the fields of its tables,
//! edits, deletion, and the per-campaign bounce counts of its analytics.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rebound_core::{BounceEvent, BounceType, SubscriberStatus};
use rebound_store::{
    CampaignCount, CampaignCountQuery, CampaignFields, CountInterval, ListUpdate, StoreError,
    SubscriberUpdate,
};
use rebound_testkit_db::fixtures::{BounceEventExt, bounce};
use rebound_testkit_db::{Backend, backend_tests, set_campaign_status};
use serde_json::json;

use crate::support::{Fixture, counting_only};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn bounce_at(email: &str, campaign: uuid::Uuid, when: DateTime<Utc>) -> BounceEvent {
    bounce(email, BounceType::Soft).campaign(campaign).at(when)
}

async fn a_campaign_has_listmonks_fields_and_defaults(b: Backend) {
    let f = Fixture::new(b).await;
    let list = f.list("News").await;
    let c = f.campaign_on("Plain", &[list.id]).await;
    assert_eq!(
        (c.campaign_type.as_str(), c.messenger.as_str(), c.status.as_str()),
        ("regular", "email", "draft")
    );
    assert_eq!((c.views, c.clicks, c.bounces, c.to_send, c.sent), (0, 0, 0, 0, 0));
    assert_eq!((c.tags.clone(), c.attribs.clone(), c.media.clone()), (vec![], json!({}), json!([])));
    assert_eq!((c.send_at, c.started_at, c.template_id, c.altbody.clone()), (None, None, None, None));
    assert!(!c.archive);
    assert_eq!((c.archive_slug.clone(), c.archive_meta.clone()), (None, json!({})));

    let send_at = Utc::now() + Duration::days(3);
    let full = f
        .create_campaign(CampaignFields {
            campaign_type: "optin".into(),
            name: "Full".into(),
            subject: "All fields".into(),
            from_email: "News <news@example.com>".into(),
            body: "<p>hi</p>".into(),
            altbody: Some("hi".into()),
            content_type: "html".into(),
            send_at: Some(send_at),
            headers: json!([{"X-Tag": "a"}]),
            attribs: json!({"k": 1}),
            tags: vec!["spring".into(), "sale".into()],
            messenger: "email-bulk".into(),
            template_id: Some(4),
            archive: true,
            archive_slug: Some("full-campaign".into()),
            archive_template_id: Some(5),
            archive_meta: json!({"name": "x"}),
            lists: vec![list.id, 999_999],
            body_source: None,
        })
        .await
        .unwrap();
    let got = f.get_campaign(full.id).await.unwrap();
    assert_eq!(got.campaign_type, "optin");
    assert_eq!(got.send_at.map(|t| t.timestamp_millis()), Some(send_at.timestamp_millis()));
    assert_eq!(
        (got.tags.clone(), got.attribs.clone()),
        (vec!["spring".to_string(), "sale".into()], json!({"k": 1}))
    );
    assert_eq!(
        (got.messenger.as_str(), got.template_id, got.archive_template_id),
        ("email-bulk", Some(4), Some(5))
    );
    assert_eq!((got.archive, got.archive_slug.as_deref()), (true, Some("full-campaign")));
    assert_eq!(got.altbody.as_deref(), Some("hi"));
    assert_eq!(got.lists, json!([{"id": list.id, "name": "News"}]), "an id of no list is left out");

    let dup = CampaignFields {
        name: "Dup".into(),
        archive_slug: Some("full-campaign".into()),
        ..Default::default()
    };
    assert!(matches!(f.create_campaign(dup).await, Err(StoreError::Conflict(_))));
}

async fn a_campaign_is_edited_while_it_has_not_run(b: Backend) {
    let f = Fixture::new(b).await;
    let (one, two, three) = (f.list("One").await, f.list("Two").await, f.list("Three").await);
    let c = f.campaign_on("Draft", &[one.id, two.id]).await;
    f.delete_list(two.id).await.unwrap();
    let edited = f
        .update_campaign(
            c.id,
            CampaignFields {
                campaign_type: "optin".into(),
                name: "Edited".into(),
                subject: "New subject".into(),
                content_type: "markdown".into(),
                tags: vec!["t".into()],
                template_id: Some(2),
                lists: vec![three.id],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((edited.name.as_str(), edited.subject.as_str()), ("Edited", "New subject"));
    assert_eq!((edited.content_type.as_str(), edited.template_id), ("markdown", Some(2)));
    assert_eq!(edited.campaign_type, "regular", "an edit keeps the type");
    assert_eq!(
        edited.lists,
        json!([{"id": null, "name": "Two"}, {"id": three.id, "name": "Three"}]),
        "the lists not sent go; the entry of a deleted list stays, as in listmonk"
    );
    assert!(edited.updated_at >= c.updated_at);

    // A visual campaign has no template.
    let visual = CampaignFields {
        name: "V".into(),
        content_type: "visual".into(),
        template_id: Some(2),
        lists: vec![three.id],
        ..Default::default()
    };
    assert_eq!(f.update_campaign(c.id, visual).await.unwrap().template_id, None);
    assert!(matches!(
        f.update_campaign(999_999, CampaignFields::default()).await,
        Err(StoreError::NotFound(_))
    ));

    // Scheduled without a send time: a draft again (listmonk's update-campaign).
    set_campaign_status(&f.db.url, c.id, "scheduled").await;
    let unscheduled = CampaignFields { name: "U".into(), lists: vec![three.id], ..Default::default() };
    assert_eq!(f.update_campaign(c.id, unscheduled.clone()).await.unwrap().status, "draft");
    for status in ["running", "cancelled", "finished"] {
        set_campaign_status(&f.db.url, c.id, status).await;
        let refused = f.update_campaign(c.id, unscheduled.clone()).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{status}: {refused:?}");
    }
    assert_eq!(f.get_campaign(c.id).await.unwrap().name, "U", "a refused edit changes nothing");
}

async fn a_list_edit_keeps_what_is_not_given_and_renames_it_in_campaigns(b: Backend) {
    let f = Fixture::new(b).await;
    let list = f.list_with("Old", "double").await;
    assert_eq!(list.status, "active");
    let c = f.campaign_on("C", &[list.id]).await;
    let tagged = f
        .update_list(
            list.id,
            ListUpdate {
                name: "New".into(),
                status: Some("archived".into()),
                tags: vec!["a".into()],
                description: Some("about".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (tagged.name.as_str(), tagged.list_type.as_str(), tagged.optin.as_str()),
        ("New", "public", "double")
    );
    assert_eq!(
        (tagged.status.as_str(), tagged.tags.clone(), tagged.description.as_str()),
        ("archived", vec!["a".to_string()], "about")
    );
    assert_eq!(f.get_campaign(c.id).await.unwrap().lists, json!([{"id": list.id, "name": "New"}]));

    let untagged =
        f.update_list(list.id, ListUpdate { name: "New".into(), ..Default::default() }).await.unwrap();
    assert_eq!(untagged.tags, Vec::<String>::new(), "tags not sent are cleared, as listmonk does");
    assert_eq!(untagged.description, "about");
    assert!(matches!(
        f.update_list(999_999, ListUpdate { name: "x".into(), ..Default::default() }).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn a_list_counts_subscriptions_by_status(b: Backend) {
    let f = Fixture::new(b).await;
    let list = f.list("News").await;
    let a = f.subscriber("a@example.com", &[list.id]).await;
    f.subscriber("b@example.com", &[list.id]).await;
    assert_eq!(f.get_list(list.id).await.unwrap().subscriber_statuses, [("confirmed".to_string(), 2)].into());
    let blocklisted = SubscriberUpdate { status: Some(SubscriberStatus::Blocklisted), ..Default::default() };
    f.update_subscriber(a.id, blocklisted).await.unwrap();
    let l = f.get_list(list.id).await.unwrap();
    assert_eq!(l.subscriber_statuses, [("confirmed".into(), 1), ("unsubscribed".into(), 1)].into());
    assert_eq!(l.subscriber_count, 2, "every subscription counts, as in listmonk");
    let empty = f.list("Empty").await;
    assert_eq!((empty.subscriber_count, empty.subscriber_statuses.len()), (0, 0));
}

async fn a_deleted_campaign_leaves_its_bounces(b: Backend) {
    let f = Fixture::new(b).await;
    let list = f.list("News").await;
    let s = f.subscriber("a@example.com", &[list.id]).await;
    let c = f.campaign_on("Gone", &[list.id]).await;
    let uuid = c.uuid.parse().unwrap();
    f.record_bounces(&[bounce_at("a@example.com", uuid, Utc::now())], &counting_only(), Utc::now())
        .await
        .unwrap();
    assert_eq!(f.get_campaign(c.id).await.unwrap().bounces, 1);
    f.delete_campaign(c.id).await.unwrap();
    assert!(matches!(f.get_campaign(c.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(f.delete_campaign(c.id).await, Err(StoreError::NotFound(_))));
    let page = f.query_bounces(&Default::default()).await.unwrap();
    assert_eq!(page.total, 1, "the bounce stays");
    assert_eq!((page.results[0].subscriber_id, page.results[0].campaign.clone()), (s.id, None));
}

async fn bounces_are_counted_per_campaign_and_hour_or_day(b: Backend) {
    let f = Fixture::new(b).await;
    let list = f.list("News").await;
    f.subscriber("a@example.com", &[list.id]).await;
    let (c1, c2, other) = (
        f.campaign_on("One", &[list.id]).await,
        f.campaign_on("Two", &[list.id]).await,
        f.campaign_on("Other", &[list.id]).await,
    );
    let events: Vec<BounceEvent> = [
        (&c1, at(2026, 3, 1, 10, 5)),
        (&c1, at(2026, 3, 1, 10, 55)),
        (&c1, at(2026, 3, 1, 11, 0)),
        (&c2, at(2026, 3, 1, 10, 30)),
        (&c1, at(2026, 3, 4, 9, 0)),
        (&other, at(2026, 3, 1, 10, 0)),
        (&c1, at(2026, 2, 27, 23, 59)),
    ]
    .iter()
    .map(|(c, when)| bounce_at("a@example.com", c.uuid.parse().unwrap(), *when))
    .collect();
    f.record_bounces(&events, &counting_only(), Utc::now()).await.unwrap();

    let count = |campaign: &rebound_store::Campaign, n, ts| CampaignCount {
        campaign_id: campaign.id,
        count: n,
        timestamp: ts,
    };
    let (from, to) = (at(2026, 3, 1, 0, 0), at(2026, 3, 5, 0, 0));
    let hourly = CampaignCountQuery {
        campaign_ids: vec![c1.id, c2.id],
        from,
        to,
        interval: CountInterval::for_range(from, to),
    };
    assert_eq!(hourly.interval, CountInterval::Hour);
    assert_eq!(
        f.campaign_bounce_counts(&hourly).await.unwrap(),
        vec![
            count(&c1, 2, at(2026, 3, 1, 10, 0)),
            count(&c2, 1, at(2026, 3, 1, 10, 0)),
            count(&c1, 1, at(2026, 3, 1, 11, 0)),
            count(&c1, 1, at(2026, 3, 4, 9, 0)),
        ]
    );
    let (from, to) = (at(2026, 2, 20, 0, 0), at(2026, 3, 1, 11, 0));
    let daily = CampaignCountQuery {
        campaign_ids: vec![c1.id],
        from,
        to,
        interval: CountInterval::for_range(from, to),
    };
    assert_eq!(daily.interval, CountInterval::Day);
    assert_eq!(
        f.campaign_bounce_counts(&daily).await.unwrap(),
        vec![count(&c1, 1, at(2026, 2, 27, 0, 0)), count(&c1, 3, at(2026, 3, 1, 0, 0))],
        "`to` is inclusive"
    );
}

backend_tests!(
    a_campaign_has_listmonks_fields_and_defaults,
    a_campaign_is_edited_while_it_has_not_run,
    a_list_edit_keeps_what_is_not_given_and_renames_it_in_campaigns,
    a_list_counts_subscriptions_by_status,
    a_deleted_campaign_leaves_its_bounces,
    bounces_are_counted_per_campaign_and_hour_or_day,
);
