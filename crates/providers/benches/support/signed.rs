//! Valid, signed webhook requests for all twelve providers, one bounce each,
//! with the event ids and the recipient varying by `n` so a run of them
//! records distinct bounces. Shared by this crate's `verify` bench and the
//! HTTP-path bench in rebound-server (included there with `#[path]`), so
//! both measure the same payloads. The keys are the test keys in
//! crates/providers/tests/data.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use rebound_core::Settings;
use rebound_core::settings::{BasicAuthProvider, KeyProvider};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::json;

pub const CAMPAIGN: &str = "5b7e3c7a-1f2d-4c88-9f0e-2a6d1b3c4d5e";

const BASIC: (&str, &str) = ("hooks", "s3cret-pass");
const RESEND_KEY: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The SNS topic the signed SES notifications come from (and the one allowed).
const SES_TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:lists-bounces";

pub fn test_data(name: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../providers/tests/data");
    std::fs::read(format!("{dir}/{name}")).unwrap_or_else(|e| panic!("{dir}/{name}: {e}"))
}

pub struct SignedRequest {
    pub provider: &'static str,
    pub headers: http::HeaderMap,
    /// Query string without the `?`.
    pub query: Option<String>,
    pub body: Vec<u8>,
}

pub struct Signer {
    rng: SystemRandom,
    rsa: RsaKeyPair,
    ecdsa: EcdsaKeyPair,
}

fn headers(pairs: &[(&str, String)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    h
}

fn hmac(key: &[u8], msg: &[u8]) -> ring::hmac::Tag {
    ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), msg)
}

impl Signer {
    /// A signer with a fresh SendGrid key pair, and `settings` turned on for
    /// every provider with the matching keys.
    pub fn new(settings: &mut Settings) -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let ecdsa = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let rsa = RsaKeyPair::from_pkcs8(&test_data("rsa_a.pk8.der")).unwrap();

        // SendGrid shows its verification key as base64 SubjectPublicKeyInfo.
        let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
        spki.extend_from_slice(ecdsa.public_key().as_ref());
        let basic = BasicAuthProvider {
            enabled: true,
            username: BASIC.0.into(),
            password: BASIC.1.into(),
            ..Default::default()
        };
        let key = |k: &str| KeyProvider { enabled: true, key: k.into() };
        settings.ses_enabled = true;
        settings.ses_topic_arns = vec![SES_TOPIC.into()];
        settings.sendgrid_enabled = true;
        settings.sendgrid_key = B64.encode(spki).as_str().into();
        settings.postmark = basic.clone();
        settings.brevo = basic.clone();
        settings.mailjet = basic.clone();
        settings.sparkpost = basic;
        settings.forwardemail = key("fe-key");
        settings.lettermint = key("lm-key");
        settings.mailgun = key("mg-key");
        settings.resend = key(&format!("whsec_{RESEND_KEY}"));
        settings.azure.enabled = true;
        settings.azure.shared_secret = "azure-secret".into();
        settings.postal.enabled = true;
        settings.postal.public_key = String::from_utf8(test_data("rsa_a.pub.pem")).unwrap();
        Signer { rng, rsa, ecdsa }
    }

    fn rsa_sign(&self, msg: &[u8]) -> String {
        let mut sig = vec![0; self.rsa.public().modulus_len()];
        self.rsa.sign(&RSA_PKCS1_SHA256, &self.rng, msg, &mut sig).unwrap();
        B64.encode(sig)
    }

    /// Request number `n` for `provider`: one bounce of `to`, signed at `now`.
    pub fn request(&self, provider: &'static str, n: u64, to: &str, now: DateTime<Utc>) -> SignedRequest {
        let ts = now.timestamp();
        let basic = || {
            headers(&[("authorization", format!("Basic {}", B64.encode(format!("{}:{}", BASIC.0, BASIC.1))))])
        };
        let (headers, query, body) = match provider {
            "ses" => {
                // SNS envelope, SignatureVersion 2 (SHA256withRSA).
                let message = json!({"notificationType": "Bounce", "bounce": {"bounceType": "Permanent",
                    "bouncedRecipients": [{"emailAddress": to, "status": "5.1.1"}],
                    "timestamp": "2027-01-05T10:15:29.870Z", "feedbackId": format!("fb-{n}")},
                    "mail": {"messageId": format!("mail-{n}"),
                             "headers": [{"name": "X-Listmonk-Campaign", "value": CAMPAIGN}]}})
                .to_string();
                let topic = SES_TOPIC;
                let stamp = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let id = format!("m-{n}");
                let sts = format!(
                    "Message\n{message}\nMessageId\n{id}\nTimestamp\n{stamp}\nTopicArn\n{topic}\nType\nNotification\n"
                );
                let env = json!({"Type": "Notification", "MessageId": id, "TopicArn": topic, "Message": message,
                    "Timestamp": stamp, "SignatureVersion": "2", "Signature": self.rsa_sign(sts.as_bytes()),
                    "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-aaaa0123.pem"});
                (http::HeaderMap::new(), None, env.to_string().into_bytes())
            }
            "sendgrid" => {
                // ECDSA P-256 over timestamp || body.
                let body = format!(r#"[{{"email":"{to}","timestamp":{ts},"event":"bounce","type":"bounce","sg_event_id":"e{n}","listmonk_campaign":"{CAMPAIGN}"}}]"#).into_bytes();
                let mut signed = ts.to_string().into_bytes();
                signed.extend_from_slice(&body);
                let sig = B64.encode(self.ecdsa.sign(&self.rng, &signed).unwrap());
                let h = headers(&[
                    ("x-twilio-email-event-webhook-signature", sig),
                    ("x-twilio-email-event-webhook-timestamp", ts.to_string()),
                ]);
                (h, None, body)
            }
            "postmark" => {
                let body = format!(
                    r#"{{"RecordType":"Bounce","ID":{n},"Type":"HardBounce","Email":"{to}","BouncedAt":"2026-01-05T10:15:29Z","Metadata":{{"listmonk_campaign":"{CAMPAIGN}"}}}}"#
                );
                (basic(), None, body.into_bytes())
            }
            "brevo" => {
                let body = format!(
                    r#"{{"event":"hard_bounce","email":"{to}","message-id":"<m{n}@x>","ts_event":{ts},"X-Mailin-custom":"listmonk_campaign={CAMPAIGN}"}}"#
                );
                (basic(), None, body.into_bytes())
            }
            "mailjet" => {
                let body = format!(
                    r#"[{{"event":"bounce","hard_bounce":true,"time":{ts},"Message_GUID":"g{n}","email":"{to}","CustomID":"{CAMPAIGN}"}}]"#
                );
                (basic(), None, body.into_bytes())
            }
            "sparkpost" => {
                let body = format!(
                    r#"[{{"msys":{{"message_event":{{"type":"bounce","bounce_class":"10","event_id":"{n}","timestamp":"{ts}","rcpt_to":"{to}","rcpt_meta":{{"listmonk_campaign":"{CAMPAIGN}"}}}}}}}}]"#
                );
                (basic(), None, body.into_bytes())
            }
            "forwardemail" => {
                // HMAC-SHA256 of the body.
                let body = format!(r#"{{"email_id":"e{n}","recipient":"{to}","bounce":{{"category":"recipient"}},"headers":{{"X-Listmonk-Campaign":"{CAMPAIGN}"}},"bounced_at":"2026-01-05T10:15:29Z"}}"#).into_bytes();
                let h = headers(&[("x-webhook-signature", hex::encode(hmac(b"fe-key", &body)))]);
                (h, None, body)
            }
            "azure" => {
                // Event Grid, shared secret in the query.
                let body = format!(
                    r#"[{{"id":"e{n}","eventType":"Microsoft.Communication.EmailDeliveryReportReceived","data":{{"recipient":"{to}","status":"Bounced","deliveryAttemptTimestamp":"2026-01-05T10:15:29Z"}}}}]"#
                );
                (http::HeaderMap::new(), Some("code=azure-secret".to_string()), body.into_bytes())
            }
            "lettermint" => {
                // HMAC of "<timestamp>.<body>".
                let body = format!(r#"{{"id":"evt_{n}","event":"message.hard_bounced","timestamp":"2026-01-05T10:15:30Z","data":{{"recipient":"{to}","metadata":{{"X-Listmonk-Campaign":"{CAMPAIGN}"}}}}}}"#).into_bytes();
                let mut m = format!("{ts}.").into_bytes();
                m.extend_from_slice(&body);
                let h = headers(&[(
                    "x-lettermint-signature",
                    format!("t={ts},v1={}", hex::encode(hmac(b"lm-key", &m))),
                )]);
                (h, None, body)
            }
            "mailgun" => {
                // HMAC of timestamp and token, both inside the body.
                let token = format!("c3b0b2a4e8f14b1d9a7e5f6c2d1a0b9e8f7c6d5e4f3a2b1c{n:08}");
                let sig = hex::encode(hmac(b"mg-key", format!("{ts}{token}").as_bytes()));
                let body = format!(
                    r#"{{"signature":{{"token":"{token}","timestamp":"{ts}","signature":"{sig}"}},"event-data":{{"id":"G{n}","timestamp":{ts},"event":"failed","severity":"permanent","recipient":"{to}","user-variables":{{"listmonk_campaign":"{CAMPAIGN}"}}}}}}"#
                );
                (http::HeaderMap::new(), None, body.into_bytes())
            }
            "resend" => {
                // Svix: HMAC of "<svix-id>.<timestamp>.<body>".
                let body = format!(r#"{{"type":"email.bounced","created_at":"2026-01-05T10:15:30.101Z","data":{{"to":["{to}"],"tags":[{{"name":"listmonk_campaign","value":"{CAMPAIGN}"}}]}}}}"#).into_bytes();
                let id = format!("msg_{n}");
                let mut m = format!("{id}.{ts}.").into_bytes();
                m.extend_from_slice(&body);
                let sig = B64.encode(hmac(&B64.decode(RESEND_KEY).unwrap(), &m).as_ref());
                let h = headers(&[
                    ("svix-id", id),
                    ("svix-timestamp", ts.to_string()),
                    ("svix-signature", format!("v1,{sig}")),
                ]);
                (h, None, body)
            }
            "postal" => {
                // RSA SHA-256 of the body.
                let body = format!(r#"{{"event":"MessageDeliveryFailed","timestamp":{ts},"uuid":"u-{n}","payload":{{"message":{{"to":"{to}","tag":"{CAMPAIGN}"}},"status":"HardFail"}}}}"#).into_bytes();
                (headers(&[("x-postal-signature-256", self.rsa_sign(&body))]), None, body)
            }
            other => panic!("no signed request for provider {other}"),
        };
        SignedRequest { provider, headers, query, body }
    }
}
