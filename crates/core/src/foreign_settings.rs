//! Settings keys rebound does not use (listmonk's `app.*`, `privacy.*`,
//! `security.*`, `upload.*`, `messengers`, `appearance.*`, ...). They are
//! kept as they came, so a listmonk database keeps them through a save and
//! listmonk's UI finds them again; the secrets among them are masked and
//! kept the way listmonk's settings handlers mask and keep them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::CoreError;
use crate::secret::{SECRET_PLACEHOLDER, Secret};

/// Where a secret sits in a key rebound does not use, as listmonk's
/// GET /api/settings masks it.
struct ForeignSecret {
    key: &'static str,
    /// Each entry of a list (matched across a save by `uuid`, else by
    /// position) rather than the value itself.
    per_entry: bool,
    /// The path to the secret inside the value (or the entry); empty: the
    /// value is the secret.
    path: &'static [&'static str],
    /// The fields naming the server the secret is sent to: the stored
    /// secret is kept only while they are unchanged, so whoever may edit
    /// the settings without reading them cannot point the secret at a
    /// server of their own (rebound does the same for mailboxes and SMTP).
    bound_to: &'static [&'static str],
}

const SECRETS: &[ForeignSecret] = &[
    ForeignSecret { key: "upload.s3.aws_secret_access_key", per_entry: false, path: &[], bound_to: &[] },
    ForeignSecret { key: "security.captcha", per_entry: false, path: &["hcaptcha", "secret"], bound_to: &[] },
    ForeignSecret {
        key: "security.oidc",
        per_entry: false,
        path: &["client_secret"],
        bound_to: &["provider_url", "client_id"],
    },
    ForeignSecret {
        key: "messengers",
        per_entry: true,
        path: &["password"],
        bound_to: &["root_url", "username"],
    },
];

/// Replaces every known secret in `other` with the placeholder ("" stays "").
pub(crate) fn mask(other: &mut BTreeMap<String, Value>) {
    for s in SECRETS {
        let Some(value) = other.get_mut(s.key) else { continue };
        for v in targets(value, s) {
            if let Some(slot) = at_mut(v, s.path)
                && slot.as_str().is_some_and(|t| !t.is_empty())
            {
                *slot = Value::String(SECRET_PLACEHOLDER.to_string());
            }
        }
    }
}

/// A secret sent back as the placeholder or "" keeps its stored value, as in
/// listmonk; a secret of a server that changed must be typed again.
pub(crate) fn keep_secrets(
    new: &mut BTreeMap<String, Value>,
    old: &BTreeMap<String, Value>,
) -> Result<(), CoreError> {
    for s in SECRETS {
        let (Some(value), Some(stored)) = (new.get_mut(s.key), old.get(s.key)) else { continue };
        if s.per_entry {
            let (Some(entries), Some(stored)) = (value.as_array_mut(), stored.as_array()) else { continue };
            for (i, entry) in entries.iter_mut().enumerate() {
                let uuid = entry.get("uuid").and_then(Value::as_str).filter(|u| !u.is_empty());
                let prev = match uuid {
                    Some(u) => stored.iter().find(|o| o.get("uuid").and_then(Value::as_str) == Some(u)),
                    None => stored.get(i),
                };
                if let Some(prev) = prev {
                    keep_one(entry, prev, s, &format!("{}[{i}].{}", s.key, s.path.join(".")))?;
                }
            }
        } else {
            let field =
                if s.path.is_empty() { s.key.to_string() } else { format!("{}.{}", s.key, s.path.join(".")) };
            keep_one(value, stored, s, &field)?;
        }
    }
    Ok(())
}

/// Refuses a value whose JSON type differs from the stored one: listmonk
/// reads these keys into typed fields, and one it cannot read (a string
/// for `app.concurrency`) stops it loading any setting.
pub(crate) fn check_types(
    update: &BTreeMap<String, Value>,
    stored: &BTreeMap<String, Value>,
) -> Result<(), CoreError> {
    for (k, v) in update {
        let Some(old) = stored.get(k) else { continue };
        if !v.is_null() && !old.is_null() && kind(v) != kind(old) {
            return Err(CoreError::invalid(format!(
                "invalid value for {k}: expected {}, as stored, not {}",
                kind(old),
                kind(v)
            )));
        }
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn keep_one(value: &mut Value, stored: &Value, s: &ForeignSecret, field: &str) -> Result<(), CoreError> {
    let same_server = s.bound_to.iter().all(|f| value.get(f) == stored.get(f));
    let Some(stored_secret) = at(stored, s.path).and_then(Value::as_str) else { return Ok(()) };
    let Some(slot) = at_mut(value, s.path) else { return Ok(()) };
    let Some(sent) = slot.as_str() else { return Ok(()) };
    let sent = Secret::new(sent);
    if same_server {
        if sent.is_placeholder() || sent.is_empty() {
            *slot = Value::String(stored_secret.to_string());
        }
    } else if sent.is_placeholder() && !stored_secret.is_empty() {
        return Err(CoreError::invalid(format!(
            "{field} must be entered again: the server it is sent to changed, and a stored secret \
             is kept only for the server it was saved for"
        )));
    } else if sent.is_placeholder() {
        *slot = Value::String(String::new());
    }
    Ok(())
}

/// The values a secret rule applies to: the value itself or each entry.
fn targets<'a>(value: &'a mut Value, s: &ForeignSecret) -> Vec<&'a mut Value> {
    match (s.per_entry, value) {
        (true, Value::Array(entries)) => entries.iter_mut().collect(),
        (true, _) => Vec::new(),
        (false, v) => vec![v],
    }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, seg| v.get(seg))
}

fn at_mut<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, seg| v.get_mut(seg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn listmonks_secrets_are_masked_and_kept() {
        let stored = map(json!({
            "upload.s3.aws_secret_access_key": "s3-secret",
            "security.captcha": {"altcha": {"enabled": false}, "hcaptcha": {"enabled": true, "key": "k", "secret": "hc-secret"}},
            "security.oidc": {"enabled": true, "provider_url": "https://id.example", "client_id": "c", "client_secret": "oidc-secret"},
            "messengers": [{"uuid": "m1", "root_url": "https://sms.example", "username": "u", "password": "msg-secret"}],
            "app.site_name": "Mailing list"
        }));
        let mut shown = stored.clone();
        mask(&mut shown);
        let text = serde_json::to_string(&shown).unwrap();
        for secret in ["s3-secret", "hc-secret", "oidc-secret", "msg-secret"] {
            assert!(!text.contains(secret), "{secret} shown: {text}");
        }
        assert_eq!(shown["app.site_name"], "Mailing list");
        assert_eq!(shown["security.captcha"]["hcaptcha"]["key"], "k");

        // Sent back masked, or as "" (listmonk's UI), every secret is kept.
        let mut back = shown.clone();
        keep_secrets(&mut back, &stored).unwrap();
        assert_eq!(back, stored);
        let mut emptied = shown;
        emptied.insert("upload.s3.aws_secret_access_key".into(), json!(""));
        emptied.get_mut("messengers").unwrap()[0]["password"] = json!("");
        keep_secrets(&mut emptied, &stored).unwrap();
        assert_eq!(emptied, stored);
    }

    #[test]
    fn a_secret_stays_with_its_server() {
        let stored = map(json!({
            "messengers": [{"uuid": "m1", "root_url": "https://sms.example", "username": "u", "password": "msg-secret"}]
        }));
        let mut shown = stored.clone();
        mask(&mut shown);
        shown.get_mut("messengers").unwrap()[0]["root_url"] = json!("https://listener.evil.example");
        let err = keep_secrets(&mut shown.clone(), &stored).unwrap_err().to_string();
        assert!(err.contains("messengers[0].password") && err.contains("entered again"), "{err}");
        // "" for the moved entry leaves it without a password.
        shown.get_mut("messengers").unwrap()[0]["password"] = json!("");
        keep_secrets(&mut shown, &stored).unwrap();
        assert_eq!(shown["messengers"][0]["password"], "");
    }

    #[test]
    fn a_value_listmonk_could_not_read_is_refused() {
        let stored = map(json!({"app.concurrency": 10, "app.notify_emails": []}));
        let err = check_types(&map(json!({"app.concurrency": "ten"})), &stored).unwrap_err().to_string();
        assert!(err.contains("app.concurrency") && err.contains("a number"), "{err}");
        check_types(&map(json!({"app.concurrency": 20, "app.new_key": "x"})), &stored).unwrap();
    }
}
