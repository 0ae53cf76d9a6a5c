//! GET/DELETE /api/bounces and friends, the CSV export.

use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{bounces_of, post_bounce, subscriber};

/// Three subscribers, two campaigns, five bounces from two sources.
async fn fixture(b: Backend) -> (TestServer, Vec<i64>, (i64, i64)) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    // Counts high enough that nobody is blocklisted while the fixture is built.
    s.put_settings(&json!({"bounce.actions": {
        "soft": {"count": 100, "action": "none"}, "hard": {"count": 100, "action": "blocklist"},
        "complaint": {"count": 100, "action": "blocklist"}}}))
        .await;
    let mut ids = Vec::new();
    for e in ["carol@example.com", "alice@example.com", "bob@example.com"] {
        ids.push(s.create_subscriber(e, &[]).await.0);
    }
    let (c1, c1_uuid) = s.create_campaign("Zeta").await;
    let (c2, c2_uuid) = s.create_campaign("Alpha").await;
    let rows = [
        ("carol@example.com", &c1_uuid, "ses", "hard", "2026-01-01T00:00:00Z"),
        ("alice@example.com", &c1_uuid, "ses", "soft", "2026-01-02T00:00:00Z"),
        ("bob@example.com", &c2_uuid, "pop.example.com", "complaint", "2026-01-03T00:00:00Z"),
        ("alice@example.com", &c2_uuid, "pop.example.com", "soft", "2026-01-04T00:00:00Z"),
        ("carol@example.com", &c2_uuid, "ses", "soft", "2026-01-05T00:00:00Z"),
    ];
    for (email, camp, source, kind, at) in rows {
        let body =
            json!({"email": email, "campaign_uuid": camp, "source": source, "type": kind, "created_at": at});
        assert_eq!(post_bounce(&s, &body).await.0, 200);
    }
    (s, ids, (c1, c2))
}

fn emails(page: &Value) -> Vec<String> {
    page["results"].as_array().unwrap().iter().map(|r| r["email"].as_str().unwrap().to_string()).collect()
}

async fn listing_filters_orders_and_pages(b: Backend) {
    let (s, _, (c1, _)) = fixture(b).await;
    let all = s.get_json("/api/bounces").await["data"].clone();
    assert_eq!(all["total"], 5);
    assert_eq!((all["page"].clone(), all["per_page"].clone()), (json!(1), json!(20)));
    // Newest first by default.
    assert_eq!(all["results"][0]["created_at"], "2026-01-05T00:00:00Z");

    let by_campaign = s.get_json(&format!("/api/bounces?campaign_id={c1}")).await["data"].clone();
    assert_eq!(by_campaign["total"], 2);
    let by_source = s.get_json("/api/bounces?source=pop.example.com").await["data"].clone();
    assert_eq!(by_source["total"], 2);
    let by_type = s.get_json("/api/bounces?type=soft").await["data"].clone();
    assert_eq!(by_type["total"], 3);

    let asc = s.get_json("/api/bounces?order_by=email&order=asc").await["data"].clone();
    assert_eq!(
        emails(&asc),
        [
            "alice@example.com",
            "alice@example.com",
            "bob@example.com",
            "carol@example.com",
            "carol@example.com"
        ]
    );
    let by_campaign_name = s.get_json("/api/bounces?order_by=campaign_name&order=asc").await["data"].clone();
    assert_eq!(by_campaign_name["results"][0]["campaign"]["name"], "Alpha");
    let by_type_desc = s.get_json("/api/bounces?order_by=type&order=desc&per_page=1").await["data"].clone();
    assert_eq!(by_type_desc["results"].as_array().unwrap().len(), 1);

    let p2 = s.get_json("/api/bounces?order_by=created_at&order=asc&per_page=2&page=2").await["data"].clone();
    assert_eq!(p2["total"], 5);
    assert_eq!(p2["results"][0]["created_at"], "2026-01-03T00:00:00Z");
    let every = s.get_json("/api/bounces?per_page=all").await["data"].clone();
    assert_eq!(every["results"].as_array().unwrap().len(), 5);

    // listmonk's tolerance: an unknown order is the default order, a page or
    // per_page that is not a number is the default.
    let default_order = s.get_json("/api/bounces").await["data"].clone();
    for odd in ["order_by=nonsense", "order=sideways", "order_by=email;drop&order=up"] {
        assert_eq!(s.get_json(&format!("/api/bounces?{odd}")).await["data"], default_order, "{odd}");
    }
    for odd in ["per_page=0", "per_page=-3", "per_page=x", "page=x", "page=0&per_page=abc"] {
        let page = s.get_json(&format!("/api/bounces?{odd}")).await["data"].clone();
        assert_eq!((page["page"].clone(), page["per_page"].clone()), (json!(1), json!(20)), "{odd}");
        assert_eq!(page["results"], default_order["results"], "{odd}");
    }
    // A filter that cannot be read stays a 400: ignoring it would show (and
    // let "delete all shown" act on) bounces the operator did not select.
    for bad in ["campaign_id=abc", "type=bad"] {
        let res = s.req(Method::GET, &format!("/api/bounces?{bad}")).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

async fn get_and_delete(b: Backend) {
    let (s, ids, _) = fixture(b).await;
    let first = s.get_json("/api/bounces?order_by=created_at&order=asc").await["data"]["results"][0].clone();
    let id = first["id"].as_i64().unwrap();
    let one = s.get_json(&format!("/api/bounces/{id}")).await["data"].clone();
    assert_eq!(one, first);
    assert_eq!(s.req(Method::GET, "/api/bounces/999999").send().await.unwrap().status(), 404);

    assert_eq!(s.req(Method::DELETE, &format!("/api/bounces/{id}")).send().await.unwrap().status(), 200);
    assert_eq!(s.req(Method::DELETE, &format!("/api/bounces/{id}")).send().await.unwrap().status(), 404);
    let rest: Vec<i64> = s.get_json("/api/bounces").await["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(rest.len(), 4);
    let q = format!("/api/bounces?id={}&id={}", rest[0], rest[1]);
    assert_eq!(s.req(Method::DELETE, &q).send().await.unwrap().status(), 200);
    assert_eq!(s.get_json("/api/bounces").await["data"]["total"], 2);
    assert_eq!(s.req(Method::DELETE, "/api/bounces").send().await.unwrap().status(), 400);

    // A subscriber's bounces: alice keeps her 2026-01-02 bounce.
    let alice = ids[1];
    assert_eq!(bounces_of(&s, alice).await.len(), 1);
    assert_eq!(
        s.req(Method::DELETE, &format!("/api/subscribers/{alice}/bounces")).send().await.unwrap().status(),
        200
    );
    assert!(bounces_of(&s, alice).await.is_empty());
    assert_eq!(s.get_json("/api/bounces").await["data"]["total"], 1);

    assert_eq!(s.req(Method::DELETE, "/api/bounces?all=true").send().await.unwrap().status(), 200);
    assert_eq!(s.get_json("/api/bounces").await["data"]["total"], 0);
}

async fn blocklist_all_bounced(b: Backend) {
    let (s, ids, _) = fixture(b).await;
    let (clean, _) = s.create_subscriber("clean@example.com", &[]).await;
    assert_eq!(s.req(Method::PUT, "/api/bounces/blocklist").send().await.unwrap().status(), 200);
    for id in ids {
        assert_eq!(subscriber(&s, id).await["status"], "blocklisted");
    }
    assert_eq!(subscriber(&s, clean).await["status"], "enabled");
}

async fn csv_export_streams_the_filtered_rows(b: Backend) {
    let (s, _, (c1, _)) = fixture(b).await;
    let res = s.req(Method::GET, "/api/bounces/export.csv").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,email,subscriber_uuid,subscriber_status,campaign_id,campaign_name,type,source,created_at,meta"
    );
    assert_eq!(lines.len(), 6);
    let filtered = s
        .req(Method::GET, &format!("/api/bounces/export.csv?campaign_id={c1}&type=hard"))
        .send()
        .await
        .unwrap();
    let text = filtered.text().await.unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.contains("carol@example.com") && text.contains(",Zeta,hard,ses,"));
}

async fn csv_export_pages_past_one_thousand(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.create_subscriber("many@example.com", &[]).await;
    s.put_settings(&json!({"bounce.actions": {"soft": {"count": 100000, "action": "none"},
        "hard": {"count": 1, "action": "blocklist"}, "complaint": {"count": 1, "action": "blocklist"}}}))
        .await;
    let events: Vec<rebound_core::BounceEvent> = (0..2500)
        .map(|_| {
            rebound_core::BounceEvent::new(
                rebound_core::SubscriberRef::by_email(
                    rebound_core::EmailAddress::parse("many@example.com").unwrap(),
                ),
                rebound_core::BounceType::Soft,
                "bulk",
            )
        })
        .collect();
    let settings = s.get_json("/api/settings").await["data"]["bounce.actions"].clone();
    let actions: rebound_core::BounceActions = serde_json::from_value(settings).unwrap();
    s.store.record_bounces(&events, &actions, chrono::Utc::now()).await.unwrap();
    let text = s.req(Method::GET, "/api/bounces/export.csv").send().await.unwrap().text().await.unwrap();
    assert_eq!(text.lines().count(), 2501);
}

/// A source or address made to look like a formula reaches the spreadsheet
/// as text (OWASP's CSV injection advice: a leading single quote).
async fn csv_export_neutralises_formulas(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.create_subscriber("-dash@example.com", &[]).await;
    let source = "=HYPERLINK(\"http://evil.example/\",\"x\")";
    let (status, _, body) =
        crate::post_bounce(&s, &json!({"email": "-dash@example.com", "source": source, "type": "soft"}))
            .await;
    assert_eq!(status, 200, "{body}");
    let text = s.req(Method::GET, "/api/bounces/export.csv").send().await.unwrap().text().await.unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let row = r.records().next().unwrap().unwrap();
    assert_eq!(&row[1], "'-dash@example.com");
    assert_eq!(&row[7], format!("'{source}"));
    assert!(row.iter().all(|cell| !cell.starts_with(['=', '+', '-', '@', '\t', '\r'])), "{row:?}");
}

/// `per_page=all` streams (no Content-Length: the body is written page by
/// page) and answers exactly what one big page would, in the asked order.
async fn per_page_all_streams_the_same_answer(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    for i in 0..30 {
        s.create_subscriber(&format!("s{i:02}@example.com"), &[]).await;
    }
    s.put_settings(&json!({"bounce.actions": {"soft": {"count": 100000, "action": "none"},
        "hard": {"count": 100000, "action": "none"}, "complaint": {"count": 1, "action": "none"}}}))
        .await;
    let events: Vec<rebound_core::BounceEvent> = (0..2500)
        .map(|i| {
            let email =
                rebound_core::EmailAddress::parse(&format!("s{:02}@example.com", (i * 7) % 30)).unwrap();
            let kind =
                if i % 3 == 0 { rebound_core::BounceType::Hard } else { rebound_core::BounceType::Soft };
            rebound_core::BounceEvent::new(
                rebound_core::SubscriberRef::by_email(email),
                kind,
                ["api", "ses"][i % 2],
            )
        })
        .collect();
    let actions: rebound_core::BounceActions =
        serde_json::from_value(s.get_json("/api/settings").await["data"]["bounce.actions"].clone()).unwrap();
    s.store.record_bounces(&events, &actions, chrono::Utc::now()).await.unwrap();
    for query in
        ["", "&order_by=email&order=asc", "&type=hard&source=ses", "&order_by=campaign_name&query=x&page=2"]
    {
        let res = s.req(Method::GET, &format!("/api/bounces?per_page=all{query}")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("content-length").is_none(), "{query}: not streamed");
        assert_eq!(res.headers()["content-type"], "application/json");
        let all: serde_json::Value = res.json().await.unwrap();
        // The same rows as the ordinary (not streamed) pages of 1000, one after the other.
        let mut pages = Vec::new();
        let mut one_page = Value::Null;
        for n in 1..=3 {
            one_page = s
                .get_json(&format!("/api/bounces?per_page=1000&page={n}{}", query.replace("&page=2", "")))
                .await;
            pages.extend(one_page["data"]["results"].as_array().unwrap().iter().cloned());
        }
        one_page["data"]["results"] = Value::Array(pages);
        one_page["data"]["per_page"] = json!(0);
        one_page["data"]["page"] = json!(if query.contains("page=2") { 2 } else { 1 });
        assert_eq!(all, one_page, "{query}");
    }
    // Far larger pages than listmonk's 50 (the PyPI client asks for 1000000 to
    // get everything) are honoured, and streamed.
    let res =
        s.req(Method::GET, "/api/bounces?per_page=1000000&order_by=email&order=asc").send().await.unwrap();
    assert!(res.headers().get("content-length").is_none(), "a million-row page is not streamed");
    let huge: Value = res.json().await.unwrap();
    assert_eq!(
        (huge["data"]["per_page"].clone(), huge["data"]["total"].clone()),
        (json!(1000000), json!(2500))
    );
    assert_eq!(huge["data"]["results"].as_array().unwrap().len(), 2500);
    let second =
        s.get_json("/api/bounces?per_page=2000&page=2&order_by=email&order=asc").await["data"].clone();
    assert_eq!((second["total"].clone(), second["page"].clone()), (json!(2500), json!(2)));
    assert_eq!(
        second["results"].as_array().unwrap()[..],
        huge["data"]["results"].as_array().unwrap()[2000..]
    );
    let beyond = s.get_json("/api/bounces?per_page=2000&page=3").await["data"].clone();
    assert_eq!((beyond["results"].clone(), beyond["total"].clone()), (json!([]), json!(2500)));
    let all = s.get_json("/api/bounces?per_page=all").await;
    assert_eq!(all["data"]["total"], 2500);
    assert_eq!(all["data"]["results"].as_array().unwrap().len(), 2500);
    let none = s.get_json("/api/bounces?per_page=all&source=nowhere").await;
    assert_eq!(none, json!({"data": {"results": [], "query": "", "total": 0, "per_page": 0, "page": 1}}));
}

backend_tests!(
    per_page_all_streams_the_same_answer,
    csv_export_neutralises_formulas,
    listing_filters_orders_and_pages,
    get_and_delete,
    blocklist_all_bounced,
    csv_export_streams_the_filtered_rows,
    csv_export_pages_past_one_thousand,
);
