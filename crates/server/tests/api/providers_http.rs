//! POST /webhooks/service/{provider} through the real HTTP path: switches,
//! 404s, 401 records nothing, a retry counts once, non-bounces are 200.
//! Per-provider verification is tested in rebound-providers.

use rebound_testkit::{Backend, TestServer, backend_tests};
use serde_json::{Value, json};

fn postmark_bounce(id: u64, kind: &str, campaign: &str) -> Value {
    json!({"RecordType": "Bounce", "ID": id, "Type": kind, "TypeCode": 1, "MessageStream": "outbound",
           "Email": "Reader@Example.com", "BouncedAt": "2026-01-05T10:15:30Z", "Description": "unknown user",
           "Metadata": {"X-Listmonk-Campaign": campaign}})
}

async fn post(s: &TestServer, path: &str, auth: Option<(&str, &str)>, body: &Value) -> (u16, String) {
    let mut req = s.client.post(s.url(path)).json(body);
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
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

async fn postmark_through_http(b: Backend) {
    let s = TestServer::start(b).await;
    let (id, _) = s.create_subscriber("reader@example.com", &[]).await;
    let (campaign_id, campaign_uuid) = s.create_campaign("Weekly").await;
    let path = "/webhooks/service/postmark";
    let creds = Some(("pm-user", "pm-password"));
    let bounce = postmark_bounce(42, "HardBounce", &campaign_uuid);

    // Switches off: 503 whatever the provider says.
    assert_eq!(post(&s, path, creds, &bounce).await.0, 503);
    s.enable_webhooks().await;
    // On, but the provider is disabled: 404.
    assert_eq!(post(&s, path, creds, &bounce).await.0, 404);
    assert_eq!(post(&s, "/webhooks/service/nosuchprovider", creds, &bounce).await.0, 404);
    s.put_settings(
        &json!({"bounce.postmark": {"enabled": true, "username": "pm-user", "password": "pm-password"}}),
    )
    .await;

    // Wrong or missing credentials: 401, nothing recorded.
    assert_eq!(post(&s, path, Some(("pm-user", "wrong")), &bounce).await.0, 401);
    assert_eq!(post(&s, path, None, &bounce).await.0, 401);
    assert_eq!(total(&s).await, 0);

    assert_eq!(post(&s, path, creds, &bounce).await, (200, "recorded=1".to_string()));
    // Postmark retries the same bounce: acknowledged, counted once.
    assert_eq!(post(&s, path, creds, &bounce).await, (200, "duplicate=1".to_string()));
    let page = s.get_json("/api/bounces").await["data"].clone();
    assert_eq!(page["total"], 1);
    let b = &page["results"][0];
    assert_eq!(
        (b["email"].clone(), b["type"].clone(), b["source"].clone()),
        (json!("reader@example.com"), json!("hard"), json!("postmark"))
    );
    assert_eq!(b["campaign"]["id"], campaign_id);
    assert_eq!(b["meta"]["ID"], 42);
    // What decided the type, as the bounce's page shows it.
    assert_eq!(b["meta"]["explanation"], "Postmark Type HardBounce → hard");
    assert_eq!(crate::subscriber(&s, id).await["status"], "blocklisted");

    // A delivery event is acknowledged and not recorded.
    let delivery = json!({"RecordType": "Delivery", "MessageID": "m1", "Recipient": "reader@example.com"});
    assert_eq!(post(&s, path, creds, &delivery).await, (200, "ignored".to_string()));
    // Malformed JSON after good credentials: 400.
    let res = s
        .client
        .post(s.url(path))
        .basic_auth("pm-user", Some("pm-password"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(total(&s).await, 1);
}

fn lettermint_signature(secret: &str, t: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    format!("t={t},v1={}", hex::encode(ring::hmac::sign(&key, &msg).as_ref()))
}

async fn lettermint_signed_through_http(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.lettermint": {"enabled": true, "key": "lm-secret"}})).await;
    s.create_subscriber("user@example.com", &[]).await;
    let body = br#"{"id":"evt_1","event":"message.soft_bounced","timestamp":"2026-01-05T10:15:30Z",
        "data":{"message_id":"m1","recipient":"user@example.com","response":{"status_code":452}}}"#;
    let url = s.url("/webhooks/service/lettermint");
    let send = |sig: String, body: Vec<u8>| {
        let (client, url) = (s.client.clone(), url.clone());
        async move {
            let res = client.post(url).header("X-Lettermint-Signature", sig).body(body).send().await.unwrap();
            res.status().as_u16()
        }
    };
    let now = chrono::Utc::now().timestamp();
    let mut tampered = body.to_vec();
    tampered[10] = b'X';
    assert_eq!(send(lettermint_signature("lm-secret", now, body), tampered).await, 401);
    assert_eq!(send(lettermint_signature("other", now, body), body.to_vec()).await, 401);
    assert_eq!(send(lettermint_signature("lm-secret", now - 600, body), body.to_vec()).await, 401);
    assert_eq!(total(&s).await, 0);
    assert_eq!(send(lettermint_signature("lm-secret", now, body), body.to_vec()).await, 200);
    assert_eq!(send(lettermint_signature("lm-secret", now, body), body.to_vec()).await, 200);
    let page = s.get_json("/api/bounces").await["data"].clone();
    assert_eq!((page["total"].clone(), page["results"][0]["type"].clone()), (json!(1), json!("soft")));
}

/// SES with no allowed topic: any AWS account could publish genuinely
/// signed bounces to this URL from a topic of its own, so every SNS message
/// is refused with 403, and the providers' status says why.
async fn ses_without_an_allowed_topic_is_refused_and_says_why(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.ses_enabled": true})).await;
    let confirmation = json!({"Type": "SubscriptionConfirmation", "MessageId": "m1",
        "TopicArn": "arn:aws:sns:eu-west-1:999999999999:attacker", "Message": "confirm",
        "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t",
        "Token": "t", "Timestamp": "2026-01-05T10:15:30.000Z", "SignatureVersion": "2", "Signature": "AAAA",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem"});
    let res = s.client.post(s.url("/webhooks/service/ses")).json(&confirmation).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("no topic ARN is allowed") && message.contains("bounce.ses_topic_arns"),
        "{message}"
    );

    let status = s.get_json("/api/bounces/providers").await["data"].clone();
    let ses = status.as_array().unwrap().iter().find(|p| p["name"] == "ses").unwrap().clone();
    assert_eq!((ses["enabled"].clone(), ses["path"].clone()), (json!(true), json!("/webhooks/service/ses")));
    let problem = ses["problem"].as_str().unwrap();
    assert!(problem.contains("SES is enabled but no topic ARN is allowed"), "{problem}");
    assert!(problem.contains("every notification and subscription confirmation is refused"), "{problem}");

    // With the operator's topic allowed the message goes on to verification
    // (this one is not signed: 401), and the status has nothing to say.
    s.put_settings(&json!({"bounce.ses_topic_arns": ["arn:aws:sns:eu-west-1:111122223333:bounces"]})).await;
    let res = s.client.post(s.url("/webhooks/service/ses")).json(&confirmation).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let status = s.get_json("/api/bounces/providers").await["data"].clone();
    let ses = status.as_array().unwrap().iter().find(|p| p["name"] == "ses").unwrap().clone();
    assert_eq!(ses["problem"], Value::Null);
    assert_eq!(total(&s).await, 0);
}

backend_tests!(
    postmark_through_http,
    lettermint_signed_through_http,
    ses_without_an_allowed_topic_is_refused_and_says_why
);
