//! Every event type, delivered to a receiver that verifies the signatures
//! with the PyPI `standardwebhooks` package and the bodies against the
//! WebhookEvent schema of GET /api/openapi.json (scripts/webhook-receiver).
//! The receiver answers 500 to its first requests: those events arrive
//! again later, with the same id and body.

use std::collections::{BTreeSet, HashMap};

use base64::Engine;
use rebound_testkit::receiver::PyReceiver;
use rebound_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::bounce_ok;
use crate::event_webhooks::{deliveries, fast, until};

async fn every_event_type_verifies_with_standardwebhooks(b: Backend) {
    let key: [u8; 32] = std::array::from_fn(|i| (i * 7 + 3) as u8);
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key));
    let s = rebound_testkit::TestServer::start_with(b, fast(8, 0)).await;
    let openapi = s.get_json("/api/openapi.json").await;
    let rx = tokio::task::spawn_blocking({
        let (secret, openapi) = (secret.clone(), openapi.clone());
        move || PyReceiver::start(&secret, &openapi, 3)
    })
    .await
    .unwrap();
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.actions": {
        "soft": {"count": 1, "action": "delete"}, "hard": {"count": 1, "action": "blocklist"},
        "complaint": {"count": 1, "action": "unsubscribe"}}}))
        .await;
    s.post_ok("/api/webhooks/endpoints", &json!({"url": rx.url, "secret": secret, "event_types": ["*"]}))
        .await;

    s.create_subscriber("hard@example.com", &[]).await;
    s.create_subscriber("complains@example.com", &[]).await;
    s.create_subscriber("soft@example.com", &[]).await;
    let (_, campaign) = s.create_campaign("Spring").await;
    let body = json!({"email": "hard@example.com", "type": "hard", "source": "ses", "campaign_uuid": campaign,
        "meta": {"reason": "user unknown", "status": "5.1.1"}});
    assert_eq!(crate::post_bounce(&s, &body).await.0, 200);
    bounce_ok(&s, "complains@example.com", "complaint").await;
    bounce_ok(&s, "soft@example.com", "soft").await;
    bounce_ok(&s, "nobody@example.com", "hard").await;
    let (status, _) = s.send_json(Method::DELETE, "/api/suppressions/hard@example.com", &Value::Null).await;
    assert_eq!(status, 200);

    let expected = 12; // 3 + 3 + 3 for the subscribers, 2 for nobody, 1 reactivation
    until("every delivery delivered", || async {
        let d = deliveries(&s, "").await;
        d.len() == expected && d.iter().all(|d| d["status"] == "delivered")
    })
    .await;

    let got = rx.delivered();
    assert_eq!(got.len(), expected + 3, "each event once, and the three answered 500 again");
    for d in &got {
        assert!(d.verified, "standardwebhooks refused {}: {:?}", d.webhook_id, d.error);
        assert!(d.schema_errors.is_empty(), "{} does not match the schema: {:?}", d.event, d.schema_errors);
        assert_eq!(d.event["id"], d.webhook_id.as_str());
    }
    let mut by_id: HashMap<&str, Vec<&Value>> = HashMap::new();
    for d in &got {
        by_id.entry(d.webhook_id.as_str()).or_default().push(&d.event);
    }
    assert_eq!(by_id.len(), expected, "every event has its own id");
    assert!(by_id.values().all(|copies| copies.windows(2).all(|w| w[0] == w[1])), "a retry changed the body");
    assert_eq!(by_id.values().filter(|c| c.len() == 2).count(), 3);
    let types: BTreeSet<&str> = got.iter().map(|d| d.event["type"].as_str().unwrap()).collect();
    assert_eq!(types, rebound_store::webhooks::event_type::ALL.into_iter().collect());
}

backend_tests!(every_event_type_verifies_with_standardwebhooks);
