//! The identity of a bounce notice, for telling a notice fetched twice from
//! a mailbox (or delivered twice: a redelivery adds a Received header and
//! changes the bytes) from a new one: what the notice says, not its bytes.

use crate::Recipient;

/// The notice's own Message-ID when it has one. Without it, the reporting
/// MTA, the notice's Date, the returned original's Message-ID and each
/// failed recipient with its status, which together say which failure of
/// which message the notice reports. None when the notice has neither a
/// Message-ID, nor a Date, nor the original's Message-ID: what is left
/// (the MTA and the recipients) is the same for every bounce of one address
/// at one server, and two distinct bounces must not be taken for one.
pub(crate) fn notice_id(
    message_id: Option<&str>,
    date: Option<&str>,
    reporting_mta: Option<&str>,
    original_message_id: Option<&str>,
    recipients: &[Recipient],
) -> Option<String> {
    fn present(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    if let Some(m) = present(message_id) {
        return Some(m.to_string());
    }
    if present(date).is_none() && present(original_message_id).is_none() {
        return None;
    }
    let mut who: Vec<String> =
        recipients.iter().map(|r| format!("{} {}", r.address, r.status.as_deref().unwrap_or("-"))).collect();
    who.sort();
    Some(format!(
        "mta={};date={};original={};recipients={}",
        present(reporting_mta).unwrap_or("-").to_ascii_lowercase(),
        present(date).unwrap_or("-"),
        present(original_message_id).unwrap_or("-"),
        who.join(",")
    ))
}
