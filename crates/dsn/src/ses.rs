//! Amazon SES notifications delivered by e-mail (an SNS topic with an
//! e-mail subscription): the body is the SES JSON event instead of a DSN.
//! Documented by AWS as "Amazon SES notification contents": a
//! `notificationType` of Bounce, Complaint or Delivery, the recipients under
//! `bounce.bouncedRecipients` / `complaint.complainedRecipients`, and the
//! original headers under `mail.headers`.

use serde::Deserialize;

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
