//! Campaigns and lists as listmonk v6.2.0's API answers them: every field
//! of its models with its JSON type, its defaults and validation, edits,
//! deletion, and the bounce counts of its campaign analytics.

use chrono::{Duration, DurationRound, Utc};
use rebound_core::BounceType;
use rebound_testkit::fixtures::{BounceEventExt, bounce};
use rebound_testkit::{Backend, TestServer, backend_tests, set_campaign_status};
use reqwest::Method;
use serde_json::{Value, json};

/// The JSON type of every field listmonk's `models.Campaign` always sends.
const CAMPAIGN_FIELDS: [(&str, &str); 31] = [
    ("id", "number"),
    ("created_at", "string"),
    ("updated_at", "string"),
    ("views", "number"),
    ("clicks", "number"),
    ("bounces", "number"),
    ("lists", "array"),
    ("media", "array"),
    ("started_at", "null"),
    ("to_send", "number"),
    ("sent", "number"),
    ("uuid", "string"),
    ("type", "string"),
    ("name", "string"),
    ("subject", "string"),
    ("from_email", "string"),
    ("body", "string"),
    ("body_source", "null"),
    ("altbody", "null"),
    ("send_at", "null"),
    ("status", "string"),
    ("content_type", "string"),
    ("tags", "array"),
    ("headers", "array"),
    ("attribs", "object"),
    ("template_id", "number"),
    ("messenger", "string"),
    ("archive", "bool"),
    ("archive_slug", "null"),
    ("archive_template_id", "null"),
    ("archive_meta", "object"),
];

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn assert_campaign_shape(c: &Value) {
    for (field, kind) in CAMPAIGN_FIELDS {
        assert_eq!(c.get(field).map(json_type), Some(kind), "{field} in {c}");
    }
}

async fn campaign_json_has_every_listmonk_field(b: Backend) {
    let s = TestServer::start(b).await;
    let list = s.create_list("weekly").await;
    // The body the PyPI client `listmonk` (0.6.32) sends to create one.
    let body = json!({"name": "Launch", "subject": "Hi", "lists": [list], "from_email": "News <news@site.com>",
        "type": null, "content_type": null, "body": null, "altbody": null, "send_at": null,
        "messenger": null, "template_id": null, "tags": [], "headers": [], "media": []});
    let c = s.post_ok("/api/campaigns", &body).await;
    assert_campaign_shape(&c);
    assert_eq!(
        (&c["type"], &c["status"], &c["content_type"], &c["messenger"], &c["template_id"], &c["body"]),
        (&json!("regular"), &json!("draft"), &json!("richtext"), &json!("email"), &json!(1), &json!(""))
    );
    assert_eq!(c["lists"], json!([{"id": list, "name": "weekly"}]));
    let id = c["id"].as_i64().unwrap();
    let got = s.get_json(&format!("/api/campaigns/{id}")).await["data"].clone();
    assert_campaign_shape(&got);
    assert_eq!(got, c);
    let page = s.get_json("/api/campaigns?per_page=5").await["data"].clone();
    assert_eq!((page["total"].clone(), page["per_page"].clone()), (json!(1), json!(5)));
    assert_campaign_shape(&page["results"][0]);

    // Every field given.
    let send_at = (Utc::now() + Duration::days(2)).duration_trunc(Duration::seconds(1)).unwrap();
    let full = s
        .post_ok(
            "/api/campaigns",
            &json!({"name": "Full", "subject": "S", "lists": [list, 999_999], "type": "regular",
                "content_type": "markdown", "body": "# hi", "altbody": "hi", "send_at": send_at.to_rfc3339(),
                "messenger": "email", "template_id": 3, "tags": [" spring ", ""], "headers": [{"X-A": "1"}],
                "attribs": {"k": "v"}, "archive": true, "archive_slug": "Spring Sale!", "archive_meta": {"a": 1}}),
        )
        .await;
    assert_eq!(full["lists"], json!([{"id": list, "name": "weekly"}]), "an id of no list is left out");
    assert_eq!(
        (&full["tags"], &full["headers"], &full["attribs"]),
        (&json!(["spring"]), &json!([{"X-A": "1"}]), &json!({"k": "v"}))
    );
    assert_eq!(
        (&full["template_id"], &full["archive"], &full["archive_slug"]),
        (&json!(3), &json!(true), &json!("spring-sale"))
    );
    assert_eq!(full["send_at"].as_str().map(|t| t.parse::<chrono::DateTime<Utc>>().unwrap()), Some(send_at));
    assert_eq!(full["altbody"], "hi");

    // No From address: listmonk's `app.from_email` setting, as a listmonk database has it.
    let from =
        std::collections::BTreeMap::from([("app.from_email".to_string(), json!("Site <noreply@site.com>"))]);
    s.store.save_settings(&from).await.unwrap();
    let defaulted = s.post_ok("/api/campaigns", &json!({"name": "D", "subject": "S", "lists": [list]})).await;
    assert_eq!(defaulted["from_email"], "Site <noreply@site.com>");
}

async fn creating_refuses_what_listmonk_refuses(b: Backend) {
    let s = TestServer::start(b).await;
    let list = s.create_list("single").await;
    let ok = json!({"name": "N", "subject": "S", "lists": [list]});
    let with = |patch: Value| {
        let mut body = ok.clone();
        body.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        body
    };
    let past = (Utc::now() - Duration::hours(1)).to_rfc3339();
    for (patch, field) in [
        (json!({"name": ""}), "name"),
        (json!({"subject": ""}), "subject"),
        (json!({"lists": []}), "list"),
        (json!({"send_at": past}), "send_at"),
        (json!({"type": "blast"}), "type"),
        (json!({"messenger": "sms"}), "messenger"),
        (json!({"content_type": "pdf"}), "content_type"),
        (json!({"from_email": "not an address"}), "from_email"),
        (json!({"headers": {"X": "1"}}), "headers"),
        (json!({"type": "optin"}), "double opt-in"),
        (json!({"body": "a\u{0}b"}), "U+0000"),
        (json!({"attribs": {"k": "\u{0}"}}), "U+0000"),
        (json!({"tags": ["x".repeat(101)]}), "100 characters"),
    ] {
        let (status, body) = s.send_json(Method::POST, "/api/campaigns", &with(patch.clone())).await;
        assert_eq!(status, 400, "{patch}: {body}");
        assert!(body["message"].as_str().unwrap().contains(field), "{patch}: {body}");
    }
    assert_eq!(s.get_json("/api/campaigns").await["data"]["total"], 0);

    // Unknown lists only: created, with none (listmonk checks only that ids were sent).
    let c = s.post_ok("/api/campaigns", &with(json!({"lists": [999_999]}))).await;
    assert_eq!(c["lists"], json!([]));
    let double = s.post_ok("/api/lists", &json!({"name": "double", "optin": "double"})).await["id"].clone();
    let optin = s.post_ok("/api/campaigns", &with(json!({"type": "optin", "lists": [list, double]}))).await;
    assert_eq!(optin["type"], "optin");
    let visual =
        s.post_ok("/api/campaigns", &with(json!({"content_type": "visual", "body_source": "{}"}))).await;
    assert_eq!((&visual["template_id"], &visual["body_source"]), (&Value::Null, &json!("{}")));
}

async fn an_update_replaces_what_is_sent(b: Backend) {
    let s = TestServer::start(b).await;
    let (l1, l2) = (s.create_list("one").await, s.create_list("two").await);
    let c = s
        .post_ok(
            "/api/campaigns",
            &json!({"name": "Old", "subject": "Keep", "body": "kept", "altbody": "alt", "tags": ["t"], "lists": [l1]}),
        )
        .await;
    let path = format!("/api/campaigns/{}", c["id"]);
    let (status, updated) = s
        .send_json(
            Method::PUT,
            &path,
            &json!({"name": "New", "body": null, "altbody": null, "tags": null, "lists": [l2]}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    let u = &updated["data"];
    assert_campaign_shape(u);
    assert_eq!(
        (&u["name"], &u["subject"], &u["body"]),
        (&json!("New"), &json!("Keep"), &json!("kept")),
        "null keeps a text"
    );
    assert_eq!((&u["altbody"], &u["tags"]), (&Value::Null, &json!([])), "null clears a nullable field");
    assert_eq!(u["lists"], json!([{"id": l2, "name": "two"}]));
    assert_eq!((&u["uuid"], &u["created_at"]), (&c["uuid"], &c["created_at"]));

    let (status, body) = s.send_json(Method::PUT, &path, &json!({"name": "No lists"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = s.send_json(Method::PUT, "/api/campaigns/999999", &json!({"lists": [l1]})).await;
    assert_eq!(status, 404);

    for status in ["running", "finished", "cancelled"] {
        set_campaign_status(&s.db.url, c["id"].as_i64().unwrap(), status).await;
        let (code, body) = s.send_json(Method::PUT, &path, &json!({"name": "Late", "lists": [l1]})).await;
        assert_eq!(code, 400, "{status}: {body}");
        assert!(body["message"].as_str().unwrap().contains("cannot be changed"), "{body}");
    }
    set_campaign_status(&s.db.url, c["id"].as_i64().unwrap(), "paused").await;
    let (status, body) =
        s.send_json(Method::PUT, &path, &json!({"name": "Paused edit", "lists": [l1]})).await;
    assert_eq!((status, &body["data"]["name"]), (200, &json!("Paused edit")), "{body}");
}

async fn a_deleted_campaign_keeps_its_bounces(b: Backend) {
    let s = TestServer::start(b).await;
    let (id, uuid) = s.create_campaign("Gone").await;
    let list = s.get_json(&format!("/api/campaigns/{id}")).await["data"]["lists"][0]["id"].as_i64().unwrap();
    s.create_subscriber("a@example.com", &[list]).await;
    let event = bounce("a@example.com", BounceType::Soft).campaign(uuid.parse().unwrap());
    s.store.record_bounces(&[event], &Default::default(), Utc::now()).await.unwrap();
    assert_eq!(s.get_json(&format!("/api/campaigns/{id}")).await["data"]["bounces"], 1);

    let (status, body) = s.send_json(Method::DELETE, &format!("/api/campaigns/{id}"), &json!({})).await;
    assert_eq!((status, body), (200, json!({"data": true})));
    assert_eq!(s.req(Method::GET, &format!("/api/campaigns/{id}")).send().await.unwrap().status(), 404);
    assert_eq!(s.req(Method::DELETE, &format!("/api/campaigns/{id}")).send().await.unwrap().status(), 404);
    let bounces = s.get_json("/api/bounces").await["data"].clone();
    assert_eq!((&bounces["total"], &bounces["results"][0]["campaign"]), (&json!(1), &Value::Null));
}

async fn analytics_count_bounces_per_campaign_and_hour_or_day(b: Backend) {
    let s = TestServer::start(b).await;
    let (c1, u1) = s.create_campaign("One").await;
    let (c2, u2) = s.create_campaign("Two").await;
    let list = s.get_json(&format!("/api/campaigns/{c1}")).await["data"]["lists"][0]["id"].as_i64().unwrap();
    s.create_subscriber("a@example.com", &[list]).await;
    let hour = Utc::now().duration_trunc(Duration::hours(1)).unwrap();
    let events: Vec<_> =
        [(&u1, hour), (&u1, hour + Duration::minutes(1)), (&u2, hour), (&u1, hour - Duration::days(3))]
            .into_iter()
            .map(|(u, at)| bounce("a@example.com", BounceType::Soft).campaign(u.parse().unwrap()).at(at))
            .collect();
    s.store.record_bounces(&events, &Default::default(), Utc::now()).await.unwrap();

    let day = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let stamp = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let tomorrow = day(hour + Duration::days(1));
    let hourly = s
        .get_json(&format!(
            "/api/campaigns/analytics/bounces?id={c1}&id={c2}&from={}&to={tomorrow}",
            day(hour)
        ))
        .await;
    assert_eq!(
        hourly["data"],
        json!([{"campaign_id": c1, "count": 2, "timestamp": stamp(hour)},
               {"campaign_id": c2, "count": 1, "timestamp": stamp(hour)}])
    );
    let start = hour.duration_trunc(Duration::days(1)).unwrap();
    let daily = s
        .get_json(&format!(
            "/api/campaigns/analytics/bounces?id={c1}&from={}&to={tomorrow}",
            day(hour - Duration::days(10))
        ))
        .await;
    assert_eq!(
        daily["data"],
        json!([{"campaign_id": c1, "count": 1, "timestamp": stamp(start - Duration::days(3))},
               {"campaign_id": c1, "count": 2, "timestamp": stamp(start)}])
    );
    let range = format!("id={c1}&from=2026-01-01&to={tomorrow}");
    for kind in ["views", "clicks", "links"] {
        assert_eq!(
            s.get_json(&format!("/api/campaigns/analytics/{kind}?{range}")).await,
            json!({"data": []})
        );
    }
    for bad in [
        format!("/api/campaigns/analytics/opens?{range}"),
        format!("/api/campaigns/analytics/bounces?from=2026-01-01&to={tomorrow}"),
        format!("/api/campaigns/analytics/bounces?id=x&from=2026-01-01&to={tomorrow}"),
        format!("/api/campaigns/analytics/bounces?id={c1}&from=soon&to={tomorrow}"),
        format!("/api/campaigns/analytics/bounces?id={c1}&from=2026-01-01"),
    ] {
        let res = s.req(Method::GET, &bad).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        assert!(res.json::<Value>().await.unwrap()["message"].is_string());
    }
    // listmonk's own permission, not campaigns:get.
    let token = s.api_user("reader", &["campaigns:get"]).await;
    let res = s
        .client
        .get(s.url(&format!("/api/campaigns/analytics/bounces?{range}")))
        .header("Authorization", format!("token reader:{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

async fn lists_have_listmonks_fields_and_are_edited_as_in_listmonk(b: Backend) {
    let s = TestServer::start(b).await;
    let l = s
        .post_ok(
            "/api/lists",
            &json!({"name": "News", "type": "public", "optin": "double", "tags": ["a"], "description": "d"}),
        )
        .await;
    for (field, kind) in [
        ("id", "number"),
        ("created_at", "string"),
        ("updated_at", "string"),
        ("uuid", "string"),
        ("name", "string"),
        ("type", "string"),
        ("optin", "string"),
        ("status", "string"),
        ("tags", "array"),
        ("description", "string"),
        ("subscriber_count", "number"),
        ("subscriber_statuses", "object"),
    ] {
        assert_eq!(l.get(field).map(json_type), Some(kind), "{field} in {l}");
    }
    assert_eq!((&l["status"], &l["subscriber_statuses"]), (&json!("active"), &json!({})));
    let id = l["id"].as_i64().unwrap();
    s.create_subscriber("a@example.com", &[id]).await;
    let (campaign, _) = s.create_campaign("C").await;
    let path = format!("/api/campaigns/{campaign}");
    let lists_of_campaign = s.get_json(&path).await["data"]["lists"].clone();
    let own_list = lists_of_campaign[0]["id"].clone();
    s.send_json(Method::PUT, &path, &json!({"lists": [own_list, id]})).await;

    let (status, body) =
        s.send_json(Method::PUT, &format!("/api/lists/{id}"), &json!({"name": "Renamed"})).await;
    assert_eq!(status, 200, "{body}");
    let u = &body["data"];
    assert_eq!(
        (&u["name"], &u["type"], &u["optin"], &u["description"]),
        (&json!("Renamed"), &json!("public"), &json!("double"), &json!("d"))
    );
    assert_eq!(u["tags"], json!([]), "listmonk clears the tags an update does not send");
    assert_eq!((&u["subscriber_count"], &u["subscriber_statuses"]), (&json!(1), &json!({"confirmed": 1})));
    let names: Vec<Value> = s.get_json(&path).await["data"]["lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].clone())
        .collect();
    assert!(names.contains(&json!("Renamed")), "the campaign shows the new name: {names:?}");

    let (status, body) = s
        .send_json(
            Method::PUT,
            &format!("/api/lists/{id}"),
            &json!({"name": "R", "status": "archived", "type": "private", "tags": ["x"]}),
        )
        .await;
    assert_eq!(
        (status, &body["data"]["status"], &body["data"]["type"], &body["data"]["tags"]),
        (200, &json!("archived"), &json!("private"), &json!(["x"]))
    );
    for (bad, why) in [
        (json!({"type": "private"}), "name"),
        (json!({"name": "x", "optin": "triple"}), "optin"),
        (json!({"name": "x", "status": "gone"}), "status"),
        (json!({"name": "a\u{0}"}), "U+0000"),
        (json!({"name": "x", "tags": ["y".repeat(101)]}), "100 characters"),
    ] {
        let (status, body) = s.send_json(Method::PUT, &format!("/api/lists/{id}"), &bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["message"].as_str().unwrap().contains(why), "{body}");
    }
    let (status, _) = s.send_json(Method::PUT, "/api/lists/999999", &json!({"name": "x"})).await;
    assert_eq!(status, 404);
    let archived = s.post_ok("/api/lists", &json!({"name": "Old", "status": "archived"})).await;
    assert_eq!((&archived["status"], &archived["type"]), (&json!("archived"), &json!("private")));
}

backend_tests!(
    campaign_json_has_every_listmonk_field,
    creating_refuses_what_listmonk_refuses,
    an_update_replaces_what_is_sent,
    a_deleted_campaign_keeps_its_bounces,
    analytics_count_bounces_per_campaign_and_hour_or_day,
    lists_have_listmonks_fields_and_are_edited_as_in_listmonk,
);
