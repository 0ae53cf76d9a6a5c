//! One SES reader: the same Amazon SES bounce, arriving over an SNS HTTP
//! subscription (the provider adapter's parser, `rebound_providers::ses::parse`)
//! and as an e-mail in the bounce mailbox (`rebound_mailbox::message::process`),
//! becomes bounce events with the same type and the same `meta.reason`.
//! Both are the events the store records; the HTTP route and the mailbox
//! scan around them only verify, fetch and commit.

use rebound_core::BounceType;
use rebound_dsn::ParseOptions;
use rebound_mailbox::message::{MessageContext, Outcome, process};
use serde_json::{Value, json};
use uuid::Uuid;

const CAMPAIGN: &str = "0e6a2c5e-1f4d-4a53-9a8e-2e1c0f7b9d22";

/// An SES Bounce notification for one recipient.
fn ses_bounce(bounce_type: &str, sub_type: &str, status: &str, diagnostic: &str) -> Value {
    json!({
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [
                {"emailAddress": "reader@example.com", "action": "failed", "status": status,
                 "diagnosticCode": diagnostic}
            ],
            "timestamp": "2026-01-05T10:15:29.870Z",
            "feedbackId": "0102018c-feedback",
            "reportingMTA": "dns; a1-2.smtp-out.amazonses.com"
        },
        "mail": {
            "timestamp": "2026-01-05T10:15:28.000Z",
            "messageId": "0102018c-1111",
            "source": "news@lists.example.org",
            "destination": ["reader@example.com"],
            "headers": [
                {"name": "From", "value": "news@lists.example.org"},
                {"name": "X-Listmonk-Campaign", "value": CAMPAIGN}
            ]
        }
    })
}

/// Over SNS: the envelope around the notification.
fn over_sns(n: &Value) -> Vec<(BounceType, Value)> {
    let envelope = json!({
        "Type": "Notification",
        "MessageId": "sns-1",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:bounces",
        "Message": n.to_string(),
        "Timestamp": "2026-01-05T10:15:30.000Z",
        "SignatureVersion": "2",
        "Signature": "",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem"
    });
    let events = rebound_providers::ses::parse(envelope.to_string().as_bytes()).expect("SNS notification");
    events.into_iter().map(|e| (e.bounce_type, e.meta)).collect()
}

/// By e-mail: SNS's e-mail subscription sends the notification as the body.
fn by_email(n: &Value) -> Vec<(BounceType, Value)> {
    let raw = format!(
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\r\n\
         To: bounces@lists.example.org\r\n\
         Subject: AWS Notification Message\r\n\
         Message-ID: <sns-mail-1@email.amazonses.com>\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\r\n{n}\r\n\r\n--\r\nIf you wish to stop receiving \
         notifications from this topic, please click or visit the link below to unsubscribe.\r\n"
    );
    let ctx = MessageContext {
        mailbox_uuid: Uuid::nil(),
        source: "pop.example.org".into(),
        parse: ParseOptions::default(),
        keep_limit: 1 << 20,
        attribution: Default::default(),
    };
    match process(raw.as_bytes(), &ctx).outcome {
        Outcome::Bounce(events) => events.into_iter().map(|e| (e.bounce_type, e.meta)).collect(),
        Outcome::Keep(k) => panic!("the SES e-mail was kept, not recorded: {:?}", k.reason),
    }
}

#[test]
fn the_same_ses_bounce_gets_the_same_type_and_reason_either_way() {
    let cases = [
        // (bounceType, bounceSubType, status, diagnostic, type, reason)
        ("Permanent", "General", "5.1.1", "smtp; 550 5.1.1 user unknown", BounceType::Hard, "userunknown"),
        ("Permanent", "NoEmail", "5.1.1", "smtp; 550 5.1.1 no such user", BounceType::Hard, "userunknown"),
        (
            "Permanent",
            "Suppressed",
            "5.1.1",
            "Amazon SES has suppressed sending to this address",
            BounceType::Hard,
            "suppressed",
        ),
        (
            "Permanent",
            "General",
            "5.7.1",
            "smtp; 550 5.7.1 Message rejected by policy",
            BounceType::Hard,
            "policyviolation",
        ),
        (
            "Transient",
            "MailboxFull",
            "4.2.2",
            "smtp; 452 4.2.2 mailbox full",
            BounceType::Soft,
            "mailboxfull",
        ),
        // SES's verdict is Transient: soft, although the words say unknown.
        ("Transient", "General", "5.1.1", "smtp; 550 5.1.1 no such user", BounceType::Soft, "userunknown"),
        (
            "Transient",
            "General",
            "5.4.4",
            "smtp; 550 5.4.4 no route to domain",
            BounceType::Hard,
            "hostunknown",
        ),
        (
            "Transient",
            "MessageTooLarge",
            "5.3.4",
            "smtp; 552 5.3.4 message too big",
            BounceType::Soft,
            "emailtoolarge",
        ),
        ("Undetermined", "Undetermined", "5.0.0", "", BounceType::Soft, "undefined"),
    ];
    for (bt, sub, status, diag, want_type, want_reason) in cases {
        let n = ses_bounce(bt, sub, status, diag);
        let sns = over_sns(&n);
        let mail = by_email(&n);
        assert_eq!(sns.len(), 1, "{bt}/{sub}");
        assert_eq!(mail.len(), 1, "{bt}/{sub}");
        let what = format!("{bt}/{sub} {status} {diag:?}");
        assert_eq!(sns[0].0, want_type, "over SNS: {what}");
        assert_eq!(mail[0].0, want_type, "by e-mail: {what}");
        assert_eq!(sns[0].1["reason"], want_reason, "over SNS: {what}");
        assert_eq!(mail[0].1["reason"], want_reason, "by e-mail: {what}");
    }
}
