//! The identity of a bounce notice, for telling a notice fetched twice from
//! a mailbox (or delivered twice: a redelivery adds a Received header and
//! changes the bytes) from a new one: what the notice says, not its bytes.

use crate::Recipient;

/// The notice's own Message-ID when it has one. Without it, the reporting
/// MTA, the returned original's Message-ID and each failed recipient with
/// its status, which together say which failure of which message the
/// notice reports.
pub(crate) fn notice_id(
    message_id: Option<&str>,
    reporting_mta: Option<&str>,
    original_message_id: Option<&str>,
    recipients: &[Recipient],
) -> String {
    if let Some(m) = message_id.map(str::trim).filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    let mut who: Vec<String> =
        recipients.iter().map(|r| format!("{} {}", r.address, r.status.as_deref().unwrap_or("-"))).collect();
    who.sort();
    format!(
        "mta={};original={};recipients={}",
        reporting_mta.map(str::trim).unwrap_or("-").to_ascii_lowercase(),
        original_message_id.map(str::trim).unwrap_or("-"),
        who.join(",")
    )
}
