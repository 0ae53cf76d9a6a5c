//! Requests per second of `Providers::handle` for each provider: one valid,
//! signed request carrying one bounce, verified and parsed. The signature
//! scheme dominates: RSA (SES, Postal) and ECDSA (SendGrid) cost far more than
//! HMAC or basic auth. Run on one core: `taskset -c 0 cargo bench --bench verify`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rebound_core::Settings;
use rebound_core::settings::{BasicAuthProvider, KeyProvider};
use rebound_providers::{HttpFetch, Outcome, Providers, WebhookRequest};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::json;

const CAMPAIGN: &str = "5b7e3c7a-1f2d-4c88-9f0e-2a6d1b3c4d5e";

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Serves the test certificate for every URL (after the first request it is cached anyway).
struct MemFetch(bytes::Bytes);

#[async_trait::async_trait]
impl HttpFetch for MemFetch {
    async fn get(&self, _url: &url::Url) -> Result<bytes::Bytes, String> {
        Ok(self.0.clone())
    }
}

fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
    hex::encode(ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), msg).as_ref())
}

fn rsa_sign(msg: &[u8]) -> String {
    let key = RsaKeyPair::from_pkcs8(&data("rsa_a.pk8.der")).unwrap();
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig).unwrap();
    B64.encode(sig)
}

struct Case {
    provider: &'static str,
    headers: http::HeaderMap,
    query: Option<String>,
    body: Vec<u8>,
}

fn headers(pairs: &[(&str, String)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    h
}

fn cases(now: DateTime<Utc>, settings: &mut Settings) -> Vec<Case> {
    let ts = now.timestamp();
    let basic = format!("Basic {}", B64.encode("hooks:s3cret-pass"));
    let mut out = Vec::new();

    // SES, SignatureVersion 2.
    let message = json!({"notificationType": "Bounce", "bounce": {"bounceType": "Permanent",
        "bouncedRecipients": [{"emailAddress": "user@example.com", "status": "5.1.1"}],
        "timestamp": "2027-01-05T10:15:29.870Z", "feedbackId": "fb-1"},
        "mail": {"headers": [{"name": "X-Listmonk-Campaign", "value": CAMPAIGN}]}})
    .to_string();
    let topic = "arn:aws:sns:eu-west-1:111122223333:lists-bounces";
    let stamp = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let sts = format!(
        "Message\n{message}\nMessageId\nm-1\nTimestamp\n{stamp}\nTopicArn\n{topic}\nType\nNotification\n"
    );
    let env = json!({"Type": "Notification", "MessageId": "m-1", "TopicArn": topic, "Message": message,
        "Timestamp": stamp, "SignatureVersion": "2", "Signature": rsa_sign(sts.as_bytes()),
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-aaaa0123.pem"});
    out.push(Case {
        provider: "ses",
        headers: headers(&[]),
        query: None,
        body: env.to_string().into_bytes(),
    });

    // SendGrid, ECDSA P-256.
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    spki.extend_from_slice(kp.public_key().as_ref());
    settings.sendgrid_key = B64.encode(spki).as_str().into();
    let body = format!(r#"[{{"email":"user@example.com","timestamp":{ts},"event":"bounce","type":"bounce","sg_event_id":"e1","listmonk_campaign":"{CAMPAIGN}"}}]"#).into_bytes();
    let mut signed = ts.to_string().into_bytes();
    signed.extend_from_slice(&body);
    let sig = B64.encode(kp.sign(&rng, &signed).unwrap());
    out.push(Case {
        provider: "sendgrid",
        headers: headers(&[
            ("x-twilio-email-event-webhook-signature", sig),
            ("x-twilio-email-event-webhook-timestamp", ts.to_string()),
        ]),
        query: None,
        body,
    });

    // Basic-auth providers.
    let postmark = format!(
        r#"{{"RecordType":"Bounce","ID":1,"Type":"HardBounce","Email":"user@example.com","BouncedAt":"2026-01-05T10:15:29Z","Metadata":{{"listmonk_campaign":"{CAMPAIGN}"}}}}"#
    );
    let brevo = format!(
        r#"{{"event":"hard_bounce","email":"user@example.com","message-id":"<m@x>","ts_event":{ts},"X-Mailin-custom":"listmonk_campaign={CAMPAIGN}"}}"#
    );
    let mailjet = format!(
        r#"[{{"event":"bounce","hard_bounce":true,"time":{ts},"Message_GUID":"g","email":"user@example.com","CustomID":"{CAMPAIGN}"}}]"#
    );
    let sparkpost = format!(
        r#"[{{"msys":{{"message_event":{{"type":"bounce","bounce_class":"10","event_id":"1","timestamp":"{ts}","rcpt_to":"user@example.com","rcpt_meta":{{"listmonk_campaign":"{CAMPAIGN}"}}}}}}}}]"#
    );
    for (p, b) in [("postmark", postmark), ("brevo", brevo), ("mailjet", mailjet), ("sparkpost", sparkpost)] {
        out.push(Case {
            provider: p,
            headers: headers(&[("authorization", basic.clone())]),
            query: None,
            body: b.into_bytes(),
        });
    }

    // Forward Email, HMAC-SHA256 of the body.
    let fe = format!(r#"{{"email_id":"e1","recipient":"user@example.com","bounce":{{"category":"recipient"}},"headers":{{"X-Listmonk-Campaign":"{CAMPAIGN}"}},"bounced_at":"2026-01-05T10:15:29Z"}}"#).into_bytes();
    out.push(Case {
        provider: "forwardemail",
        headers: headers(&[("x-webhook-signature", hmac_hex(b"fe-key", &fe))]),
        query: None,
        body: fe,
    });

    // Azure, shared secret in the query.
    let az = br#"[{"id":"e1","eventType":"Microsoft.Communication.EmailDeliveryReportReceived","data":{"recipient":"user@example.com","status":"Bounced","deliveryAttemptTimestamp":"2026-01-05T10:15:29Z"}}]"#.to_vec();
    out.push(Case {
        provider: "azure",
        headers: headers(&[]),
        query: Some("code=azure-secret".into()),
        body: az,
    });

    // Lettermint, timestamped HMAC.
    let lm = format!(r#"{{"id":"evt_1","event":"message.hard_bounced","timestamp":"2026-01-05T10:15:30Z","data":{{"recipient":"user@example.com","metadata":{{"X-Listmonk-Campaign":"{CAMPAIGN}"}}}}}}"#).into_bytes();
    let mut m = format!("{ts}.").into_bytes();
    m.extend_from_slice(&lm);
    out.push(Case {
        provider: "lettermint",
        headers: headers(&[("x-lettermint-signature", format!("t={ts},v1={}", hmac_hex(b"lm-key", &m)))]),
        query: None,
        body: lm,
    });

    // Mailgun, HMAC of timestamp and token inside the body.
    let token = "c3b0b2a4e8f14b1d9a7e5f6c2d1a0b9e8f7c6d5e4f3a2b1c0d";
    let mg = format!(r#"{{"signature":{{"token":"{token}","timestamp":"{ts}","signature":"{}"}},"event-data":{{"id":"G9","timestamp":{ts},"event":"failed","severity":"permanent","recipient":"user@example.com","user-variables":{{"listmonk_campaign":"{CAMPAIGN}"}}}}}}"#, hmac_hex(b"mg-key", format!("{ts}{token}").as_bytes())).into_bytes();
    out.push(Case { provider: "mailgun", headers: headers(&[]), query: None, body: mg });

    // Resend, Svix HMAC.
    let rs = format!(r#"{{"type":"email.bounced","created_at":"2026-01-05T10:15:30.101Z","data":{{"to":["user@example.com"],"tags":[{{"name":"listmonk_campaign","value":"{CAMPAIGN}"}}]}}}}"#).into_bytes();
    let key = B64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let mut m = format!("msg_1.{ts}.").into_bytes();
    m.extend_from_slice(&rs);
    let sig = B64.encode(ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key), &m).as_ref());
    out.push(Case {
        provider: "resend",
        headers: headers(&[
            ("svix-id", "msg_1".into()),
            ("svix-timestamp", ts.to_string()),
            ("svix-signature", format!("v1,{sig}")),
        ]),
        query: None,
        body: rs,
    });

    // Postal, RSA SHA-256 of the body.
    let po = format!(r#"{{"event":"MessageDeliveryFailed","timestamp":{ts},"uuid":"u-1","payload":{{"message":{{"to":"user@example.com","tag":"{CAMPAIGN}"}},"status":"HardFail"}}}}"#).into_bytes();
    out.push(Case {
        provider: "postal",
        headers: headers(&[("x-postal-signature-256", rsa_sign(&po))]),
        query: None,
        body: po,
    });
    out
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2027, 1, 5, 10, 15, 30).unwrap();
    let basic = BasicAuthProvider {
        enabled: true,
        username: "hooks".into(),
        password: "s3cret-pass".into(),
        ..Default::default()
    };
    let key = |k: &str| KeyProvider { enabled: true, key: k.into() };
    let mut settings = Settings {
        ses_enabled: true,
        sendgrid_enabled: true,
        postmark: basic.clone(),
        brevo: basic.clone(),
        mailjet: basic.clone(),
        sparkpost: basic,
        forwardemail: key("fe-key"),
        lettermint: key("lm-key"),
        mailgun: key("mg-key"),
        resend: key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ..Default::default()
    };
    settings.azure.enabled = true;
    settings.azure.shared_secret = "azure-secret".into();
    settings.postal.enabled = true;
    settings.postal.public_key = String::from_utf8(data("rsa_a.pub.pem")).unwrap();
    let cases = cases(now, &mut settings);

    let providers = Providers::new(Arc::new(MemFetch(data("rsa_a.cert.pem").into())));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut group = c.benchmark_group("handle");
    group.throughput(Throughput::Elements(1));
    for case in &cases {
        let req = WebhookRequest { headers: &case.headers, query: case.query.as_deref(), body: &case.body };
        // Sanity: every case records exactly one bounce.
        match rt.block_on(providers.handle(case.provider, &req, now, &settings)) {
            Ok(Outcome::Events(e)) if e.len() == 1 => {}
            other => panic!("{}: {other:?}", case.provider),
        }
        group.bench_function(case.provider, |b| {
            b.iter(|| rt.block_on(providers.handle(case.provider, &req, now, &settings)).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
