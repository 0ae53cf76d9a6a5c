//! A posted form to a settings update: each field parsed on its own with
//! the settings' own types, so a bad value is reported at its field; and a
//! validation message about the saved settings back to the field it names.

use std::collections::BTreeMap;

use rebound_core::Settings;
use serde_json::{Map, Value};

use super::json_path::{Seg, segs_at0, set_in, split_name};
use super::schema::{Field, Kind, Section, blank_entry};
use super::view::{has, raw};
use crate::extract::QueryPairs;

/// The update body a posted form means, or the per-field errors that stop it.
pub(super) struct Converted {
    pub(super) update: Map<String, Value>,
    pub(super) errors: BTreeMap<String, String>,
    /// (list key, index in the saved list) -> index in the form, to put
    /// validation messages about the saved list next to the right entry.
    pub(super) positions: Vec<(&'static str, usize, usize)>,
}

pub(super) fn parse_field(f: &Field, form: &QueryPairs) -> Result<Value, String> {
    let v = raw(form, &f.name).trim();
    match f.kind {
        Kind::Bool => Ok(Value::Bool(has(form, &f.name))),
        Kind::Int => v.parse::<i64>().map(Value::from).map_err(|_| {
            if v.is_empty() { "Enter a number.".into() } else { format!("{v:?} is not a whole number.") }
        }),
        Kind::Duration { optional: true } if v.is_empty() => Ok(Value::Null),
        Kind::Json => {
            if v.is_empty() {
                Ok(Value::Array(Vec::new()))
            } else {
                serde_json::from_str(v).map_err(|e| format!("Not valid JSON: {e}"))
            }
        }
        Kind::Hidden if v.is_empty() => Ok(Value::Null),
        // Secrets keep their exact text (spaces may matter).
        Kind::Secret => Ok(Value::String(raw(form, &f.name).to_string())),
        _ => Ok(Value::String(v.to_string())),
    }
}

/// Parses `value` as the settings would, alone: `{top: probe}` where the
/// probe is the current (or blank) value with only this field changed.
pub(super) fn probe(top: &str, base: &Value, segs: &[Seg], value: &Value) -> Result<(), String> {
    let mut probe = base.clone();
    set_in(&mut probe, segs, value.clone());
    let mut m = Map::new();
    m.insert(top.to_string(), probe);
    serde_json::from_value::<Settings>(Value::Object(m)).map(|_| ()).map_err(|e| capitalize(&e.to_string()))
}

pub(super) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

pub(super) fn convert(sections: &[Section], form: &QueryPairs, current: &Map<String, Value>) -> Converted {
    let mut update = Map::new();
    let mut errors = BTreeMap::new();
    let mut positions = Vec::new();
    for s in sections {
        let base_entry = s.entry.as_ref().map(|e| {
            let uuid = raw(form, &format!("{}[{}].uuid", e.key, e.index));
            let existing = current.get(e.key).and_then(|l| l.as_array()).and_then(|l| {
                l.iter().find(|m| !uuid.is_empty() && m.get("uuid").and_then(|u| u.as_str()) == Some(uuid))
            });
            existing.cloned().unwrap_or_else(|| blank_entry(e.key))
        });
        if let Some(e) = &s.entry {
            // A form without this list leaves it alone (every entry, even
            // the blank one, carries a hidden uuid field).
            if !has(form, &format!("{}[{}].uuid", e.key, e.index)) {
                continue;
            }
            // The list is rebuilt from the form: start from empty.
            update.entry(e.key.to_string()).or_insert_with(|| Value::Array(Vec::new()));
            let removed = has(form, &format!("{}[{}].remove", e.key, e.index));
            let blank = raw(form, &format!("{}[{}].host", e.key, e.index)).trim().is_empty();
            if removed || (e.is_new && blank) {
                continue;
            }
        }
        let mut entry = base_entry.clone();
        for f in &s.fields {
            let Some((top, segs)) = split_name(&f.name) else { continue };
            let value = match parse_field(f, form) {
                Ok(v) => v,
                Err(msg) => {
                    errors.insert(f.name.clone(), msg);
                    continue;
                }
            };
            match (&mut entry, segs.split_first()) {
                (Some(entry), Some((Seg::Index(_), rest))) => {
                    if let Err(msg) =
                        probe(&top, &Value::Array(vec![blank_entry(&top)]), &segs_at0(rest), &value)
                    {
                        errors.insert(f.name.clone(), msg);
                        continue;
                    }
                    set_in(entry, rest, value);
                }
                _ => {
                    let base = current.get(&top).cloned().unwrap_or(Value::Null);
                    if let Err(msg) = probe(&top, &base, &segs, &value) {
                        errors.insert(f.name.clone(), msg);
                        continue;
                    }
                    let slot = update.entry(top.clone()).or_insert(base);
                    set_in(slot, &segs, value);
                }
            }
        }
        if let (Some(e), Some(entry)) = (&s.entry, entry)
            && let Some(Value::Array(list)) = update.get_mut(e.key)
        {
            positions.push((e.key, list.len(), e.index));
            list.push(entry);
        }
    }
    Converted { update, errors, positions }
}

/// The field a validation message is about: the longest field name it
/// mentions, after renumbering list entries from saved to form positions.
/// Returns the field's name and the message said about it ("Must be at least 1").
pub(super) fn field_for(
    msg: &str,
    sections: &[Section],
    positions: &[(&'static str, usize, usize)],
) -> Option<(String, String)> {
    let mut m = msg.to_string();
    for (key, saved, _) in positions {
        m = m.replace(&format!("{key}[{saved}]"), &format!("{key}[\u{1}{saved}]"));
    }
    for (key, saved, form) in positions {
        m = m.replace(&format!("{key}[\u{1}{saved}]"), &format!("{key}[{form}]"));
    }
    sections.iter().flat_map(|s| &s.fields).filter(|f| m.contains(&f.name)).max_by_key(|f| f.name.len()).map(
        |f| {
            let rest = m.strip_prefix(&f.name).map(str::trim_start).unwrap_or(&m);
            let rest = rest.strip_prefix("is ").unwrap_or(rest);
            (f.name.clone(), capitalize(rest))
        },
    )
}

#[cfg(test)]
mod tests {
    use rebound_core::secret::SECRET_PLACEHOLDER;

    use super::*;
    use crate::ui::settings::schema::{bounces_schema, smtp_schema};

    fn form(pairs: &[(&str, &str)]) -> QueryPairs {
        QueryPairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn current() -> Map<String, Value> {
        let mut s = Settings::default();
        s.assign_ids();
        match serde_json::to_value(s.masked()).unwrap() {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_form_becomes_a_settings_update() {
        let cur = current();
        let smtp_uuid = cur["smtp"][0]["uuid"].as_str().unwrap().to_string();
        let sections = smtp_schema(1);
        let f = form(&[
            ("smtp[0].uuid", &smtp_uuid),
            ("smtp[0].enabled", "on"),
            ("smtp[0].host", "smtp.example.com"),
            ("smtp[0].port", "587"),
            ("smtp[0].auth_protocol", "plain"),
            ("smtp[0].password", SECRET_PLACEHOLDER),
            ("smtp[0].tls_type", "STARTTLS"),
            ("smtp[0].max_conns", "5"),
            ("smtp[0].max_msg_retries", "2"),
            ("smtp[0].idle_timeout", "15s"),
            ("smtp[0].wait_timeout", "5s"),
            ("smtp[0].email_headers", r#"[{"Return-Path": "b@example.com"}]"#),
            ("smtp[1].uuid", ""),
            ("smtp[1].host", ""),
        ]);
        let c = convert(&sections, &f, &cur);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let list = c.update["smtp"].as_array().unwrap();
        assert_eq!(list.len(), 1, "the blank new entry adds nothing");
        assert_eq!(list[0]["host"], "smtp.example.com");
        assert_eq!(list[0]["port"], 587);
        assert_eq!(list[0]["email_headers"][0]["Return-Path"], "b@example.com");
        let next = Settings::default().apply_update(&c.update).unwrap();
        assert_eq!(next.smtp[0].header("return-path"), Some("b@example.com"));
    }

    #[test]
    fn bad_values_are_reported_at_their_field() {
        let cur = current();
        let sections = bounces_schema(0, "http://x");
        let f = form(&[
            ("bounce.actions.soft.count", "two"),
            ("bounce.actions.soft.action", "none"),
            ("bounce.actions.hard.count", "1"),
            ("bounce.actions.hard.action", "blocklist"),
            ("bounce.actions.hard.window", "soon"),
            ("bounce.actions.complaint.count", "1"),
            ("bounce.actions.complaint.action", "blocklist"),
            ("bounce.mailboxes[0].uuid", ""),
            ("bounce.mailboxes[0].host", "pop.example.com"),
            ("bounce.mailboxes[0].port", "995"),
            ("bounce.mailboxes[0].scan_interval", "often"),
        ]);
        let c = convert(&sections, &f, &cur);
        assert!(c.errors.contains_key("bounce.actions.soft.count"), "{:?}", c.errors);
        assert!(c.errors["bounce.actions.hard.window"].contains("soon"), "{:?}", c.errors);
        assert!(c.errors["bounce.mailboxes[0].scan_interval"].contains("often"), "{:?}", c.errors);
    }

    #[test]
    fn validation_messages_find_their_field() {
        let sections = bounces_schema(3, "http://x");
        let msg = "bounce.actions.soft.count must be at least 1";
        let found = field_for(msg, &sections, &[]).unwrap();
        assert_eq!(found, ("bounce.actions.soft.count".to_string(), "Must be at least 1".to_string()));
        // Entry 0 of the saved list was entry 2 of the form (two were removed).
        let msg = "bounce.mailboxes[0].host is required";
        let pos = [("bounce.mailboxes", 0, 2)];
        let found = field_for(msg, &sections, &pos).unwrap();
        assert_eq!(found, ("bounce.mailboxes[2].host".to_string(), "Required".to_string()));
        assert_eq!(field_for("something else", &sections, &[]), None);
    }
}
