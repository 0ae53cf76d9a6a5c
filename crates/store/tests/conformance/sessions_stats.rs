//! The UI's store additions on both backends: login sessions and the
//! dashboard's aggregates.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rebound_core::{BounceActions, BounceEvent, BounceType, EmailAddress, SubscriberRef};
use rebound_store::{BounceTypeCounts, NewSession, Store};
use rebound_testkit_db::{Backend, backend_tests};
use serde_json::json;

use crate::support::Fixture;

async fn sessions_expire_and_log_out(b: Backend) {
    let s = Fixture::new(b).await;
    let store = &s.store;
    s.user("admin", &["*"]).await;
    let admin = store.find_user("admin").await.unwrap().expect("admin");
    let now = Utc::now();
    store
        .create_session(NewSession {
            token_hash: "h-live".into(),
            user_id: admin.id,
            csrf_token: "c-live".into(),
            expires_at: now + Duration::hours(1),
        })
        .await
        .unwrap();
    store
        .create_session(NewSession {
            token_hash: "h-old".into(),
            user_id: admin.id,
            csrf_token: "c-old".into(),
            expires_at: now - Duration::seconds(1),
        })
        .await
        .unwrap();

    let live = store.find_session("h-live", now).await.unwrap().expect("live session");
    assert_eq!(live.username, "admin");
    assert_eq!(live.user_id, admin.id);
    assert_eq!(live.csrf_token, "c-live");
    assert!(live.expires_at > now);
    assert!(store.find_session("h-old", now).await.unwrap().is_none(), "expired sessions are not found");
    assert!(store.find_session("nope", now).await.unwrap().is_none());
    // The same live session is gone once its expiry passes.
    assert!(store.find_session("h-live", now + Duration::hours(2)).await.unwrap().is_none());

    assert_eq!(store.delete_expired_sessions(now).await.unwrap(), 1);
    store.delete_session("h-live").await.unwrap();
    store.delete_session("h-live").await.unwrap(); // idempotent
    assert!(store.find_session("h-live", now).await.unwrap().is_none());

    // Deleting the user ends its sessions (another user holds "*", so the
    // admin is not the last one and may go).
    s.user("second-admin", &["*"]).await;
    store
        .create_session(NewSession {
            token_hash: "h-2".into(),
            user_id: admin.id,
            csrf_token: "c".into(),
            expires_at: now + Duration::hours(1),
        })
        .await
        .unwrap();
    store.delete_user(admin.id).await.unwrap();
    assert!(store.find_session("h-2", now).await.unwrap().is_none());
}

fn event(email: &str, kind: BounceType, source: &str, campaign: Option<&str>, days_ago: i64) -> BounceEvent {
    let today = Utc::now().date_naive().and_hms_opt(12, 0, 0).unwrap();
    BounceEvent {
        subscriber: SubscriberRef { uuid: None, email: Some(EmailAddress::parse(email).unwrap()) },
        campaign_uuid: campaign.map(|c| c.parse().unwrap()),
        bounce_type: kind,
        source: source.to_string(),
        meta: json!({}),
        created_at: Some(Utc.from_utc_datetime(&today) - Duration::days(days_ago)),
        event_id: None,
        unverified: false,
    }
}

async fn dashboard_aggregates(b: Backend) {
    let s = Fixture::new(b).await;
    s.subscriber("a@example.com", &[]).await;
    s.subscriber("b@example.com", &[]).await;
    let (c1, c1_uuid) = {
        let c = s.campaign("Spring news").await;
        (c.id, c.uuid)
    };
    let (c2, c2_uuid) = {
        let c = s.campaign("Summer news").await;
        (c.id, c.uuid)
    };
    s.campaign("Quiet campaign").await;
    // Counts high enough that no action removes a subscriber mid-test.
    let mut actions = BounceActions::default();
    for r in [&mut actions.soft, &mut actions.hard, &mut actions.complaint] {
        r.count = 1000;
    }
    use BounceType::*;
    let events = vec![
        event("a@example.com", Soft, "api", Some(&c1_uuid), 0),
        event("a@example.com", Soft, "api", Some(&c1_uuid), 0),
        event("b@example.com", Hard, "ses", Some(&c1_uuid), 0),
        event("b@example.com", Complaint, "ses", Some(&c2_uuid), 3),
        event("a@example.com", Hard, "pop.example.com", None, 3),
        event("a@example.com", Hard, "api", None, 45),
    ];
    let outcomes = s.store.record_bounces(&events, &actions, Utc::now()).await.unwrap();
    assert_eq!(outcomes.len(), 6);

    let today = Utc::now().date_naive();
    let since = Utc::now() - Duration::days(29);
    let days = s.store.bounces_per_day(since).await.unwrap();
    let got: Vec<(NaiveDate, BounceType, i64)> =
        days.iter().map(|d| (d.day, d.bounce_type, d.count)).collect();
    let three = today - Duration::days(3);
    assert_eq!(
        got,
        vec![(three, Hard, 1), (three, Complaint, 1), (today, Soft, 2), (today, Hard, 1)],
        "per day and type, oldest first, the 45-day-old bounce left out"
    );

    let sources: Vec<(String, i64)> =
        s.store.bounces_by_source().await.unwrap().into_iter().map(|r| (r.source, r.count)).collect();
    assert_eq!(sources, vec![("api".into(), 3), ("ses".into(), 2), ("pop.example.com".into(), 1)]);

    let top: Vec<(i64, String, i64)> = s
        .store
        .top_bounced_campaigns(5)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.name, c.count))
        .collect();
    assert_eq!(top, vec![(c1, "Spring news".into(), 3), (c2, "Summer news".into(), 1)]);
    assert_eq!(s.store.top_bounced_campaigns(1).await.unwrap().len(), 1);

    let c1_counts = s.store.bounce_counts_of_campaign(c1).await.unwrap();
    assert_eq!(c1_counts, BounceTypeCounts { soft: 2, hard: 1, complaint: 0 });
    let c2_counts = s.store.bounce_counts_of_campaign(c2).await.unwrap();
    assert_eq!(c2_counts, BounceTypeCounts { soft: 0, hard: 0, complaint: 1 });
    let unknown = s.store.bounce_counts_of_campaign(c2 + 1000).await.unwrap();
    assert_eq!(unknown, BounceTypeCounts::default(), "an unknown campaign has no bounces");
}

async fn empty_database_has_empty_aggregates(b: Backend) {
    let s = Fixture::new(b).await;
    let store: &dyn Store = s.store.as_ref();
    assert!(store.bounces_per_day(Utc::now() - Duration::days(29)).await.unwrap().is_empty());
    assert!(store.bounces_by_source().await.unwrap().is_empty());
    assert!(store.top_bounced_campaigns(5).await.unwrap().is_empty());
}

/// Per receiving domain (any case of the address), with the parser's
/// reasons, most bounces first; the tail beyond `top` summed as "(other)";
/// bounces before `since` left out.
async fn bounces_per_receiving_domain(b: Backend) {
    let s = Fixture::new(b).await;
    for e in ["a@gmail.com", "B@Gmail.COM", "c@outlook.com", "d@x.test", "e@y.test"] {
        s.subscriber(e, &[]).await;
    }
    let mut actions = BounceActions::default();
    for r in [&mut actions.soft, &mut actions.hard, &mut actions.complaint] {
        r.count = 1000;
    }
    use BounceType::*;
    let with_reason = |email: &str, kind, reason: &str, days| {
        let mut e = event(email, kind, "api", None, days);
        if !reason.is_empty() {
            e.meta = json!({"reason": reason});
        }
        e
    };
    let events = vec![
        with_reason("a@gmail.com", Hard, "userunknown", 0),
        with_reason("b@gmail.com", Hard, "userunknown", 0),
        with_reason("b@gmail.com", Soft, "mailboxfull", 0),
        with_reason("c@outlook.com", Hard, "blocked", 0),
        with_reason("c@outlook.com", Complaint, "", 0),
        with_reason("d@x.test", Soft, "mailboxfull", 0),
        with_reason("e@y.test", Hard, "userunknown", 0),
        with_reason("a@gmail.com", Hard, "userunknown", 60),
    ];
    s.store.record_bounces(&events, &actions, Utc::now()).await.unwrap();
    let got = s.store.bounces_by_domain(Utc::now() - Duration::days(30), 2).await.unwrap();
    type Row<'a> = (&'a str, i64, i64, i64, Vec<(&'a str, i64)>);
    let view: Vec<Row> = got
        .iter()
        .map(|d| {
            let reasons = d.reasons.iter().map(|r| (r.reason.as_str(), r.count)).collect();
            (d.domain.as_str(), d.counts.hard, d.counts.soft, d.counts.complaint, reasons)
        })
        .collect();
    assert_eq!(
        view,
        vec![
            ("gmail.com", 2, 1, 0, vec![("userunknown", 2), ("mailboxfull", 1)]),
            ("outlook.com", 1, 0, 1, vec![("blocked", 1)]),
            ("(other)", 1, 1, 0, vec![("mailboxfull", 1), ("userunknown", 1)]),
        ]
    );
    assert!(s.store.bounces_by_domain(Utc::now() + Duration::days(1), 10).await.unwrap().is_empty());
}

backend_tests!(
    sessions_expire_and_log_out,
    dashboard_aggregates,
    empty_database_has_empty_aggregates,
    bounces_per_receiving_domain
);
