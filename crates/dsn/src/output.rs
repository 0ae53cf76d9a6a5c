//! The JSON line of `rebound parse`: `{"file": PATH, "results":
//! [{"recipient", "type", "status", "reason", "action", "diagnostic",
//! "subscriber_uuid", "campaign_uuid", "why", ...}]}`, one per message; an
//! empty `results` list means "not a bounce". The Sisimai corpus scorer
//! (docs/parser.md) reads it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{BounceType, Explanation, Parsed, Reason};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonLine {
    pub file: String,
    /// 1-based position in an mbox file that held several messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<usize>,
    pub results: Vec<JsonResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonResult {
    pub recipient: Option<String>,
    #[serde(rename = "type")]
    pub bounce_type: BounceType,
    pub status: Option<String>,
    pub reason: Reason,
    pub action: Option<String>,
    pub diagnostic: Option<String>,
    pub subscriber_uuid: Option<Uuid>,
    pub campaign_uuid: Option<Uuid>,
    pub reply_code: Option<u16>,
    pub remote_mta: Option<String>,
    pub reporting_mta: Option<String>,
    pub date: Option<String>,
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_type: Option<String>,
    /// Which evidence decided the reason and the type, in one line
    /// ("status 5.1.1 → userunknown → hard").
    #[serde(default)]
    pub why: Option<String>,
    /// The same, as data: what decided the reason, what decided the type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// The notice's identity (see `Report::notice_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_id: Option<String>,
}

impl JsonLine {
    pub fn new(file: impl Into<String>, message: Option<usize>, parsed: &Parsed) -> Self {
        let results = match parsed {
            Parsed::NotBounce(_) => Vec::new(),
            Parsed::Bounce(r) => {
                let a = &r.attribution;
                let one = |rc: Option<&crate::Recipient>| JsonResult {
                    recipient: rc.map(|x| x.address.clone()),
                    bounce_type: rc.map_or(BounceType::Complaint, |x| x.bounce_type),
                    status: rc.and_then(|x| x.status.clone()),
                    reason: rc.map_or(Reason::Feedback, |x| x.reason),
                    action: rc.and_then(|x| x.action).map(|x| x.as_str().to_string()),
                    diagnostic: rc.and_then(|x| x.diagnostic.clone()),
                    subscriber_uuid: a.subscriber_uuid,
                    campaign_uuid: a.campaign_uuid,
                    reply_code: rc.and_then(|x| x.reply_code),
                    remote_mta: rc.and_then(|x| x.remote_mta.clone()),
                    reporting_mta: rc
                        .and_then(|x| x.reporting_mta.clone())
                        .or_else(|| r.reporting_mta.clone()),
                    date: rc.and_then(|x| x.date.clone()).or_else(|| r.date.clone()),
                    message_id: a.original_message_id.clone(),
                    feedback_type: r.feedback_type.clone(),
                    why: rc.map(|x| x.explanation.summary.clone()),
                    explanation: rc.map(|x| x.explanation.clone()),
                    notice_id: r.notice_id.clone(),
                };
                if r.recipients.is_empty() {
                    // A complaint attributed by headers alone: a file-level verdict.
                    vec![one(None)]
                } else {
                    r.recipients.iter().map(|rc| one(Some(rc))).collect()
                }
            }
        };
        JsonLine { file: file.into(), message, results }
    }

    /// One line of JSON, without the newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}
