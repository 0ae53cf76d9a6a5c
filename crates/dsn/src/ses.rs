//! Amazon SES notifications, read one way however they arrive: by e-mail
//! (an SNS topic with an e-mail subscription, whose body is the SES JSON
//! event instead of a DSN; [`from_notice`]) or over an SNS HTTP
//! subscription (the providers crate, which verifies the SNS signature and
//! asks [`verdict`] for each bounced recipient's reason and type).
//!
//! Documented by AWS as "Amazon SES notification contents": a
//! `notificationType` of Bounce, Complaint or Delivery, the recipients under
//! `bounce.bouncedRecipients` / `complaint.complainedRecipients`, and the
//! original headers under `mail.headers`.

use serde::Deserialize;

use crate::classify::{self, Evidence, Judged};
use crate::explain::{Basis, Explanation, Step};
use crate::reading::{Cx, clip, not_bounce, parse_uuid, report_with};
use crate::reason::Reason;
use crate::{Action, BounceType, NotBounceKind, Parsed, Recipient, ReportKind, address, codes, fields};

/// What rebound makes of one bounced recipient of an SES Bounce event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesVerdict {
    pub reason: Reason,
    pub bounce_type: BounceType,
    /// The recipient's status, else the best code in its diagnostic.
    pub status: Option<String>,
    pub explanation: Explanation,
}

/// The reason and type of one bounced recipient, from the event's
/// `bounce.bounceType` and `bounce.bounceSubType` and the recipient's
/// `status` and `diagnosticCode`.
///
/// The type is SES's own verdict, which SES acts on (it suppresses an
/// address after a Permanent bounce, so later sends to it fail anyway):
/// Permanent is hard, Transient and Undetermined are soft, except status
/// 5.4.4 (no route to the domain), which SES reports as Transient but is
/// permanent in practice (listmonk's rule). The reason is the subtype when
/// it names one (NoEmail, Suppressed, MailboxFull, MessageTooLarge,
/// ContentRejected, AttachmentRejected), else what the status and the
/// diagnostic say, by the same tables as any notice.
pub fn verdict(
    bounce_type: &str,
    bounce_sub_type: &str,
    status: Option<&str>,
    diagnostic_code: Option<&str>,
) -> SesVerdict {
    let diag = diagnostic_code.map(fields::type_stripped).unwrap_or("");
    let reply = codes::find_reply(diag);
    let status = classify::best_status(status, diag, reply);
    let sub = |r| Judged::new(r, Basis::Provider, format!("SES bounceSubType {bounce_sub_type}"));
    let mut judged = match bounce_sub_type {
        "NoEmail" => sub(Reason::UserUnknown),
        "Suppressed" | "OnAccountSuppressionList" => sub(Reason::Suppressed),
        "MailboxFull" => sub(Reason::MailboxFull),
        "MessageTooLarge" => sub(Reason::EmailTooLarge),
        "ContentRejected" | "AttachmentRejected" => sub(Reason::ContentError),
        _ => classify::judge_reason(&Evidence {
            status: status.as_deref(),
            command: codes::find_command(diag),
            reply,
            diagnostic: diag,
            context: &classify::Context::new(""),
        }),
    };
    if judged.reason == Reason::OnHold {
        judged.reason = Reason::Undefined;
    }
    let no_route = status.as_deref() == Some("5.4.4");
    let bounce = if bounce_type == "Permanent" || no_route { BounceType::Hard } else { BounceType::Soft };
    let why = if no_route && bounce_type != "Permanent" {
        format!("SES bounceType {bounce_type} with status 5.4.4")
    } else {
        format!("SES bounceType {bounce_type}")
    };
    let v = classify::Verdict::new(judged, bounce, Step::new(Basis::Provider, why));
    SesVerdict { reason: v.reason, bounce_type: v.bounce_type, status, explanation: v.explanation }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Notification {
    pub notification_type: String,
    pub bounce: Option<Bounce>,
    pub complaint: Option<Complaint>,
    pub mail: Option<Mail>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Bounce {
    pub bounce_type: String,
    pub bounce_sub_type: String,
    pub bounced_recipients: Vec<BouncedRecipient>,
    pub reporting_mta: Option<String>,
    pub timestamp: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct BouncedRecipient {
    pub email_address: String,
    pub action: Option<String>,
    pub status: Option<String>,
    pub diagnostic_code: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Complaint {
    pub complained_recipients: Vec<ComplainedRecipient>,
    pub complaint_feedback_type: Option<String>,
    pub timestamp: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ComplainedRecipient {
    pub email_address: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Mail {
    pub message_id: Option<String>,
    pub headers: Vec<Header>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct Header {
    pub name: String,
    pub value: String,
}

/// An Amazon SES event sent as e-mail.
pub(crate) fn from_notice(cx: &Cx<'_>) -> Option<Parsed> {
    let n = notification(cx.notice_full)?;
    let mut attribution = cx.attribution.clone();
    if let Some(m) = &n.mail {
        for h in &m.headers {
            if h.name.eq_ignore_ascii_case(rebound_core::headers::X_LISTMONK_SUBSCRIBER) {
                attribution.subscriber_uuid = attribution.subscriber_uuid.or_else(|| parse_uuid(&h.value));
            } else if h.name.eq_ignore_ascii_case(rebound_core::headers::X_LISTMONK_CAMPAIGN) {
                attribution.campaign_uuid = attribution.campaign_uuid.or_else(|| parse_uuid(&h.value));
            } else if h.name.eq_ignore_ascii_case("Message-ID") && attribution.original_message_id.is_none() {
                attribution.original_message_id = Some(h.value.clone());
            }
        }
    }
    let mut out = Vec::new();
    let mut feedback_type = None;
    let mut reporting_mta = None;
    match n.notification_type.as_str() {
        "Bounce" => {
            let b = n.bounce?;
            reporting_mta = b.reporting_mta.as_deref().map(|m| fields::type_stripped(m).to_string());
            for r in b.bounced_recipients.iter().take(crate::MAX_RECIPIENTS + 1) {
                let Some(addr) = address::first(&r.email_address) else { continue };
                let v = verdict(
                    &b.bounce_type,
                    &b.bounce_sub_type,
                    r.status.as_deref(),
                    r.diagnostic_code.as_deref(),
                );
                let diag = r.diagnostic_code.as_deref().map(fields::type_stripped).unwrap_or("");
                out.push(Recipient {
                    address: addr,
                    original_address: None,
                    action: Some(Action::Failed),
                    bounce_type: v.bounce_type,
                    status: v.status,
                    reply_code: codes::find_reply(diag),
                    diagnostic: Some(clip(diag)).filter(|d| !d.is_empty()),
                    remote_mta: None,
                    reporting_mta: reporting_mta.clone(),
                    reason: v.reason,
                    explanation: v.explanation,
                    date: b.timestamp.clone(),
                });
            }
        }
        "Complaint" => {
            let c = n.complaint?;
            let kind = c.complaint_feedback_type.clone().unwrap_or_else(|| "abuse".into());
            let step = Step::new(Basis::Feedback, kind.clone());
            for r in c.complained_recipients.iter().take(crate::MAX_RECIPIENTS + 1) {
                let Some(addr) = address::first(&r.email_address) else { continue };
                out.push(Recipient {
                    address: addr,
                    original_address: None,
                    action: None,
                    status: None,
                    reply_code: None,
                    diagnostic: None,
                    remote_mta: None,
                    reporting_mta: None,
                    reason: Reason::Feedback,
                    bounce_type: BounceType::Complaint,
                    explanation: Explanation::new(
                        Reason::Feedback,
                        step.clone(),
                        BounceType::Complaint,
                        step.clone(),
                    ),
                    date: c.timestamp.clone(),
                });
            }
            feedback_type = Some(kind);
        }
        _ => return Some(not_bounce(NotBounceKind::Delivered, attribution)),
    }
    if out.is_empty() {
        return None;
    }
    let kind = if feedback_type.is_some() { ReportKind::Feedback } else { ReportKind::Dsn };
    Some(report_with(cx, kind, out, reporting_mta, feedback_type, attribution))
}

/// The SES event at the start of a notice, if that is what it is.
pub(crate) fn notification(notice: &str) -> Option<Notification> {
    let start = notice.find('{')?;
    if !notice[..start].trim().is_empty() || !notice.contains("notificationType") {
        return None;
    }
    let json = &notice[start..];
    // Some relays fold the one long JSON line like a header ("\n "); undo
    // that when the text does not parse as it is.
    first::<Envelope>(json)
        .or_else(|| first::<Envelope>(&json.replace("\r\n ", "").replace("\n ", "")))
        .and_then(|e| match e.message {
            // The SNS envelope ({"Type": "Notification", "Message": "..."})
            // carries the SES event as a JSON string.
            Some(inner) => first::<Notification>(&inner),
            None => Some(e.event),
        })
        .filter(|n| !n.notification_type.is_empty())
}

/// An SES event, possibly wrapped in the SNS envelope.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Envelope {
    #[serde(rename = "Message")]
    message: Option<String>,
    #[serde(flatten)]
    event: Notification,
}

fn first<T: serde::de::DeserializeOwned>(json: &str) -> Option<T> {
    serde_json::Deserializer::from_str(json).into_iter::<T>().next().and_then(Result::ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_bounce_event() {
        let n = notification(r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"a@example.com","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}]}}
--
unsubscribe text"#)
        .unwrap();
        assert_eq!(n.bounce.unwrap().bounced_recipients[0].email_address, "a@example.com");
        assert!(notification("hello {\"notificationType\":1}").is_none());
    }
}
