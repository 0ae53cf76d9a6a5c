//! Abuse Reporting Format (RFC 5965): feedback-loop complaints such as
//! Yahoo's, AOL's and Outlook.com's. The machine-readable part is a
//! `message/feedback-report` (§3.1) holding header-style fields; the
//! complained-about message follows as `message/rfc822` or
//! `text/rfc822-headers` (§2 item c).

use crate::fields::{fields, type_stripped};

#[derive(Debug, Default, Clone)]
pub(crate) struct FeedbackFields {
    /// §3.1 Feedback-Type: abuse, fraud, other, virus, not-spam (RFC 6430),
    /// auth-failure (RFC 6591), opt-out (old drafts).
    pub feedback_type: Option<String>,
    /// §3.2 Original-Rcpt-To (may repeat).
    pub original_rcpt_to: Vec<String>,
    /// Removal-Recipient from the pre-standard draft some loops still send.
    pub removal_recipient: Vec<String>,
    pub reporting_mta: Option<String>,
    pub arrival_date: Option<String>,
    pub source_ip: Option<String>,
}

pub(crate) fn parse(text: &str) -> FeedbackFields {
    let mut f = FeedbackFields::default();
    for field in fields(text) {
        let v = field.value.trim();
        match field.name.to_ascii_lowercase().as_str() {
            "feedback-type" => f.feedback_type = Some(v.to_ascii_lowercase()),
            "original-rcpt-to" => f.original_rcpt_to.push(v.to_string()),
            "removal-recipient" => f.removal_recipient.push(v.to_string()),
            "reporting-mta" => f.reporting_mta = Some(type_stripped(v).to_string()),
            "arrival-date" | "received-date" => f.arrival_date = Some(v.to_string()),
            "source-ip" => f.source_ip = Some(v.to_string()),
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_a_report() {
        let f = parse(
            "Feedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: <u@example.net>\r\nReporting-MTA: dns; mail.example.com\r\n",
        );
        assert_eq!(f.feedback_type.as_deref(), Some("abuse"));
        assert_eq!(f.original_rcpt_to, vec!["<u@example.net>"]);
        assert_eq!(f.reporting_mta.as_deref(), Some("mail.example.com"));
    }
}
