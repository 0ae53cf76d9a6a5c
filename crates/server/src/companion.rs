//! Starting in companion mode (docs/companion.md): rebound's first
//! configuration comes from listmonk's `bounce.*` settings, and listmonk's
//! own mailbox scanning must be switched off, because two scanners of one
//! mailbox race to delete the same messages. listmonk's settings rows are
//! only ever read here.

use std::collections::BTreeMap;

use rebound_core::Settings;
use rebound_core::settings::MailboxSettings;
use rebound_store::ListmonkLink;
use serde_json::Value;

/// The settings rebound starts with the first time it runs beside this
/// listmonk: listmonk's `bounce.*` rows (actions, provider keys, mailboxes),
/// as listmonk stored them.
pub async fn initial_settings(listmonk: &dyn ListmonkLink) -> rebound_store::Result<BTreeMap<String, Value>> {
    let rows = listmonk.listmonk_settings().await?;
    let bounce: BTreeMap<String, Value> =
        rows.into_iter().filter(|(k, _)| k.starts_with("bounce.")).collect();
    tracing::warn!(
        keys = bounce.len(),
        "first start beside listmonk: rebound took listmonk's bounce settings (actions, provider keys, \
         mailboxes) as its own. rebound scans the mailboxes from now on: switch listmonk's own scanning \
         off (listmonk: Settings → Bounces → each mailbox: Enabled off), or both will fetch and delete \
         the same bounce e-mails"
    );
    Ok(bounce)
}

/// One mailbox as both programs name it: (host, port, username), the host
/// and username compared without case.
fn mailbox_key(host: &str, port: u64, username: &str) -> (String, u64, String) {
    (host.trim().to_ascii_lowercase(), port, username.trim().to_ascii_lowercase())
}

/// The mailboxes rebound scans that listmonk's settings also have enabled
/// (with listmonk's bounce processing on), as "user@host:port".
pub fn scanned_by_both(listmonk_rows: &BTreeMap<String, Value>, ours: &[MailboxSettings]) -> Vec<String> {
    if listmonk_rows.get("bounce.enabled") != Some(&Value::Bool(true)) {
        return Vec::new();
    }
    let theirs: Vec<(String, u64, String)> = listmonk_rows
        .get("bounce.mailboxes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| m.get("enabled") == Some(&Value::Bool(true)))
        .map(|m| {
            let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            mailbox_key(&text("host"), m.get("port").and_then(Value::as_u64).unwrap_or(0), &text("username"))
        })
        .collect();
    ours.iter()
        .filter(|m| m.enabled)
        .filter(|m| theirs.contains(&mailbox_key(&m.host, u64::from(m.port), &m.username)))
        .map(|m| format!("{}@{}:{}", m.username, m.host, m.port))
        .collect()
}

/// Warns, at every start, about each mailbox both would scan.
pub async fn warn_about_double_scanning(listmonk: &dyn ListmonkLink, settings: &Settings) {
    let rows = match listmonk.listmonk_settings().await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "could not read listmonk's settings to check its mailbox scanning");
            return;
        }
    };
    if !settings.bounce_enabled {
        return;
    }
    for mailbox in scanned_by_both(&rows, &settings.mailboxes) {
        tracing::warn!(
            mailbox,
            "listmonk also scans this mailbox (its bounce.mailboxes has it enabled): the two will race to \
             fetch and delete the same bounce e-mails. Switch it off in listmonk (Settings → Bounces)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours(host: &str, port: u16, user: &str, enabled: bool) -> MailboxSettings {
        MailboxSettings {
            host: host.into(),
            port,
            username: user.into(),
            enabled,
            ..MailboxSettings::default()
        }
    }

    #[test]
    fn a_mailbox_listmonk_also_scans_is_named() {
        let rows: BTreeMap<String, Value> = [
            ("bounce.enabled".to_string(), json!(true)),
            (
                "bounce.mailboxes".to_string(),
                json!([{"enabled": true, "host": "Mail.Example.com", "port": 995, "username": "Bounces"},
                       {"enabled": false, "host": "other.example.com", "port": 995, "username": "b"}]),
            ),
        ]
        .into();
        let mine = [
            ours("mail.example.com", 995, "bounces", true),
            ours("other.example.com", 995, "b", true),
            ours("mail.example.com", 110, "bounces", true),
        ];
        assert_eq!(scanned_by_both(&rows, &mine), ["bounces@mail.example.com:995"]);
        // Not when rebound's copy is off, nor when listmonk's bounce processing is.
        assert!(scanned_by_both(&rows, &[ours("mail.example.com", 995, "bounces", false)]).is_empty());
        let mut off = rows.clone();
        off.insert("bounce.enabled".into(), json!(false));
        assert!(scanned_by_both(&off, &mine).is_empty());
    }
}
