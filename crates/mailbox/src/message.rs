//! What one fetched message becomes: bounce events to record (one per failed
//! recipient), or a message to keep whole because it is not a bounce, could
//! not be parsed, or names nobody.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rebound_core::{BounceEvent, BounceType, EmailAddress, SubscriberRef};
use rebound_dsn::{NotBounceKind, ParseOptions, Parsed, Recipient, Report, ReportKind};
use rebound_store::{KeptKind, NewMailboxMessage};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Where a message came from and how to read it.
#[derive(Debug, Clone)]
pub struct MessageContext {
    pub mailbox_uuid: Uuid,
    /// The bounce `source`: the mailbox host, as listmonk records it.
    pub source: String,
    pub parse: ParseOptions,
    /// Kept messages larger than this are stored truncated and left on the server.
    pub keep_limit: usize,
    /// Which notices may act on a subscriber, and the key that tells a
    /// genuine signed VERP token.
    pub attribution: AttributionRules,
}

/// How notices are tied to a message rebound sent.
#[derive(Debug, Clone, Default)]
pub struct AttributionRules {
    /// `bounce.attribution` = "strict": a notice acts only with evidence of
    /// a real send; others are recorded as unverified.
    pub strict: bool,
    /// `bounce.verp.secret`, when there is one: signed VERP tokens are
    /// verified with it (also after signing was turned off, for bounces of
    /// earlier sends still coming back).
    pub verp_secret: Option<Vec<u8>>,
}

impl AttributionRules {
    pub fn from_settings(settings: &rebound_core::Settings) -> AttributionRules {
        let secret = settings.verp.secret.expose();
        AttributionRules {
            strict: settings.attribution == rebound_core::settings::AttributionMode::Strict,
            verp_secret: (!secret.is_empty()).then(|| secret.as_bytes().to_vec()),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// One event per failed recipient.
    Bounce(Vec<BounceEvent>),
    Keep(NewMailboxMessage),
}

#[derive(Debug, Clone)]
pub struct Processed {
    /// SHA-256 of the message (hex).
    pub digest: String,
    pub outcome: Outcome,
}

/// Parses one message. Never panics: a parser panic makes the message a
/// kept `parse_error`, whole, so it can be looked at and parsed again later.
pub fn process(raw: &[u8], ctx: &MessageContext) -> Processed {
    let digest = hex::encode(Sha256::digest(raw));
    let outcome = match catch_unwind(AssertUnwindSafe(|| classify(raw, &digest, ctx))) {
        Ok(outcome) => outcome,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the parser panicked".to_string());
            Outcome::Keep(keep(
                raw,
                &digest,
                ctx,
                KeptKind::ParseError,
                format!("parser failed: {what}"),
                None,
            ))
        }
    };
    Processed { digest, outcome }
}

/// A message kept without parsing it (its parse took too long): whole,
/// with `reason`, and without header fields, since reading them is parsing
/// too.
pub fn unparsed(raw: &[u8], ctx: &MessageContext, reason: String) -> Processed {
    let digest = hex::encode(Sha256::digest(raw));
    let kept = keep(raw, &digest, ctx, KeptKind::ParseError, reason, Some(Map::new()));
    Processed { digest, outcome: Outcome::Keep(kept) }
}

fn classify(raw: &[u8], digest: &str, ctx: &MessageContext) -> Outcome {
    let parsed_headers = mail_parser::MessageParser::new().parse_headers(raw);
    let headers = parsed_headers.as_ref().map(header_meta_of).unwrap_or_default();
    match rebound_dsn::parse_with(raw, &ctx.parse) {
        Parsed::NotBounce(nb) => {
            let kind = if nb.why == NotBounceKind::Unparseable {
                KeptKind::Unparseable
            } else {
                KeptKind::NotBounce
            };
            let why = serde_json::to_value(nb.why).ok().and_then(|v| v.as_str().map(str::to_string));
            Outcome::Keep(keep(raw, digest, ctx, kind, why.unwrap_or_default(), Some(headers)))
        }
        Parsed::Bounce(report) => {
            let evidence = if ctx.attribution.strict {
                Some(evidence(raw, parsed_headers.as_ref(), &report, ctx))
            } else {
                None
            };
            let events = events(&report, digest, ctx, &headers, evidence);
            if events.is_empty() {
                Outcome::Keep(keep(
                    raw,
                    digest,
                    ctx,
                    KeptKind::Unattributed,
                    "a bounce that names no valid recipient address and no subscriber".into(),
                    Some(headers),
                ))
            } else {
                Outcome::Bounce(events)
            }
        }
    }
}

/// The subscriber a real send is evidenced for, in strict attribution: the
/// one a genuine signed VERP token names (on the bounce's To, Delivered-To
/// or X-Original-To), else the returned original's X-Listmonk-Subscriber.
/// An unsigned VERP address is no evidence: anyone can write one. `None`:
/// no evidence at all.
fn evidence(
    raw: &[u8],
    headers: Option<&mail_parser::Message<'_>>,
    report: &Report,
    ctx: &MessageContext,
) -> Option<Uuid> {
    if let (Some(secret), Some(h)) = (&ctx.attribution.verp_secret, headers) {
        let template = ctx.parse.verp_template.as_deref();
        let signed = h
            .headers_raw()
            .filter(|(name, _)| {
                ["to", "delivered-to", "x-original-to"].iter().any(|n| name.eq_ignore_ascii_case(n))
            })
            .flat_map(|(_, value)| addresses_in(value))
            .find_map(|addr| rebound_dsn::verp::verify_signed(template, secret, addr));
        if signed.is_some() {
            return signed;
        }
    }
    let a = &report.attribution;
    let uuid = a.subscriber_uuid?;
    // The attribution falls back to the VERP id: then only the header itself,
    // returned in the notice, is evidence.
    match a.verp {
        Some(v) if v.subscriber_uuid == uuid => names_subscriber(raw, uuid).then_some(uuid),
        _ => Some(uuid),
    }
}

/// The address-looking words of a header value (`Name <a@b>, c@d`).
fn addresses_in(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '<' | '>' | '"' | ';'))
        .filter(|w| w.contains('@'))
}

/// Whether the message carries an `X-Listmonk-Subscriber` line with `uuid`.
fn names_subscriber(raw: &[u8], uuid: Uuid) -> bool {
    const NAME: &[u8] = rebound_core::headers::X_LISTMONK_SUBSCRIBER.as_bytes();
    let want = uuid.hyphenated().to_string();
    let mut at = 0;
    while let Some(i) =
        raw.get(at..).and_then(|rest| rest.windows(NAME.len()).position(|w| w.eq_ignore_ascii_case(NAME)))
    {
        let start = at + i + NAME.len();
        let line = &raw[start..raw.len().min(start + 128)];
        let line = &line[..line.iter().position(|b| *b == b'\n').unwrap_or(line.len())];
        if String::from_utf8_lossy(line).to_ascii_lowercase().contains(&want) {
            return true;
        }
        at = start;
    }
    false
}

/// One event per failed recipient. The subscriber is found by, in order,
/// the returned original's X-Listmonk-Subscriber, the VERP address (both in
/// the report's attribution) and the failed address. A uuid can belong to
/// one recipient only, so with several failed recipients each is matched
/// by its address.
///
/// In strict attribution (`evidence` is `Some`), an event acts only on the
/// subscriber the evidence names, by uuid alone (never falling back to the
/// e-mail a forger may have written); every other event is unverified.
fn events(
    report: &Report,
    digest: &str,
    ctx: &MessageContext,
    headers: &Map<String, Value>,
    evidence: Option<Option<Uuid>>,
) -> Vec<BounceEvent> {
    let failures: Vec<&Recipient> = report.failures().collect();
    let attribution = &report.attribution;
    let uuid = if failures.len() == 1 { attribution.subscriber_uuid } else { None };
    let out = unchecked_events(report, digest, ctx, headers, &failures, uuid);
    let Some(evidence) = evidence else { return out };
    out.into_iter()
        .map(|mut ev| {
            // A notice about several recipients cannot say which one the
            // evidence is for; nor can one that names another uuid.
            let tied = evidence.filter(|e| failures.len() <= 1 && ev.subscriber.uuid.is_none_or(|u| u == *e));
            match tied {
                Some(e) => ev.subscriber = SubscriberRef::by_uuid(e),
                None => ev.unverified = true,
            }
            ev
        })
        .collect()
}

fn unchecked_events(
    report: &Report,
    digest: &str,
    ctx: &MessageContext,
    headers: &Map<String, Value>,
    failures: &[&Recipient],
    uuid: Option<Uuid>,
) -> Vec<BounceEvent> {
    let attribution = &report.attribution;
    let mut out = Vec::with_capacity(failures.len());
    if failures.is_empty() && report.kind == ReportKind::Feedback {
        // A complaint whose feedback report redacts the recipient: the
        // returned original's X-Listmonk-Subscriber still names them.
        if let Some(uuid) = attribution.subscriber_uuid {
            let mut ev =
                BounceEvent::new(SubscriberRef::by_uuid(uuid), BounceType::Complaint, ctx.source.clone());
            ev.campaign_uuid = attribution.campaign_uuid;
            let mut meta = headers.clone();
            meta.insert("reason".into(), json!("feedback"));
            meta.insert("feedback_type".into(), json!(report.feedback_type));
            meta.insert("report".into(), json!("feedback"));
            ev.meta = Value::Object(meta);
            ev.event_id = Some(event_id(report.notice_id.as_deref(), digest, &uuid.to_string()));
            out.push(ev);
        }
    }
    for r in failures.iter().copied() {
        let email = EmailAddress::parse(&r.address).ok();
        let Ok(subscriber) = SubscriberRef::new(uuid, email.clone()) else { continue };
        let who = email.as_ref().map(|e| e.to_string()).or(uuid.map(|u| u.to_string())).unwrap_or_default();
        let mut ev = BounceEvent::new(subscriber, r.bounce_type, ctx.source.clone());
        ev.campaign_uuid = attribution.campaign_uuid;
        ev.meta = Value::Object(recipient_meta(report, r, headers));
        // Stable across rescans and redeliveries: the same notice and
        // recipient always give the same id, so a scan cut before the
        // deletion, or a notice delivered twice, does not count twice.
        ev.event_id = Some(event_id(report.notice_id.as_deref(), digest, &who));
        out.push(ev);
    }
    out
}

/// A notice's bounce for one recipient: by what the notice says (its
/// identity, see [`Report::notice_id`]) when it says enough, else by its
/// bytes. Hashed, so an id stays short whatever a Message-ID holds.
fn event_id(notice_id: Option<&str>, digest: &str, who: &str) -> String {
    match notice_id {
        Some(id) => format!("notice:{}:{who}", &hex::encode(Sha256::digest(id.as_bytes()))[..32]),
        None => format!("msg:{}:{who}", &digest[..32]),
    }
}

fn recipient_meta(report: &Report, r: &Recipient, headers: &Map<String, Value>) -> Map<String, Value> {
    let mut m = headers.clone();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    put("recipient", Some(json!(r.address)));
    put("reason", Some(json!(r.reason.as_str())));
    put("explanation", Some(json!(r.explanation.summary)));
    put("status", r.status.as_ref().map(|s| json!(s)));
    put("diagnostic", r.diagnostic.as_ref().map(|s| json!(s)));
    put("action", r.action.map(|a| json!(a.as_str())));
    put("reply_code", r.reply_code.map(|c| json!(c)));
    put("remote_mta", r.remote_mta.as_ref().map(|s| json!(s)));
    put("reporting_mta", r.reporting_mta.as_ref().or(report.reporting_mta.as_ref()).map(|s| json!(s)));
    put("feedback_type", report.feedback_type.as_ref().map(|s| json!(s)));
    put("original_message_id", report.attribution.original_message_id.as_ref().map(|s| json!(s)));
    put("report", serde_json::to_value(report.kind).ok());
    m
}

/// From, Subject, Message-ID, Delivered-To and Date of the bounce itself.
pub fn header_meta(raw: &[u8]) -> Map<String, Value> {
    mail_parser::MessageParser::new().parse_headers(raw).as_ref().map(header_meta_of).unwrap_or_default()
}

fn header_meta_of(msg: &mail_parser::Message<'_>) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
            m.insert(k.to_string(), Value::String(v.chars().take(998).collect()));
        }
    };
    put("from", msg.from().and_then(|a| a.first()).and_then(|a| a.address()).map(str::to_string));
    put("subject", msg.subject().map(str::to_string));
    put("message_id", msg.message_id().map(str::to_string));
    put(
        "delivered_to",
        msg.header_raw("Delivered-To").or_else(|| msg.header_raw("X-Original-To")).map(str::to_string),
    );
    put("date", msg.date().map(|d| d.to_rfc3339()));
    m
}

fn keep(
    raw: &[u8],
    digest: &str,
    ctx: &MessageContext,
    kind: KeptKind,
    reason: String,
    headers: Option<Map<String, Value>>,
) -> NewMailboxMessage {
    let headers = headers.unwrap_or_else(|| catch_unwind(|| header_meta(raw)).unwrap_or_default());
    let truncated = raw.len() > ctx.keep_limit;
    NewMailboxMessage {
        mailbox_uuid: ctx.mailbox_uuid,
        source: ctx.source.clone(),
        digest: digest.to_string(),
        kind,
        reason,
        meta: Value::Object(headers),
        raw: raw[..raw.len().min(ctx.keep_limit)].to_vec(),
        size: raw.len() as u64,
        truncated,
        left_on_server: truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> MessageContext {
        MessageContext {
            mailbox_uuid: Uuid::nil(),
            source: "pop.example.com".into(),
            parse: ParseOptions::default(),
            keep_limit: 1 << 20,
            attribution: AttributionRules::default(),
        }
    }

    const DSN: &[u8] = b"From: MAILER-DAEMON@mx.example.org\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Message-ID: <bounce-1@mx.example.org>\r\n\
Delivered-To: bounces@site.com\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain\r\n\
\r\n\
Your message could not be delivered.\r\n\
--b\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example.org\r\n\
\r\n\
Final-Recipient: rfc822; Nobody@Example.org\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\r\n\
\r\n\
--b\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: news@site.com\r\n\
To: nobody@example.org\r\n\
X-Listmonk-Subscriber: 5b3b7f6e-8c46-4b0e-9a0b-6b8e2e0f3c11\r\n\
X-Listmonk-Campaign: 0e6a2c5e-1f4d-4a53-9a8e-2e1c0f7b9d22\r\n\
Subject: Our news\r\n\
\r\n\
--b--\r\n";

    #[test]
    fn a_dsn_becomes_one_event_with_meta_and_a_stable_id() {
        let p = process(DSN, &ctx());
        let Outcome::Bounce(events) = &p.outcome else { panic!("{:?}", p.outcome) };
        assert_eq!(events.len(), 1);
        let ev = &events[0];
        assert_eq!(ev.source, "pop.example.com");
        assert_eq!(ev.subscriber.uuid.unwrap().to_string(), "5b3b7f6e-8c46-4b0e-9a0b-6b8e2e0f3c11");
        assert_eq!(ev.subscriber.email.as_ref().unwrap().as_str(), "nobody@example.org");
        assert_eq!(ev.campaign_uuid.unwrap().to_string(), "0e6a2c5e-1f4d-4a53-9a8e-2e1c0f7b9d22");
        assert_eq!(ev.bounce_type, rebound_core::BounceType::Hard);
        for key in ["from", "subject", "message_id", "delivered_to", "reason", "status", "diagnostic"] {
            assert!(ev.meta.get(key).is_some(), "meta lacks {key}: {}", ev.meta);
        }
        assert_eq!(ev.meta["status"], "5.1.1");
        assert_eq!(ev.meta["delivered_to"], "bounces@site.com");
        // Same bytes, same id: a rescan is recognised as a duplicate.
        let again = process(DSN, &ctx());
        let Outcome::Bounce(again) = again.outcome else { panic!() };
        assert_eq!(again[0].event_id, ev.event_id);
    }

    fn bounce_ids(raw: &[u8]) -> Vec<Option<String>> {
        match process(raw, &ctx()).outcome {
            Outcome::Bounce(events) => events.into_iter().map(|e| e.event_id).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn with_header(raw: &[u8], header: &str) -> Vec<u8> {
        [header.as_bytes(), raw].concat()
    }

    fn without_header(raw: &[u8], name: &str) -> Vec<u8> {
        let text = String::from_utf8(raw.to_vec()).unwrap();
        text.split_inclusive("\r\n").filter(|l| !l.starts_with(name)).collect::<String>().into_bytes()
    }

    const RELAYED: &str = "Received: from relay.example.net (relay.example.net [192.0.2.7])\r\n\tby mx.site.com; Tue, 1 Dec 2026 10:00:00 +0000\r\n";

    #[test]
    fn a_notice_delivered_twice_is_one_bounce() {
        // A redelivery adds a Received header: other bytes, the same notice.
        assert_eq!(bounce_ids(&with_header(DSN, RELAYED)), bounce_ids(DSN));
        // Without its Message-ID, the notice's Date and content still tell it.
        let dated =
            without_header(&with_header(DSN, "Date: Tue, 1 Dec 2026 09:59:00 +0000\r\n"), "Message-ID:");
        assert_ne!(bounce_ids(&dated), bounce_ids(DSN));
        assert_eq!(bounce_ids(&with_header(&dated, RELAYED)), bounce_ids(&dated));
        // Another notice of the same failure, sent at another time, is another bounce.
        let later =
            String::from_utf8(dated.clone()).unwrap().replace("1 Dec 2026 09:59:00", "2 Dec 2026 09:00:00");
        assert_ne!(bounce_ids(later.as_bytes()), bounce_ids(&dated));
    }

    #[test]
    fn a_notice_that_says_too_little_is_told_by_its_bytes() {
        // No Message-ID, no Date, no original Message-ID: every bounce of
        // this address at this server would look alike, so the bytes decide.
        let bare = without_header(DSN, "Message-ID:");
        let other = with_header(&bare, RELAYED);
        assert_ne!(bounce_ids(&other), bounce_ids(&bare));
        assert_eq!(bounce_ids(&bare), bounce_ids(&bare));
    }

    #[test]
    fn the_meta_says_why() {
        let Outcome::Bounce(events) = process(DSN, &ctx()).outcome else { panic!() };
        let why = events[0].meta["explanation"].as_str().unwrap();
        assert!(why.contains("5.1.1") && why.ends_with("hard"), "{why}");
    }

    #[test]
    fn ordinary_mail_is_kept_whole() {
        let raw = b"From: a@b.org\r\nSubject: hello\r\n\r\nJust saying hi.\r\n";
        let p = process(raw, &ctx());
        let Outcome::Keep(k) = p.outcome else { panic!() };
        assert_eq!(k.kind, KeptKind::NotBounce);
        assert_eq!(k.raw, raw);
        assert!(!k.truncated && !k.left_on_server);
        assert_eq!(k.meta["subject"], "hello");
    }

    #[test]
    fn large_kept_messages_are_truncated_and_left_on_the_server() {
        let mut raw = b"From: a@b.org\r\nSubject: big\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'x', 5000));
        let p = process(&raw, &MessageContext { keep_limit: 1000, ..ctx() });
        let Outcome::Keep(k) = p.outcome else { panic!() };
        assert!(k.truncated && k.left_on_server);
        assert_eq!(k.raw.len(), 1000);
        assert_eq!(k.size, raw.len() as u64);
    }

    #[test]
    fn garbage_is_kept() {
        let p = process(&[0xff, 0x00, 0x13, 0x37], &ctx());
        assert!(matches!(p.outcome, Outcome::Keep(_)));
    }
}
