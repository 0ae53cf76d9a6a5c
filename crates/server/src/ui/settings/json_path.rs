//! Field names as paths into the settings JSON: `bounce.mailboxes[0].host`
//! is the key `bounce.mailboxes`, index 0, key `host`. Reading and writing
//! a value at such a path.

use rebound_core::Settings;
use serde_json::{Map, Value};

pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// `bounce.mailboxes[0].host` -> ("bounce.mailboxes", [Index(0), Key("host")]).
/// Settings keys contain dots themselves, so the longest known key wins.
pub(super) fn split_name(name: &str) -> Option<(String, Vec<Seg>)> {
    let keys = Settings::keys();
    let top = keys
        .iter()
        .filter(|k| {
            name == k.as_str()
                || name.strip_prefix(k.as_str()).is_some_and(|r| r.starts_with('.') || r.starts_with('['))
        })
        .max_by_key(|k| k.len())?
        .clone();
    let mut rest = &name[top.len()..];
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let (n, r) = r.split_once(']')?;
            segs.push(Seg::Index(n.parse().ok()?));
            rest = r;
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            segs.push(Seg::Key(r[..end].to_string()));
            rest = &r[end..];
        } else {
            return None;
        }
    }
    Some((top, segs))
}

pub(super) fn get_in<'a>(v: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    segs.iter().try_fold(v, |v, s| match s {
        Seg::Key(k) => v.get(k),
        Seg::Index(i) => v.get(i),
    })
}

pub(super) fn set_in(v: &mut Value, segs: &[Seg], new: Value) {
    let Some((first, rest)) = segs.split_first() else {
        *v = new;
        return;
    };
    match first {
        Seg::Key(k) => {
            if !v.is_object() {
                *v = Value::Object(Map::new());
            }
            if let Value::Object(m) = v {
                set_in(m.entry(k.clone()).or_insert(Value::Null), rest, new);
            }
        }
        Seg::Index(i) => {
            if let Value::Array(a) = v
                && let Some(slot) = a.get_mut(*i)
            {
                set_in(slot, rest, new);
            }
        }
    }
}

/// `[Index(0)] + rest`: a field of the first entry of a one-entry probe list.
pub(super) fn segs_at0(rest: &[Seg]) -> Vec<Seg> {
    let mut v = vec![Seg::Index(0)];
    v.extend(rest.iter().map(|s| match s {
        Seg::Key(k) => Seg::Key(k.clone()),
        Seg::Index(i) => Seg::Index(*i),
    }));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_the_longest_settings_key() {
        let (top, segs) = split_name("bounce.actions.soft.count").unwrap();
        assert_eq!(top, "bounce.actions");
        assert!(matches!(&segs[..], [Seg::Key(a), Seg::Key(b)] if a == "soft" && b == "count"));
        let (top, segs) = split_name("bounce.mailboxes[2].host").unwrap();
        assert_eq!(top, "bounce.mailboxes");
        assert!(matches!(&segs[..], [Seg::Index(2), Seg::Key(h)] if h == "host"));
        assert_eq!(split_name("bounce.enabled").unwrap().0, "bounce.enabled");
        assert!(split_name("bounce.nope").is_none());
    }
}
