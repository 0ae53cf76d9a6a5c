//! The message a send delivers, and its envelope.
//!
//! Headers, in order of precedence (a later source replaces an earlier
//! header of the same name, compared case-insensitively):
//!
//! 1. the SMTP server's `email_headers` (listmonk's custom headers, e.g.
//!    `[{"Return-Path": "bounces@site.com"}, {"Reply-To": "..."}]`);
//! 2. the campaign's `headers`;
//! 3. the headers rebound always writes: From, To, Subject, Date,
//!    Message-ID, MIME-Version, the body's Content-Type, and listmonk's
//!    `X-Listmonk-Subscriber` / `X-Listmonk-Campaign` with the uuids. A
//!    custom header can not replace these.
//!
//! `List-Unsubscribe` is written unless a custom header sets it:
//! `<mailto:FROM?subject=unsubscribe%20SUBSCRIBER_UUID>`. Custom header
//! values may hold `{subscriber_uuid}`, `{campaign_uuid}` and `{email}`,
//! e.g. `{"List-Unsubscribe": "<https://site.com/u/{subscriber_uuid}>"}`.
//!
//! `Return-Path` is not written into the message (RFC 5321 §4.4: the
//! final delivery MTA adds it from the envelope); it becomes the envelope
//! sender instead. The envelope sender (MAIL FROM) is, in order:
//!
//! 1. with `bounce.verp.enabled`, the VERP address from
//!    `bounce.verp.address` with both uuids in rebound's compact form
//!    ([`rebound_dsn::verp::encode_compact`]: 26 base32 characters each,
//!    so `bounces+{subscriber_uuid}.{campaign_uuid}@site.com` keeps its
//!    local part at 61 octets, within RFC 5321's 64); with
//!    `bounce.verp.signed`, the subscriber's signed token instead
//!    ([`rebound_dsn::verp::encode_signed`]: the id and an HMAC tag, no
//!    campaign; 50 octets with `bounces+`);
//! 2. the `Return-Path` custom header (campaign, then server);
//! 3. the From address.

use std::collections::BTreeMap;
use std::time::SystemTime;

use lettre::Address;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, SinglePart};
use rebound_core::headers::{X_LISTMONK_CAMPAIGN, X_LISTMONK_SUBSCRIBER};
use rebound_core::settings::{SmtpServer, VerpSettings};
use uuid::Uuid;

/// Headers rebound writes itself; custom headers of these names are ignored.
const RESERVED: [&str; 12] = [
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "x-listmonk-subscriber",
    "x-listmonk-campaign",
];

/// What a campaign contributes to the message.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignContent {
    pub uuid: Uuid,
    pub subject: String,
    /// "Name <address>" or a bare address.
    pub from_email: String,
    pub body: String,
    /// listmonk's content types: html, richtext, visual (sent as HTML),
    /// plain, markdown (sent as plain text).
    pub content_type: String,
    /// The campaign's custom headers, `[{"Name": "value"}, ...]`.
    pub headers: Vec<BTreeMap<String, String>>,
}

/// Who the message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub uuid: Uuid,
    pub email: String,
    pub name: String,
}

/// A composed message with its envelope.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// MAIL FROM.
    pub envelope_from: Address,
    /// RCPT TO.
    pub recipient: Address,
    pub message_id: String,
    /// The message as sent after DATA (CRLF line ends; dot-stuffing is the
    /// transport's).
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("the campaign has no from_email")]
    NoFrom,
    #[error("invalid from_email {0:?}: {1}")]
    From(String, String),
    #[error("invalid recipient address {0:?}: {1}")]
    Recipient(String, String),
    #[error("invalid envelope sender {0:?} (from {1}): {2}")]
    EnvelopeFrom(String, &'static str, String),
    #[error("bounce.verp.signed is on but bounce.verp.secret is empty (save the settings to make one)")]
    NoVerpSecret,
    #[error("invalid header name {0:?}")]
    HeaderName(String),
    #[error("the message could not be built: {0}")]
    Message(String),
}

/// A new Message-ID in the From address's domain.
pub fn new_message_id(from_email: &str) -> String {
    let domain = from_email
        .parse::<Mailbox>()
        .map(|m| m.email.domain().to_string())
        .unwrap_or_else(|_| "rebound.invalid".to_string());
    format!("<{}@{domain}>", Uuid::new_v4().simple())
}

/// Builds the message for `to` as sent through `server`.
pub fn compose(
    campaign: &CampaignContent,
    to: &Recipient,
    server: &SmtpServer,
    verp: &VerpSettings,
    message_id: &str,
) -> Result<Outgoing, ComposeError> {
    let from_text = campaign.from_email.trim();
    if from_text.is_empty() {
        return Err(ComposeError::NoFrom);
    }
    let from: Mailbox =
        from_text.parse().map_err(|e| ComposeError::From(from_text.to_string(), format!("{e}")))?;
    let recipient: Address =
        to.email.trim().parse().map_err(|e| ComposeError::Recipient(to.email.clone(), format!("{e}")))?;
    let to_name = Some(to.name.trim()).filter(|n| !n.is_empty() && *n != to.email).map(str::to_string);

    let custom = custom_headers(&server.email_headers, &campaign.headers, to, campaign.uuid);
    let header =
        |name: &str| custom.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());

    let (envelope_text, why) = if verp.enabled && !verp.address.trim().is_empty() {
        let template = verp.address.trim();
        let address = if verp.signed {
            if verp.secret.is_empty() {
                return Err(ComposeError::NoVerpSecret);
            }
            rebound_dsn::verp::encode_signed(template, verp.secret.expose().as_bytes(), to.uuid)
        } else {
            rebound_dsn::verp::encode_compact(template, to.uuid, Some(campaign.uuid))
        };
        (address, "bounce.verp.address")
    } else if let Some(rp) = header("Return-Path").filter(|v| !v.is_empty()) {
        (rp.trim_matches(['<', '>']).to_string(), "the Return-Path header")
    } else {
        (from.email.to_string(), "the From address")
    };
    let envelope_from: Address = envelope_text
        .parse()
        .map_err(|e| ComposeError::EnvelopeFrom(envelope_text.clone(), why, format!("{e}")))?;

    let html = matches!(campaign.content_type.as_str(), "html" | "richtext" | "visual");
    let part =
        if html { SinglePart::html(campaign.body.clone()) } else { SinglePart::plain(campaign.body.clone()) };
    let mut message = Message::builder()
        .from(from.clone())
        .to(Mailbox::new(to_name, recipient.clone()))
        .subject(campaign.subject.clone())
        .date(SystemTime::now())
        .message_id(Some(message_id.to_string()))
        .singlepart(part)
        .map_err(|e| ComposeError::Message(e.to_string()))?;

    let headers = message.headers_mut();
    let mut put = |name: &str, value: String| -> Result<(), ComposeError> {
        let name = HeaderName::new_from_ascii(name.to_string())
            .map_err(|_| ComposeError::HeaderName(name.to_string()))?;
        headers.insert_raw(HeaderValue::new(name, value));
        Ok(())
    };
    for (name, value) in &custom {
        let lower = name.to_ascii_lowercase();
        if lower == "return-path" || RESERVED.contains(&lower.as_str()) {
            continue;
        }
        put(name, value.clone())?;
    }
    if header("List-Unsubscribe").is_none() {
        put("List-Unsubscribe", format!("<mailto:{}?subject=unsubscribe%20{}>", from.email, to.uuid))?;
    }
    put(X_LISTMONK_SUBSCRIBER, to.uuid.to_string())?;
    put(X_LISTMONK_CAMPAIGN, campaign.uuid.to_string())?;

    Ok(Outgoing { envelope_from, recipient, message_id: message_id.to_string(), data: message.formatted() })
}

/// Server headers, then campaign headers replacing the same names, with
/// the placeholders filled in. Order is kept: first appearance wins the slot.
fn custom_headers(
    server: &[BTreeMap<String, String>],
    campaign: &[BTreeMap<String, String>],
    to: &Recipient,
    campaign_uuid: Uuid,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in server.iter().chain(campaign).flat_map(|h| h.iter()) {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let value = value
            .replace("{subscriber_uuid}", &to.uuid.to_string())
            .replace("{campaign_uuid}", &campaign_uuid.to_string())
            .replace("{email}", &to.email);
        match out.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            Some(slot) => slot.1 = value,
            None => out.push((name.to_string(), value)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> CampaignContent {
        CampaignContent {
            uuid: Uuid::parse_str("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9").unwrap(),
            subject: "Spring news".into(),
            from_email: "Site News <news@site.test>".into(),
            body: "<p>Hello</p>".into(),
            content_type: "richtext".into(),
            headers: vec![],
        }
    }

    fn to() -> Recipient {
        Recipient {
            uuid: Uuid::parse_str("5f7b2c5e-6a0e-4d43-9b8e-2d7c1f3a9e10").unwrap(),
            email: "alice@site.test".into(),
            name: "Alice".into(),
        }
    }

    fn server(headers: &[(&str, &str)]) -> SmtpServer {
        SmtpServer {
            email_headers: headers
                .iter()
                .map(|(k, v)| BTreeMap::from([(k.to_string(), v.to_string())]))
                .collect(),
            ..SmtpServer::default()
        }
    }

    fn text(o: &Outgoing) -> String {
        String::from_utf8(o.data.clone()).unwrap()
    }

    #[test]
    fn return_path_header_is_the_envelope_sender() {
        let s = server(&[("Return-Path", "bounces@site.test"), ("Reply-To", "help@site.test")]);
        let o = compose(&campaign(), &to(), &s, &VerpSettings::default(), "<m1@site.test>").unwrap();
        assert_eq!(o.envelope_from.to_string(), "bounces@site.test");
        assert_eq!(o.recipient.to_string(), "alice@site.test");
        let t = text(&o);
        assert!(!t.to_ascii_lowercase().contains("return-path"), "{t}");
        assert!(t.contains("Reply-To: help@site.test\r\n"), "{t}");
        assert!(t.contains("X-Listmonk-Subscriber: 5f7b2c5e-6a0e-4d43-9b8e-2d7c1f3a9e10\r\n"), "{t}");
        assert!(t.contains("X-Listmonk-Campaign: 0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\r\n"), "{t}");
        assert!(
            t.contains(
                "List-Unsubscribe: <mailto:news@site.test?subject=unsubscribe%205f7b2c5e-6a0e-4d43-9b8e-2d7c1f3a9e10>"
            ),
            "{t}"
        );
        assert!(t.contains("Message-ID: <m1@site.test>\r\n"), "{t}");
        assert!(t.contains("Content-Type: text/html"), "{t}");
    }

    #[test]
    fn without_return_path_the_from_address() {
        let o = compose(&campaign(), &to(), &server(&[]), &VerpSettings::default(), "<m@x>").unwrap();
        assert_eq!(o.envelope_from.to_string(), "news@site.test");
    }

    #[test]
    fn verp_beats_return_path_and_decodes() {
        let verp = VerpSettings {
            enabled: true,
            address: "bounces+{subscriber_uuid}.{campaign_uuid}@site.test".into(),
            ..VerpSettings::default()
        };
        let s = server(&[("Return-Path", "bounces@site.test")]);
        let o = compose(&campaign(), &to(), &s, &verp, "<m@x>").unwrap();
        let env = o.envelope_from.to_string();
        assert!(env.starts_with("bounces+") && env.ends_with("@site.test"), "{env}");
        assert!(o.envelope_from.user().len() <= 64, "{env}");
        let ids = rebound_dsn::verp::decode(&verp.address, &env).unwrap();
        assert_eq!(ids.subscriber_uuid, to().uuid);
        assert_eq!(ids.campaign_uuid, Some(campaign().uuid));
        // Postfix's recipient_delimiter=+ hands the tag over as is.
        assert_eq!(rebound_dsn::verp::decode_plus(&env).unwrap().subscriber_uuid, to().uuid);
    }

    #[test]
    fn verp_example_in_the_docs() {
        // docs/testing-bounces.md shows this address.
        let verp = VerpSettings {
            enabled: true,
            address: "bounces+{subscriber_uuid}.{campaign_uuid}@site.com".into(),
            ..VerpSettings::default()
        };
        let o = compose(&campaign(), &to(), &server(&[]), &verp, "<m@x>").unwrap();
        assert_eq!(
            o.envelope_from.to_string(),
            "bounces+l55syxtkbzguhg4ofv6b6ou6ca.bmoc2pspkbdbpautus24nv7i7e@site.com"
        );
    }

    #[test]
    fn signed_verp_carries_a_token_only_the_secret_verifies() {
        let mut verp = VerpSettings {
            enabled: true,
            address: "bounces+{subscriber_uuid}.{campaign_uuid}@site.com".into(),
            signed: true,
            secret: rebound_core::Secret::new("the server's secret"),
        };
        let o = compose(&campaign(), &to(), &server(&[]), &verp, "<m@x>").unwrap();
        let env = o.envelope_from.to_string();
        assert_eq!(o.envelope_from.user().len(), 50, "{env}");
        assert_eq!(
            rebound_dsn::verp::verify_signed(Some(&verp.address), b"the server's secret", &env),
            Some(to().uuid)
        );
        assert_eq!(rebound_dsn::verp::verify_signed(Some(&verp.address), b"a guess", &env), None);
        // The headers still name the campaign.
        assert!(text(&o).contains(&campaign().uuid.to_string()));
        verp.secret = rebound_core::Secret::default();
        let err = compose(&campaign(), &to(), &server(&[]), &verp, "<m@x>").unwrap_err();
        assert_eq!(err, ComposeError::NoVerpSecret);
    }

    #[test]
    fn campaign_headers_replace_server_headers_and_fill_placeholders() {
        let mut c = campaign();
        c.headers = vec![BTreeMap::from([(
            "list-unsubscribe".to_string(),
            "<https://site.test/u/{campaign_uuid}/{subscriber_uuid}>".to_string(),
        )])];
        let s = server(&[("List-Unsubscribe", "<mailto:x@y>"), ("X-Listmonk-Subscriber", "forged")]);
        let t = text(&compose(&c, &to(), &s, &VerpSettings::default(), "<m@x>").unwrap());
        assert!(
            t.contains(
                "List-Unsubscribe: <https://site.test/u/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9/5f7b2c5e-6a0e-4d43-9b8e-2d7c1f3a9e10>"
            ),
            "{t}"
        );
        assert!(!t.contains("mailto:x@y") && !t.contains("forged"), "{t}");
        assert_eq!(t.to_ascii_lowercase().matches("list-unsubscribe").count(), 1, "{t}");
    }

    #[test]
    fn plain_text_and_errors() {
        let mut c = campaign();
        c.content_type = "plain".into();
        let t = text(&compose(&c, &to(), &server(&[]), &VerpSettings::default(), "<m@x>").unwrap());
        assert!(t.contains("Content-Type: text/plain"), "{t}");
        c.from_email = String::new();
        assert_eq!(
            compose(&c, &to(), &server(&[]), &VerpSettings::default(), "<m@x>").unwrap_err(),
            ComposeError::NoFrom
        );
        let bad = server(&[("Return-Path", "not an address")]);
        let e = compose(&campaign(), &to(), &bad, &VerpSettings::default(), "<m@x>").unwrap_err();
        assert!(e.to_string().contains("Return-Path"), "{e}");
    }
}
