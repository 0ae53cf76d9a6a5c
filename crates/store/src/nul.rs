//! U+0000 in stored text. PostgreSQL's `text` and `jsonb` refuse it (the
//! whole statement fails, and with it every event of a group-committed
//! batch); SQLite keeps it. Anyone can put one in a bounce message or a
//! provider payload, so both backends store it as U+FFFD instead: the rest
//! of the text stays readable, and both backends read back the same.

use std::borrow::Cow;

use rebound_core::BounceEvent;
use serde_json::Value;

use crate::NewMailboxMessage;

const NUL: char = '\u{0}';
const REPLACEMENT: &str = "\u{fffd}";

pub(crate) fn clean_str(s: &str) -> Cow<'_, str> {
    if s.contains(NUL) { Cow::Owned(s.replace(NUL, REPLACEMENT)) } else { Cow::Borrowed(s) }
}

fn json_has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(NUL),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains(NUL) || json_has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn clean_json_owned(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(clean_str(s).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(clean_json_owned).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (clean_str(k).into_owned(), clean_json_owned(v))).collect())
        }
        other => other.clone(),
    }
}

pub(crate) fn clean_json(v: &Value) -> Cow<'_, Value> {
    if json_has_nul(v) { Cow::Owned(clean_json_owned(v)) } else { Cow::Borrowed(v) }
}

fn event_has_nul(e: &BounceEvent) -> bool {
    e.source.contains(NUL)
        || e.event_id.as_deref().is_some_and(|id| id.contains(NUL))
        || json_has_nul(&e.meta)
}

/// The events as they are stored; copied only when one holds a U+0000.
/// (E-mail addresses cannot hold one: `EmailAddress` refuses control characters.)
pub(crate) fn clean_events(events: &[BounceEvent]) -> Cow<'_, [BounceEvent]> {
    if !events.iter().any(event_has_nul) {
        return Cow::Borrowed(events);
    }
    Cow::Owned(
        events
            .iter()
            .map(|e| BounceEvent {
                source: clean_str(&e.source).into_owned(),
                event_id: e.event_id.as_deref().map(|id| clean_str(id).into_owned()),
                meta: clean_json(&e.meta).into_owned(),
                ..e.clone()
            })
            .collect(),
    )
}

/// A kept message's text as it is stored (its raw bytes are kept as they are).
pub(crate) fn clean_message(m: &NewMailboxMessage) -> Cow<'_, NewMailboxMessage> {
    let dirty = [&m.source, &m.digest, &m.reason].iter().any(|s| s.contains(NUL)) || json_has_nul(&m.meta);
    if !dirty {
        return Cow::Borrowed(m);
    }
    Cow::Owned(NewMailboxMessage {
        source: clean_str(&m.source).into_owned(),
        digest: clean_str(&m.digest).into_owned(),
        reason: clean_str(&m.reason).into_owned(),
        meta: clean_json(&m.meta).into_owned(),
        ..m.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_nul_is_replaced_and_clean_values_are_not_copied() {
        assert!(matches!(clean_str("plain"), Cow::Borrowed(_)));
        assert_eq!(clean_str("a\0b\0"), "a\u{fffd}b\u{fffd}");
        let v = json!({"k\0": ["x\0", 1, null, {"n": "\0"}], "ok": "fine"});
        assert_eq!(
            clean_json(&v).into_owned(),
            json!({"k\u{fffd}": ["x\u{fffd}", 1, null, {"n": "\u{fffd}"}], "ok": "fine"})
        );
        let clean = json!({"a": ["b"]});
        assert!(matches!(clean_json(&clean), Cow::Borrowed(_)));
    }
}
