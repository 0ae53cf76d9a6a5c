//! SES via SNS. Certificates and the SubscribeURL are served by a loopback
//! HTTP server; the test fetcher routes the (already validated) AWS URL there,
//! so the production host rule is exercised unchanged.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use rebound_core::{BounceType, Settings};
use rebound_providers::{HttpFetch, Outcome, ProviderError, Providers, WebhookRequest};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::*;

const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:lists-bounces";
const CERT_A: &str = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-aaaa0123.pem";
const FEEDBACK: &str = "0102018c-aaaa-bbbb-cccc-000000000001-000000";

/// The loopback server: serves the two test certificates and answers
/// ConfirmSubscription; records every request line it receives.
async fn server() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let line = head.lines().next().unwrap_or("").to_string();
                log.lock().unwrap().push(line.clone());
                let target = line.split(' ').nth(1).unwrap_or("");
                let (status, body) = if target.starts_with("/SimpleNotificationService-aaaa") {
                    ("200 OK", std::fs::read(data("rsa_a.cert.pem")).unwrap())
                } else if target.starts_with("/SimpleNotificationService-bbbb") {
                    ("200 OK", std::fs::read(data("rsa_b.cert.pem")).unwrap())
                } else if target.starts_with("/SimpleNotificationService-dddd") {
                    // rsa_a's key in a certificate that does not name SNS.
                    ("200 OK", std::fs::read(data("rsa_a.not-sns.cert.pem")).unwrap())
                } else if target.starts_with("/?Action=ConfirmSubscription") {
                    ("200 OK", b"<ConfirmSubscriptionResponse/>".to_vec())
                } else {
                    ("404 Not Found", b"nope".to_vec())
                };
                let head = format!(
                    "HTTP/1.0 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    (addr, seen)
}

/// The test HttpFetch: records the URL it was given and fetches its path and
/// query from the loopback server.
struct Loopback {
    addr: SocketAddr,
    asked: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl HttpFetch for Loopback {
    async fn get(&self, url: &url::Url) -> Result<bytes::Bytes, String> {
        self.asked.lock().unwrap().push(url.to_string());
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let mut s = TcpStream::connect(self.addr).await.map_err(|e| e.to_string())?;
        let req = format!("GET {target} HTTP/1.0\r\nHost: {}\r\n\r\n", url.host_str().unwrap_or(""));
        s.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await.map_err(|e| e.to_string())?;
        let split = resp.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no header end")?;
        let status = String::from_utf8_lossy(&resp[..split]).lines().next().unwrap_or("").to_string();
        if !status.contains(" 200 ") {
            return Err(format!("HTTP {status}"));
        }
        Ok(bytes::Bytes::copy_from_slice(&resp[split + 4..]))
    }
}

struct Harness {
    fetch: Arc<Loopback>,
    providers: Providers,
    server_log: Arc<Mutex<Vec<String>>>,
}

impl Harness {
    async fn new() -> Self {
        let (addr, server_log) = server().await;
        let fetch = Arc::new(Loopback { addr, asked: Mutex::new(Vec::new()) });
        let providers = Providers::new(fetch.clone());
        Harness { fetch, providers, server_log }
    }

    async fn post(
        &self,
        body: &[u8],
        hdrs: &[(&str, &str)],
        now: DateTime<Utc>,
        s: &Settings,
    ) -> Result<Outcome, ProviderError> {
        let h = headers(hdrs);
        self.providers.handle("ses", &WebhookRequest { headers: &h, query: None, body }, now, s).await
    }

    fn fetches(&self) -> Vec<String> {
        self.fetch.asked.lock().unwrap().clone()
    }
}

/// One SNS message before signing.
#[derive(Clone)]
struct Sns {
    kind: &'static str,
    message: String,
    message_id: String,
    topic: String,
    timestamp: String,
    subject: Option<String>,
    subscribe_url: Option<String>,
    token: Option<String>,
    version: &'static str,
    cert_url: String,
    key: &'static str,
}

impl Sns {
    fn notification(message: String) -> Self {
        Sns {
            kind: "Notification",
            message,
            message_id: "7f3a9c1e-0d2b-5e7f-9a61-3c2b8e4d1f00".into(),
            topic: TOPIC.into(),
            timestamp: "2027-01-05T10:15:30.123Z".into(),
            subject: None,
            subscribe_url: None,
            token: None,
            version: "2",
            cert_url: CERT_A.into(),
            key: "rsa_a",
        }
    }

    fn confirmation(kind: &'static str, url: &str) -> Self {
        Sns {
            kind,
            message: "You have chosen to subscribe to the topic. To confirm, visit the SubscribeURL.".into(),
            subscribe_url: Some(url.into()),
            token: Some("2336412f37fb687f5d51e6e2425f004aed8c3ba0b2d1a0e0b1c8e7f6".into()),
            ..Sns::notification(String::new())
        }
    }

    /// The string to sign, written independently of the crate.
    fn string_to_sign(&self) -> String {
        let mut f: Vec<(&str, &str)> = vec![("Message", &self.message), ("MessageId", &self.message_id)];
        if self.kind == "Notification" {
            if let Some(s) = &self.subject {
                f.push(("Subject", s));
            }
        } else {
            f.push(("SubscribeURL", self.subscribe_url.as_deref().unwrap()));
        }
        f.push(("Timestamp", &self.timestamp));
        if self.kind != "Notification" {
            f.push(("Token", self.token.as_deref().unwrap()));
        }
        f.push(("TopicArn", &self.topic));
        f.push(("Type", self.kind));
        f.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect()
    }

    fn envelope_with_signature(&self, signature: &str) -> Value {
        let mut v = json!({
            "Type": self.kind, "MessageId": self.message_id, "TopicArn": self.topic, "Message": self.message,
            "Timestamp": self.timestamp, "SignatureVersion": self.version, "Signature": signature,
            "SigningCertURL": self.cert_url,
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
        });
        for (k, val) in
            [("Subject", &self.subject), ("SubscribeURL", &self.subscribe_url), ("Token", &self.token)]
        {
            if let Some(val) = val {
                v[k] = json!(val);
            }
        }
        v
    }

    fn signed(&self) -> Value {
        assert_eq!(self.version, "2", "SHA-1 signatures come from the committed fixture");
        self.envelope_with_signature(&rsa_sha256_b64(self.key, self.string_to_sign().as_bytes()))
    }

    fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.signed()).unwrap()
    }
}

fn bounce_message(bounce_type: &str) -> String {
    json!({
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type, "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": "User@Example.com", "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 no such user"},
                {"emailAddress": "second@example.com", "status": "5.4.4"},
                {"emailAddress": "not an address"}
            ],
            "timestamp": "2027-01-05T10:15:29.870Z", "feedbackId": FEEDBACK
        },
        "mail": {
            "timestamp": "2027-01-05T10:15:28.000Z", "messageId": "0102018c-1111", "source": "news@lists.example.org",
            "destination": ["notbounced@example.com", "User@Example.com", "second@example.com"],
            "headersTruncated": false,
            "headers": [{"name": "From", "value": "news@lists.example.org"}, {"name": "x-listmonk-campaign", "value": CAMPAIGN}]
        }
    })
    .to_string()
}

fn ses_settings() -> Settings {
    let mut s = settings();
    s.ses_topic_arns = vec![TOPIC.into()];
    s
}

#[tokio::test]
async fn signature_version_2_bounce_records_each_bounced_recipient() {
    let h = Harness::new().await;
    let s = ses_settings();
    let body = Sns::notification(bounce_message("Permanent")).body();
    let ev = events(h.post(&body, &[("x-amz-sns-message-type", "Notification")], now(), &s).await);
    assert_eq!(ev.len(), 2, "bouncedRecipients, not mail.destination: {ev:#?}");
    assert_event(
        &ev[0],
        "ses",
        BounceType::Hard,
        "user@example.com",
        Some(CAMPAIGN),
        &format!("{FEEDBACK}:user@example.com"),
    );
    assert_event(
        &ev[1],
        "ses",
        BounceType::Hard,
        "second@example.com",
        Some(CAMPAIGN),
        &format!("{FEEDBACK}:second@example.com"),
    );
    assert_eq!(ev[0].created_at.unwrap().to_rfc3339(), "2027-01-05T10:15:29.870+00:00");
    assert_eq!(ev[0].meta["bounce"]["feedbackId"], FEEDBACK, "meta is the SES notification");
    let why = ev[0].meta["explanation"].as_str().unwrap();
    assert!(why.ends_with("SES bounceType Permanent → hard"), "the parser's SES reader explains: {why}");

    // A retry: same ids, and the certificate comes from the cache.
    let again = events(h.post(&body, &[], now(), &s).await);
    assert_eq!(again, ev);
    assert_eq!(h.fetches(), vec![CERT_A.to_string()], "one fetch for two messages");

    // Transient is soft, except status 5.4.4 (listmonk's rule).
    let ev = events(h.post(&Sns::notification(bounce_message("Transient")).body(), &[], now(), &s).await);
    assert_eq!((ev[0].bounce_type, ev[1].bounce_type), (BounceType::Soft, BounceType::Hard));
    let ev = events(h.post(&Sns::notification(bounce_message("Undetermined")).body(), &[], now(), &s).await);
    assert_eq!(ev[0].bounce_type, BounceType::Soft);
    let ev = events(h.post(&Sns::notification(bounce_message("SomethingNew")).body(), &[], now(), &s).await);
    assert_eq!(ev[0].bounce_type, BounceType::Soft);
    assert_eq!(h.fetches().len(), 1);

    // After the cache TTL the certificate is fetched again.
    let later = now() + chrono::TimeDelta::hours(25);
    let mut sns = Sns::notification(bounce_message("Permanent"));
    sns.timestamp = later.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(events(h.post(&sns.body(), &[], later, &s).await).len(), 2);
    assert_eq!(h.fetches().len(), 2);
}

#[tokio::test]
async fn signature_version_1_fixture_complaint() {
    // SHA1withRSA cannot be produced with ring: the signature of this exact
    // string to sign was made once with `openssl dgst -sha1 -sign rsa_a.key.pem`.
    let h = Harness::new().await;
    let mut sns = Sns::notification(std::fs::read_to_string(data("ses_v1_message.json")).unwrap());
    sns.version = "1";
    sns.message_id = "sha1-msg-1".into();
    sns.timestamp = "2027-01-05T10:15:20.000Z".into();
    sns.subject = Some("Amazon SES Email Event Notification".into());
    assert_eq!(sns.string_to_sign(), std::fs::read_to_string(data("ses_v1_notification.sts")).unwrap());
    let sig = std::fs::read_to_string(data("ses_v1_notification.sig")).unwrap();
    let body = serde_json::to_vec(&sns.envelope_with_signature(sig.trim())).unwrap();
    let ev = events(h.post(&body, &[], now(), &ses_settings()).await);
    assert_eq!(ev.len(), 1);
    assert_event(
        &ev[0],
        "ses",
        BounceType::Complaint,
        "complainer@example.com",
        Some(CAMPAIGN),
        "0102018c-cccc-000000:complainer@example.com",
    );

    // The same signature does not verify as version 2, nor over another subject.
    let mut v2 = sns.clone();
    v2.version = "2";
    assert_unauthorized(
        h.post(
            &serde_json::to_vec(&v2.envelope_with_signature(sig.trim())).unwrap(),
            &[],
            now(),
            &ses_settings(),
        )
        .await,
    );
    let mut other = sns.clone();
    other.subject = Some("Other".into());
    assert_unauthorized(
        h.post(
            &serde_json::to_vec(&other.envelope_with_signature(sig.trim())).unwrap(),
            &[],
            now(),
            &ses_settings(),
        )
        .await,
    );
}

#[tokio::test]
async fn rejections() {
    let h = Harness::new().await;
    let s = ses_settings();
    let sns = Sns::notification(bounce_message("Permanent"));
    let good = sns.signed();

    // Tampered Message.
    let mut t = good.clone();
    t["Message"] = json!(bounce_message("Permanent").replace("User@Example.com", "victim@example.com"));
    assert_unauthorized(h.post(&serde_json::to_vec(&t).unwrap(), &[], now(), &s).await);
    // Tampered unsigned-looking field that is signed (MessageId).
    let mut t = good.clone();
    t["MessageId"] = json!("other-id");
    assert_unauthorized(h.post(&serde_json::to_vec(&t).unwrap(), &[], now(), &s).await);
    // Signed with another key than the certificate's.
    let mut wrong = sns.clone();
    wrong.key = "rsa_b";
    assert_unauthorized(h.post(&wrong.body(), &[], now(), &s).await);
    // ...and the other key's own certificate works.
    wrong.cert_url = CERT_A.replace("aaaa0123", "bbbb0456");
    assert_eq!(events(h.post(&wrong.body(), &[], now(), &s).await).len(), 2);
    // Missing or malformed signature fields.
    for field in ["Signature", "SignatureVersion", "SigningCertURL"] {
        let mut t = good.clone();
        t.as_object_mut().unwrap().remove(field);
        assert_unauthorized(h.post(&serde_json::to_vec(&t).unwrap(), &[], now(), &s).await);
    }
    let mut t = good.clone();
    t["Signature"] = json!("%%%");
    assert_unauthorized(h.post(&serde_json::to_vec(&t).unwrap(), &[], now(), &s).await);
    let mut v3 = sns.clone();
    v3.version = "3";
    assert_unauthorized(
        h.post(&serde_json::to_vec(&v3.envelope_with_signature("AAAA")).unwrap(), &[], now(), &s).await,
    );
    // The routing header must agree with the signed Type.
    assert_unauthorized(
        h.post(&sns.body(), &[("x-amz-sns-message-type", "SubscriptionConfirmation")], now(), &s).await,
    );
    // Stale (past the tolerance plus SNS's one hour of retries) and future timestamps.
    for ts in ["2027-01-05T09:10:00.000Z", "2027-01-05T10:21:00.000Z"] {
        let mut old = sns.clone();
        old.timestamp = ts.into();
        assert_unauthorized(h.post(&old.body(), &[], now(), &s).await);
    }
    let mut retry = sns.clone();
    retry.timestamp = "2027-01-05T09:30:00.000Z".into();
    assert_eq!(events(h.post(&retry.body(), &[], now(), &s).await).len(), 2, "SNS retries within the hour");
}

#[tokio::test]
async fn foreign_hosts_are_refused_before_any_fetch() {
    let h = Harness::new().await;
    let s = ses_settings();
    for cert in [
        "https://evil.example.com/SimpleNotificationService-aaaa0123.pem",
        "https://127.0.0.1/SimpleNotificationService-aaaa0123.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.org/SimpleNotificationService-aaaa0123.pem",
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-aaaa0123.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-aaaa0123.pem",
        "https://user:pw@sns.eu-west-1.amazonaws.com/SimpleNotificationService-aaaa0123.pem",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-aaaa0123.pem?redirect=x",
        "https://sns.eu-west-1.amazonaws.com/elsewhere/cert.pem",
        // Not a region: an S3 name, an invented region, a China region
        // under the commercial suffix.
        "https://sns.s3.amazonaws.com/SimpleNotificationService-aaaa0123.pem",
        "https://sns.xx-nowhere-9.amazonaws.com/SimpleNotificationService-aaaa0123.pem",
        "https://sns.cn-north-1.amazonaws.com/SimpleNotificationService-aaaa0123.pem",
    ] {
        let mut sns = Sns::notification(bounce_message("Permanent"));
        sns.cert_url = cert.into();
        assert_unauthorized(h.post(&sns.body(), &[], now(), &s).await);
    }
    for url in [
        "https://evil.example.com/?Action=ConfirmSubscription&TopicArn=x&Token=y",
        "https://127.0.0.1/?Action=ConfirmSubscription&TopicArn=x&Token=y",
        "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=y",
        "https://sns.eu-west-1.amazonaws.com.evil.org/?Action=ConfirmSubscription",
        "https://sns.eu-west-1.amazonaws.com/?Action=Publish&Message=x",
    ] {
        let sns = Sns::confirmation("SubscriptionConfirmation", url);
        assert_unauthorized(h.post(&sns.body(), &[], now(), &s).await);
    }
    assert!(h.fetches().is_empty(), "fetched {:?}", h.fetches());
    assert!(h.server_log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_certificate_must_name_sns() {
    let h = Harness::new().await;
    let s = ses_settings();
    // A valid signature with a certificate whose subject is not SNS's.
    let mut sns = Sns::notification(bounce_message("Permanent"));
    sns.cert_url = CERT_A.replace("aaaa0123", "dddd0123");
    match h.post(&sns.body(), &[], now(), &s).await {
        Err(ProviderError::Unauthorized(m)) => assert!(m.contains("not SNS"), "{m}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    // rsa_b's certificate names sns-signing.eu-west-1 (a DNS alternative
    // name): good for eu-west-1 ...
    let mut eu = Sns::notification(bounce_message("Permanent"));
    eu.key = "rsa_b";
    eu.cert_url = CERT_A.replace("aaaa0123", "bbbb0456");
    assert_eq!(events(h.post(&eu.body(), &[], now(), &s).await).len(), 2);
    // ... not when it comes from another region's host.
    let mut us = eu.clone();
    us.cert_url = us.cert_url.replace("eu-west-1", "us-east-1");
    assert_unauthorized(h.post(&us.body(), &[], now(), &s).await);
}

#[tokio::test]
async fn topic_allow_list() {
    let h = Harness::new().await;
    let mut other = Sns::notification(bounce_message("Permanent"));
    other.topic = "arn:aws:sns:eu-west-1:999999999999:attacker".into();
    assert_unauthorized(h.post(&other.body(), &[], now(), &ses_settings()).await);
    assert!(h.fetches().is_empty(), "refused before the certificate fetch");
}

#[tokio::test]
async fn no_allowed_topic_refuses_every_sns_message_before_any_fetch() {
    // Any AWS account can subscribe this URL to its own topic and publish
    // genuinely signed bounces: with no topic allowed, nothing is trusted.
    let h = Harness::new().await;
    let mut open = ses_settings();
    open.ses_topic_arns.clear();
    let confirm_url = format!(
        "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425f004aed8c3ba0b2d1a0e0b1c8e7f6"
    );
    for sns in [
        Sns::notification(bounce_message("Permanent")),
        Sns::confirmation("SubscriptionConfirmation", &confirm_url),
        Sns::confirmation("UnsubscribeConfirmation", &confirm_url),
    ] {
        match h.post(&sns.body(), &[], now(), &open).await {
            Err(ProviderError::Forbidden(m)) => {
                assert!(m.contains("no topic ARN is allowed") && m.contains("bounce.ses_topic_arns"), "{m}")
            }
            other => panic!("{}: expected Forbidden, got {other:?}", sns.kind),
        }
    }
    // Blank entries allow nothing either.
    open.ses_topic_arns = vec![" ".into()];
    let r = h.post(&Sns::notification(bounce_message("Permanent")).body(), &[], now(), &open).await;
    assert!(matches!(r, Err(ProviderError::Forbidden(_))), "{r:?}");
    assert!(h.fetches().is_empty(), "fetched {:?}", h.fetches());
    assert!(h.server_log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn subscription_confirmation_goes_through_the_fetcher() {
    let h = Harness::new().await;
    let url = format!(
        "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425f004aed8c3ba0b2d1a0e0b1c8e7f6"
    );
    let sns = Sns::confirmation("SubscriptionConfirmation", &url);
    let r = h
        .post(&sns.body(), &[("x-amz-sns-message-type", "SubscriptionConfirmation")], now(), &ses_settings())
        .await;
    assert_eq!(r, Ok(Outcome::Reply(json!({"confirmed": true, "topic_arn": TOPIC}))));
    assert_eq!(h.fetches(), vec![CERT_A.to_string(), url.clone()]);
    let log = h.server_log.lock().unwrap().clone();
    assert_eq!(log.len(), 2);
    assert!(log[1].starts_with("GET /?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:111122223333:lists-bounces&Token="), "{log:?}");

    // A China-region host is accepted too.
    let cn = url.replace("sns.eu-west-1.amazonaws.com", "sns.cn-north-1.amazonaws.com.cn");
    let r =
        h.post(&Sns::confirmation("SubscriptionConfirmation", &cn).body(), &[], now(), &ses_settings()).await;
    assert!(matches!(r, Ok(Outcome::Reply(_))));

    // A failed confirmation is a 502 so SNS retries.
    let broken = url.replace("/?Action", "/missing?Action");
    let r = h
        .post(&Sns::confirmation("SubscriptionConfirmation", &broken).body(), &[], now(), &ses_settings())
        .await;
    assert!(matches!(r, Err(ProviderError::Upstream(_))), "{r:?}");
}

#[tokio::test]
async fn unsubscribe_confirmation_is_logged_not_followed() {
    let h = Harness::new().await;
    let url =
        format!("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=abc");
    let r =
        h.post(&Sns::confirmation("UnsubscribeConfirmation", &url).body(), &[], now(), &ses_settings()).await;
    assert_eq!(r, Ok(Outcome::Reply(json!({"unsubscribed": true, "topic_arn": TOPIC}))));
    assert_eq!(h.fetches(), vec![CERT_A.to_string()], "no re-subscription");
}

#[tokio::test]
async fn non_bounces_malformed_upstream_and_disabled() {
    let h = Harness::new().await;
    let s = ses_settings();
    let delivery =
        json!({"notificationType": "Delivery", "delivery": {"recipients": ["a@example.com"]}, "mail": {}})
            .to_string();
    assert_ignored(h.post(&Sns::notification(delivery).body(), &[], now(), &s).await);
    for kind in ["Open", "Click", "Send", "DeliveryDelay"] {
        let m = json!({"eventType": kind, "mail": {}}).to_string();
        assert_ignored(h.post(&Sns::notification(m).body(), &[], now(), &s).await);
    }
    let text = "Successfully validated SNS topic for Amazon SES event publishing.".to_string();
    assert_ignored(h.post(&Sns::notification(text).body(), &[], now(), &s).await);
    // Malformed envelope, and a signed bounce without its bounce object.
    assert_bad_request(h.post(b"{\"Type\":", &[], now(), &s).await);
    let broken = json!({"notificationType": "Bounce", "mail": {}}).to_string();
    assert_bad_request(h.post(&Sns::notification(broken).body(), &[], now(), &s).await);
    // A certificate that cannot be fetched: 502, so SNS retries.
    let mut missing = Sns::notification(bounce_message("Permanent"));
    missing.cert_url = CERT_A.replace("aaaa0123", "cccc0789");
    assert!(matches!(h.post(&missing.body(), &[], now(), &s).await, Err(ProviderError::Upstream(_))));
    // Disabled.
    let mut off = ses_settings();
    off.ses_enabled = false;
    let r = h.post(&Sns::notification(bounce_message("Permanent")).body(), &[], now(), &off).await;
    assert_eq!(r, Err(ProviderError::Disabled("ses")));
}

#[test]
fn signature_base64_is_standard() {
    // Guard for the helper the tests rely on.
    assert!(B64.decode(rsa_sha256_b64("rsa_a", b"x")).unwrap().len() == 256);
}
