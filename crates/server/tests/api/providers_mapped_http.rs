//! The mapper presets and a mapped provider through the real HTTP path:
//! for each, a tampered body, a wrong key and (where signed) a stale
//! timestamp are 401 with nothing recorded; a valid event is recorded once
//! however often it is retried; a non-bounce event is 200 and recorded nothing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rebound_testkit::{Backend, TestServer, backend_tests};
use serde_json::{Value, json};

struct Req<'a> {
    method: reqwest::Method,
    path: &'a str,
    query: &'a str,
    headers: Vec<(&'a str, String)>,
    body: Vec<u8>,
}

fn post<'a>(path: &'a str, headers: Vec<(&'a str, String)>, body: impl Into<Vec<u8>>) -> Req<'a> {
    Req { method: reqwest::Method::POST, path, query: "", headers, body: body.into() }
}

/// (status, rebound-outcome header)
async fn send(s: &TestServer, r: Req<'_>) -> (u16, String) {
    let mut url = s.url(r.path);
    if !r.query.is_empty() {
        url = format!("{url}?{}", r.query);
    }
    let mut req = s.client.request(r.method, url).body(r.body);
    for (k, v) in r.headers {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let outcome =
        res.headers().get("rebound-outcome").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, outcome)
}

async fn total(s: &TestServer) -> i64 {
    s.get_json("/api/bounces").await["data"]["total"].as_i64().unwrap()
}

fn hmac(alg: ring::hmac::Algorithm, key: &[u8], msg: &[u8]) -> Vec<u8> {
    ring::hmac::sign(&ring::hmac::Key::new(alg, key), msg).as_ref().to_vec()
}

/// The last recorded bounce as GET /api/bounces shows it.
async fn last(s: &TestServer) -> Value {
    s.get_json("/api/bounces").await["data"]["results"][0].clone()
}

async fn mailersend_through_http(b: Backend) {
    let s = server_on(b, json!({"bounce.mailersend": {"enabled": true, "key": "ms-secret"}})).await;
    let path = "/webhooks/service/mailersend";
    let body = |kind: &str| {
        format!(
            r#"{{"type":"activity.{kind}","created_at":"2027-01-05T10:10:00.000000Z","data":{{"id":"act-1",
"email":{{"id":"em1","recipient":{{"email":"reader@example.com"}}}},"morph":{{"reason":"550 5.1.1 user unknown"}}}}}}"#
        )
        .into_bytes()
    };
    let sig = |key: &str, b: &[u8]| hex::encode(hmac(ring::hmac::HMAC_SHA256, key.as_bytes(), b));
    let b = body("hard_bounced");
    let mut tampered = b.clone();
    tampered[12] = b'X';
    assert_eq!(send(&s, post(path, vec![("Signature", sig("ms-secret", &b))], tampered)).await.0, 401);
    assert_eq!(send(&s, post(path, vec![("Signature", sig("other", &b))], b.clone())).await.0, 401);
    assert_eq!(total(&s).await, 0);
    let ok = || post(path, vec![("Signature", sig("ms-secret", &b))], b.clone());
    assert_eq!(send(&s, ok()).await, (200, "recorded=1".into()));
    assert_eq!(send(&s, ok()).await, (200, "duplicate=1".into()));
    let opened = body("opened");
    assert_eq!(
        send(&s, post(path, vec![("Signature", sig("ms-secret", &opened))], opened)).await,
        (200, "ignored".into())
    );
    assert_eq!(total(&s).await, 1);
    let bounce = last(&s).await;
    assert_eq!((bounce["type"].clone(), bounce["source"].clone()), (json!("hard"), json!("mailersend")));
    assert_eq!(bounce["meta"]["diagnostic"], "550 5.1.1 user unknown");
}

async fn smtp2go_through_http(b: Backend) {
    let s = server_on(b, json!({"bounce.smtp2go": {"enabled": true, "username": "hooks", "password": "pw"}}))
        .await;
    let path = "/webhooks/service/smtp2go";
    let auth = |p: &str| format!("Basic {}", B64.encode(format!("hooks:{p}")));
    let body = |event: &str| {
        format!(r#"{{"event":"{event}","bounce":"hard","rcpt":"reader@example.com","email_id":"e1","time":"2027-01-05T10:05:00Z"}}"#)
            .into_bytes()
    };
    assert_eq!(send(&s, post(path, vec![("Authorization", auth("wrong"))], body("bounce"))).await.0, 401);
    assert_eq!(send(&s, post(path, vec![], body("bounce"))).await.0, 401);
    assert_eq!(total(&s).await, 0);
    assert_eq!(
        send(&s, post(path, vec![("Authorization", auth("pw"))], body("bounce"))).await,
        (200, "recorded=1".into())
    );
    assert_eq!(
        send(&s, post(path, vec![("Authorization", auth("pw"))], body("bounce"))).await,
        (200, "duplicate=1".into())
    );
    assert_eq!(
        send(&s, post(path, vec![("Authorization", auth("pw"))], body("delivered"))).await,
        (200, "ignored".into())
    );
    assert_eq!((total(&s).await, last(&s).await["type"].clone()), (1, json!("hard")));
}

async fn zeptomail_through_http(b: Backend) {
    let s = server_on(b, json!({"bounce.zeptomail": {"enabled": true, "key": "zm-key"}})).await;
    let path = "/webhooks/service/zeptomail";
    let body = |event: &str| {
        format!(
            r#"{{"event_name":["{event}"],"event_message":[{{"event_data":[{{"details":[{{"bounced_recipient":"reader@example.com",
"diagnostic_message":"550 5.1.1 user unknown"}}]}}],"request_id":"r1"}}],"webhook_request_id":"w1"}}"#
        )
        .into_bytes()
    };
    let sig = |key: &str, ms: i64, b: &[u8]| {
        format!(
            "ts={ms};s={};s-algorithm=HMACSHA256",
            B64.encode(hmac(ring::hmac::HMAC_SHA256, key.as_bytes(), b))
        )
    };
    let now = chrono::Utc::now().timestamp_millis();
    let b = body("softbounce");
    let mut tampered = b.clone();
    tampered[20] = b'X';
    assert_eq!(
        send(&s, post(path, vec![("producer-signature", sig("zm-key", now, &b))], tampered)).await.0,
        401
    );
    assert_eq!(
        send(&s, post(path, vec![("producer-signature", sig("other", now, &b))], b.clone())).await.0,
        401
    );
    let stale = now - 600_000;
    assert_eq!(
        send(&s, post(path, vec![("producer-signature", sig("zm-key", stale, &b))], b.clone())).await.0,
        401
    );
    assert_eq!(total(&s).await, 0);
    let ok = || post(path, vec![("producer-signature", sig("zm-key", now, &b))], b.clone());
    assert_eq!(send(&s, ok()).await, (200, "recorded=1".into()));
    assert_eq!(send(&s, ok()).await, (200, "duplicate=1".into()));
    let open = body("email_open");
    assert_eq!(
        send(&s, post(path, vec![("producer-signature", sig("zm-key", now, &open))], open)).await,
        (200, "ignored".into())
    );
    assert_eq!((total(&s).await, last(&s).await["type"].clone()), (1, json!("soft")));
}

async fn elasticemail_through_http(b: Backend) {
    let s = server_on(b, json!({"bounce.elasticemail": {"enabled": true, "key": "ee-secret"}})).await;
    let path = "/webhooks/service/elasticemail";
    let q = |key: &str, status: &str| {
        format!(
            "key={key}&transaction=t1&messageid=m1&to=reader%40example.com&status={status}&category=NoMailbox"
        )
    };
    // Elastic Email notifies with GET requests: the event is the URL.
    let get = |query: &str| {
        let query = query.to_string();
        let s = &s;
        async move {
            send(s, Req { method: reqwest::Method::GET, path, query: &query, headers: vec![], body: vec![] })
                .await
        }
    };
    assert_eq!(get(&q("wrong", "Error")).await.0, 401);
    assert_eq!(total(&s).await, 0);
    assert_eq!(get(&q("ee-secret", "Error")).await, (200, "recorded=1".into()));
    assert_eq!(get(&q("ee-secret", "Error")).await, (200, "duplicate=1".into()));
    assert_eq!(get(&q("ee-secret", "Opened")).await, (200, "ignored".into()));
    assert_eq!((total(&s).await, last(&s).await["type"].clone()), (1, json!("hard")));
    // Other providers are POST only.
    assert_eq!(s.client.get(s.url("/webhooks/service/postmark")).send().await.unwrap().status(), 405);
}

async fn mandrill_through_http(b: Backend) {
    let url = "https://bounces.example/webhooks/service/mandrill";
    let s = server_on(b, json!({"bounce.mandrill": {"enabled": true, "key": "md-key", "url": url}})).await;
    let path = "/webhooks/service/mandrill";
    // Mandrill checks the URL with a HEAD request before saving the webhook.
    assert_eq!(s.client.head(s.url(path)).send().await.unwrap().status(), 200);
    let events = |event: &str| {
        format!(
            r#"[{{"event":"{event}","_id":"m1","ts":1799143200,"msg":{{"email":"reader@example.com"}}}}]"#
        )
    };
    let form = |j: &str| {
        format!("mandrill_events={}", url::form_urlencoded::byte_serialize(j.as_bytes()).collect::<String>())
    };
    let sig = |key: &str, j: &str| {
        B64.encode(hmac(
            ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            key.as_bytes(),
            format!("{url}mandrill_events{j}").as_bytes(),
        ))
    };
    let j = events("hard_bounce");
    let h = |sig: String| {
        vec![("X-Mandrill-Signature", sig), ("Content-Type", "application/x-www-form-urlencoded".into())]
    };
    assert_eq!(send(&s, post(path, h(sig("md-key", &j)), form(&j).replace("m1", "m2"))).await.0, 401);
    assert_eq!(send(&s, post(path, h(sig("other", &j)), form(&j))).await.0, 401);
    assert_eq!(total(&s).await, 0);
    assert_eq!(send(&s, post(path, h(sig("md-key", &j)), form(&j))).await, (200, "recorded=1".into()));
    assert_eq!(send(&s, post(path, h(sig("md-key", &j)), form(&j))).await, (200, "duplicate=1".into()));
    let open = events("open");
    assert_eq!(send(&s, post(path, h(sig("md-key", &open)), form(&open))).await, (200, "ignored".into()));
    assert_eq!((total(&s).await, last(&s).await["source"].clone()), (1, json!("mandrill")));
}

async fn ses_eventbridge_through_http(b: Backend) {
    let s = server_on(b, json!({"bounce.ses_eventbridge": {"enabled": true, "key": "eb-key"}})).await;
    let path = "/webhooks/service/ses_eventbridge";
    let body = |kind: &str, section: &str| {
        format!(
            r#"{{"id":"evt-1","detail-type":"Email Bounced","source":"aws.ses","time":"2027-01-05T10:05:01Z",
"detail":{{"eventType":"{kind}","mail":{{"messageId":"m-1"}},{section}}}}}"#
        )
        .into_bytes()
    };
    let bounce = body(
        "Bounce",
        r#""bounce":{"feedbackId":"fb-1","bounceType":"Permanent","bounceSubType":"General",
           "bouncedRecipients":[{"emailAddress":"reader@example.com","status":"5.1.1"}]}"#,
    );
    assert_eq!(send(&s, post(path, vec![("x-rebound-key", "wrong".into())], bounce.clone())).await.0, 401);
    assert_eq!(send(&s, post(path, vec![], bounce.clone())).await.0, 401);
    assert_eq!(total(&s).await, 0);
    let ok = || post(path, vec![("x-rebound-key", "eb-key".into())], bounce.clone());
    assert_eq!(send(&s, ok()).await, (200, "recorded=1".into()));
    assert_eq!(send(&s, ok()).await, (200, "duplicate=1".into()));
    let delivery = body("Delivery", r#""delivery":{"recipients":["reader@example.com"]}"#);
    assert_eq!(
        send(&s, post(path, vec![("x-rebound-key", "eb-key".into())], delivery)).await,
        (200, "ignored".into())
    );
    assert_eq!((total(&s).await, last(&s).await["type"].clone()), (1, json!("hard")));
}

fn acme(auth: Value) -> Value {
    json!({"bounce.mapped_providers": [{
        "name": "acme", "enabled": true,
        "events": {"in": "body", "pointer": "/events"},
        "fields": {"address": "/to", "event_type": "/kind", "event_id": "/id", "diagnostic": "/why"},
        "types": {"bounced": "hard", "complained": "complaint"},
        "authentication": auth,
        "timestamp": {"header": "X-Acme-Time"}
    }]})
}

async fn mapped_provider_through_http(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    // No authentication without the explicit opt-in: the settings refuse it.
    let (status, res) =
        s.send_json(reqwest::Method::PUT, "/api/settings", &acme(json!({"type": "none"}))).await;
    assert_eq!(status, 400, "{res}");
    assert!(res["message"].as_str().unwrap().contains("i_understand_anyone_can_post"), "{res}");
    let auth = json!({"type": "hmac", "key": "acme-key", "header": "X-Acme-Signature", "prefix": "sha256=",
                      "signed": "{header:X-Acme-Time}.{body}"});
    s.put_settings(&acme(auth)).await;
    // GET masks the key; sent back as shown, the key is kept.
    let shown = s.get_json("/api/settings").await["data"].clone();
    assert!(!shown.to_string().contains("acme-key"));
    s.put_settings(&json!({"bounce.mapped_providers": shown["bounce.mapped_providers"]})).await;
    s.create_subscriber("reader@example.com", &[]).await;

    let path = "/webhooks/service/custom/acme";
    let body = br#"{"events":[{"id":"a1","kind":"bounced","to":"reader@example.com","why":"no such user"},
                   {"id":"a2","kind":"opened","to":"reader@example.com"}]}"#;
    let sig = |key: &str, t: i64, b: &[u8]| {
        let mut msg = format!("{t}.").into_bytes();
        msg.extend_from_slice(b);
        vec![
            (
                "X-Acme-Signature",
                format!("sha256={}", hex::encode(hmac(ring::hmac::HMAC_SHA256, key.as_bytes(), &msg))),
            ),
            ("X-Acme-Time", t.to_string()),
        ]
    };
    let now = chrono::Utc::now().timestamp();
    let mut tampered = body.to_vec();
    tampered[20] = b'X';
    assert_eq!(send(&s, post(path, sig("acme-key", now, body), tampered)).await.0, 401);
    assert_eq!(send(&s, post(path, sig("other", now, body), body.to_vec())).await.0, 401);
    assert_eq!(send(&s, post(path, sig("acme-key", now - 600, body), body.to_vec())).await.0, 401);
    assert_eq!(
        send(&s, post("/webhooks/service/custom/nosuch", sig("acme-key", now, body), body.to_vec())).await.0,
        404
    );
    assert_eq!(total(&s).await, 0);
    assert_eq!(
        send(&s, post(path, sig("acme-key", now, body), body.to_vec())).await,
        (200, "recorded=1".into())
    );
    assert_eq!(
        send(&s, post(path, sig("acme-key", now, body), body.to_vec())).await,
        (200, "duplicate=1".into())
    );
    let opened = br#"{"events":[{"id":"a3","kind":"opened","to":"reader@example.com"}]}"#;
    assert_eq!(
        send(&s, post(path, sig("acme-key", now, opened), opened.to_vec())).await,
        (200, "ignored".into())
    );
    let bounce = last(&s).await;
    assert_eq!(
        (
            total(&s).await,
            bounce["type"].clone(),
            bounce["source"].clone(),
            bounce["meta"]["diagnostic"].clone()
        ),
        (1, json!("hard"), json!("acme"), json!("no such user"))
    );
    // The providers' status lists it with its URL.
    let status = s.get_json("/api/bounces/providers").await["data"].clone();
    let acme = status.as_array().unwrap().iter().find(|p| p["name"] == "custom/acme").cloned();
    assert_eq!(
        acme,
        Some(
            json!({"name": "custom/acme", "enabled": true, "path": "/webhooks/service/custom/acme", "problem": null})
        )
    );
    // Switched off: 404, like a disabled built-in provider.
    let mut off = s.get_json("/api/settings").await["data"]["bounce.mapped_providers"].clone();
    off[0]["enabled"] = json!(false);
    s.put_settings(&json!({"bounce.mapped_providers": off})).await;
    assert_eq!(send(&s, post(path, sig("acme-key", now, body), body.to_vec())).await.0, 404);
}

async fn server_on(b: Backend, settings: Value) -> TestServer {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&settings).await;
    s.create_subscriber("reader@example.com", &[]).await;
    s
}

backend_tests!(
    mailersend_through_http,
    smtp2go_through_http,
    zeptomail_through_http,
    elasticemail_through_http,
    mandrill_through_http,
    ses_eventbridge_through_http,
    mapped_provider_through_http
);
