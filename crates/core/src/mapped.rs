//! `bounce.mapped_providers`: webhook providers rebound does not know,
//! described by configuration alone (the generic webhook mapper). The
//! configuration lives here because [`crate::Settings`] holds it; reading a
//! request with it is rebound-providers' `mapper` module. docs/providers.md,
//! section "Generic webhook mapper", describes every option.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{CoreError, Secret};

/// Names of the built-in providers (and presets): a mapped provider may not
/// take one, because its name is also the `source` its bounces are recorded
/// (and de-duplicated) under.
pub const RESERVED_NAMES: &[&str] = &[
    "ses",
    "sendgrid",
    "postmark",
    "forwardemail",
    "azure",
    "lettermint",
    "mailgun",
    "resend",
    "brevo",
    "mailjet",
    "sparkpost",
    "postal",
    "mailersend",
    "smtp2go",
    "zeptomail",
    "elasticemail",
    "mandrill",
    "sendamatic",
    "ses_eventbridge",
    "api",
    "webhook",
    "mailbox",
    "custom",
];

/// One mapped provider, reached at `/webhooks/service/custom/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedProvider {
    /// In the URL and the `source` of its bounces: `[a-z0-9][a-z0-9_-]*`, at most 40.
    pub name: String,
    #[serde(default)]
    pub enabled: bool,
    /// Where the events are in the request.
    #[serde(default)]
    pub events: EventsAt,
    pub fields: FieldMap,
    /// The provider's event names (the value of `fields.event_type`) to what they mean.
    pub types: BTreeMap<String, MappedType>,
    /// What an event whose name is not in `types` is: `ignore` unless set.
    #[serde(default)]
    pub default_type: MappedType,
    pub authentication: Authentication,
    /// A signed timestamp header refused outside a window (replays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimestampCheck>,
    /// The webhook URL exactly as the provider was given it, for `{url}` in
    /// an HMAC template (Mandrill signs it; behind a proxy rebound cannot know it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
}

/// Where the events are. `pointer` is a JSON pointer (RFC 6901) to one event
/// object or an array of them; "" is the whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "in", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventsAt {
    /// The body is JSON.
    Body {
        #[serde(default)]
        pointer: String,
    },
    /// The body is `application/x-www-form-urlencoded`; `field` holds JSON (Mandrill's `mandrill_events`).
    FormField {
        field: String,
        #[serde(default)]
        pointer: String,
    },
    /// The body is a form whose fields are one event (`{"event": "bounce", ...}`, all strings).
    Form,
    /// The query string's parameters are one event (providers that notify by URL parameters).
    Query,
}

impl Default for EventsAt {
    fn default() -> Self {
        EventsAt::Body { pointer: String::new() }
    }
}

/// Where each field of an event is. Each is a [`ValueSource`] string:
/// `/a/b` is a JSON pointer into the event, `root:/a/b` one into the whole
/// document, `header:Name` a request header; "" (or absent) is none.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldMap {
    /// The recipient (required).
    pub address: String,
    /// The event's name, looked up in `types` (required). A list joins the
    /// values found with `:` (e.g. `["/event", "/bounce"]` gives `bounce:hard`).
    pub event_type: OneOrMany,
    /// The provider's event id (de-duplication; a list joins its parts with
    /// `:`); without it the id is a hash of the event.
    pub event_id: OneOrMany,
    /// When it happened: unix seconds or milliseconds, or RFC 3339.
    pub timestamp: String,
    /// The remote server's words, kept in `meta.diagnostic`.
    pub diagnostic: String,
    /// An SMTP status or code, kept in `meta.status`.
    pub status: String,
    /// The campaign uuid: a bare uuid, an object with a `listmonk_campaign`-like key, or `key=value` text.
    pub campaign: String,
}

/// A string or a list of strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::One(String::new())
    }
}

impl OneOrMany {
    pub fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Where a field's value comes from, parsed from its configuration string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSource<'a> {
    None,
    /// A JSON pointer into the event.
    Event(&'a str),
    /// A JSON pointer into the whole document.
    Root(&'a str),
    /// A request header.
    Header(&'a str),
}

impl<'a> ValueSource<'a> {
    pub fn parse(s: &'a str) -> Result<ValueSource<'a>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(ValueSource::None);
        }
        if let Some(h) = s.strip_prefix("header:") {
            let h = h.trim();
            return if valid_header_name(h) {
                Ok(ValueSource::Header(h))
            } else {
                Err(format!("{s:?}: not a header name"))
            };
        }
        if let Some(p) = s.strip_prefix("root:") {
            return if p.is_empty() || p.starts_with('/') {
                Ok(ValueSource::Root(p))
            } else {
                Err(format!("{s:?}: a JSON pointer starts with /"))
            };
        }
        if s.starts_with('/') {
            return Ok(ValueSource::Event(s));
        }
        Err(format!("{s:?}: expected a JSON pointer (/a/b), root:/a/b or header:Name"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MappedType {
    Hard,
    Soft,
    Complaint,
    #[default]
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HmacAlgorithm {
    #[default]
    Sha256,
    Sha1,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Hex,
    Base64,
}

/// How the HMAC key is written in `key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyEncoding {
    /// The key's UTF-8 bytes, as most providers show it.
    #[default]
    Text,
    Hex,
    Base64,
}

/// How requests are authenticated. Every comparison is constant-time and
/// happens over the raw request before anything is parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Authentication {
    /// An HMAC of the body, or of `signed` (a template: `{body}`,
    /// `{header:Name}`, `{query:name}`, `{url}`, `{form_sorted}`, and text),
    /// in `header`, after an optional `prefix` such as `sha256=`.
    Hmac {
        #[serde(default)]
        algorithm: HmacAlgorithm,
        key: Secret,
        #[serde(default)]
        key_encoding: KeyEncoding,
        header: String,
        #[serde(default)]
        prefix: String,
        /// The header is `k=v` pairs separated by `;` or `,` (ZeptoMail's
        /// `ts=...;s=...`): the signature is the value of this one.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        param: String,
        #[serde(default)]
        encoding: Encoding,
        #[serde(default = "body_template")]
        signed: String,
    },
    /// HTTP basic credentials (in the webhook URL, `https://user:pass@host/...`).
    Basic { username: String, password: Secret },
    /// `Authorization: Bearer <token>`.
    Bearer { token: Secret },
    /// A shared secret in a header (`Name: secret`).
    Header { header: String, secret: Secret },
    /// A shared secret in a query parameter (`?key=secret`).
    Query { parameter: String, secret: Secret },
    /// Nothing: anyone who knows the URL can record bounces. Refused unless
    /// `i_understand_anyone_can_post` is true.
    None {
        #[serde(default)]
        i_understand_anyone_can_post: bool,
    },
}

fn body_template() -> String {
    "{body}".to_string()
}

impl Authentication {
    pub fn secret_mut(&mut self) -> Option<&mut Secret> {
        match self {
            Authentication::Hmac { key, .. } => Some(key),
            Authentication::Basic { password, .. } => Some(password),
            Authentication::Bearer { token } => Some(token),
            Authentication::Header { secret, .. } | Authentication::Query { secret, .. } => Some(secret),
            Authentication::None { .. } => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Authentication::Hmac { .. } => "hmac",
            Authentication::Basic { .. } => "basic",
            Authentication::Bearer { .. } => "bearer",
            Authentication::Header { .. } => "header",
            Authentication::Query { .. } => "query",
            Authentication::None { .. } => "none",
        }
    }
}

/// A timestamp header checked against `tolerance` (default `bounce.webhook_tolerance`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampCheck {
    pub header: String,
    /// As for the HMAC header: the timestamp is this `k=v` pair's value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub param: String,
    #[serde(default, with = "crate::duration::optional", skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Duration>,
}

/// One piece of an HMAC template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart<'a> {
    Text(String),
    Body,
    Header(&'a str),
    Query(&'a str),
    Url,
    FormSorted,
}

/// Parses an HMAC template. `{{` and `}}` are literal braces.
pub fn parse_template(t: &str) -> Result<Vec<TemplatePart<'_>>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = t;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            text.push(c);
            rest = &rest[2..];
            continue;
        }
        if c == '}' {
            return Err(format!("template {t:?}: unmatched }}"));
        }
        if c != '{' {
            text.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = rest.find('}').ok_or_else(|| format!("template {t:?}: unclosed {{"))?;
        let name = &rest[1..end];
        rest = &rest[end + 1..];
        if !text.is_empty() {
            parts.push(TemplatePart::Text(std::mem::take(&mut text)));
        }
        parts.push(match name {
            "body" => TemplatePart::Body,
            "url" => TemplatePart::Url,
            "form_sorted" => TemplatePart::FormSorted,
            _ => {
                if let Some(h) = name.strip_prefix("header:").filter(|h| valid_header_name(h)) {
                    TemplatePart::Header(h)
                } else if let Some(q) = name.strip_prefix("query:").filter(|q| !q.is_empty()) {
                    TemplatePart::Query(q)
                } else {
                    return Err(format!(
                        "template {t:?}: unknown placeholder {{{name}}} (body, url, form_sorted, \
                         header:Name, query:name)"
                    ));
                }
            }
        });
    }
    if !text.is_empty() {
        parts.push(TemplatePart::Text(text));
    }
    Ok(parts)
}

fn valid_header_name(h: &str) -> bool {
    !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl MappedProvider {
    /// Refuses a configuration that could not work or could not verify
    /// anything. `at` names it in the message (`bounce.mapped_providers[0]`).
    pub fn validate(&self, at: &str) -> Result<(), CoreError> {
        let bad = |msg: String| Err(CoreError::invalid(format!("{at}: {msg}")));
        let n = &self.name;
        let name_ok = !n.is_empty()
            && n.len() <= 40
            && n.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return bad(format!(
                "name {n:?} must be 1 to 40 of a-z, 0-9, - and _, starting with a letter or digit"
            ));
        }
        if RESERVED_NAMES.contains(&n.as_str()) {
            return bad(format!("name {n:?} is a built-in provider's"));
        }
        match &self.events {
            EventsAt::Body { pointer } | EventsAt::FormField { pointer, .. }
                if !(pointer.is_empty() || pointer.starts_with('/')) =>
            {
                return bad(format!("events.pointer {pointer:?} must be empty or start with /"));
            }
            EventsAt::FormField { field, .. } if field.trim().is_empty() => {
                return bad("events.field is required when events are in a form field".into());
            }
            _ => {}
        }
        let f = &self.fields;
        // Ok(true) when the field is unset.
        let check = |name: &str, v: &str| {
            ValueSource::parse(v).map(|s| s == ValueSource::None).map_err(|e| format!("fields.{name}: {e}"))
        };
        let mut sources = vec![
            ("address", check("address", &f.address)),
            ("timestamp", check("timestamp", &f.timestamp)),
            ("diagnostic", check("diagnostic", &f.diagnostic)),
            ("status", check("status", &f.status)),
            ("campaign", check("campaign", &f.campaign)),
        ];
        for t in f.event_type.items() {
            sources.push(("event_type", check("event_type", t)));
        }
        for t in f.event_id.items() {
            sources.push(("event_id", check("event_id", t)));
        }
        for (name, s) in &sources {
            match s {
                Err(e) => return bad(e.clone()),
                Ok(true) if *name == "address" || *name == "event_type" => {
                    return bad(format!("fields.{name} is required"));
                }
                _ => {}
            }
        }
        if f.event_type.items().is_empty() {
            return bad("fields.event_type is required".into());
        }
        let records = |t: &MappedType| *t != MappedType::Ignore;
        if !self.types.values().any(records) && !records(&self.default_type) {
            return bad(
                "types maps no event name to hard, soft or complaint: nothing would be recorded".into()
            );
        }
        let header_ok = |h: &str, what: &str| {
            if valid_header_name(h.trim()) {
                Ok(())
            } else {
                Err(format!("{what} {h:?} is not a header name"))
            }
        };
        let r = match &self.authentication {
            Authentication::Hmac { key, key_encoding, header, signed, .. } => {
                header_ok(header, "authentication.header").and_then(|()| {
                    let parts = parse_template(signed)?;
                    if parts.is_empty() {
                        return Err("authentication.signed is empty".into());
                    }
                    if parts.contains(&TemplatePart::Url) && self.url.trim().is_empty() {
                        return Err("authentication.signed uses {url}: set url to the webhook URL as the provider has it".into());
                    }
                    let signs_content = parts
                        .iter()
                        .any(|p| matches!(p, TemplatePart::Body | TemplatePart::FormSorted));
                    if !signs_content {
                        return Err("authentication.signed signs neither {body} nor {form_sorted}: the events would not be verified".into());
                    }
                    if key.is_empty() {
                        return Err("authentication.key is required".into());
                    }
                    if !key.is_placeholder() {
                        decode_key(key.expose(), *key_encoding)
                            .map(|_| ())
                            .map_err(|e| format!("authentication.key: {e}"))?;
                    }
                    Ok(())
                })
            }
            Authentication::Basic { password, .. } if password.is_empty() => {
                Err("authentication.password is required".into())
            }
            Authentication::Bearer { token } if token.is_empty() => Err("authentication.token is required".into()),
            Authentication::Header { header, secret } => header_ok(header, "authentication.header").and_then(|()| {
                if secret.is_empty() { Err("authentication.secret is required".into()) } else { Ok(()) }
            }),
            Authentication::Query { parameter, secret } => {
                if parameter.trim().is_empty() {
                    Err("authentication.parameter is required".into())
                } else if secret.is_empty() {
                    Err("authentication.secret is required".into())
                } else {
                    Ok(())
                }
            }
            Authentication::None { i_understand_anyone_can_post: false } => Err(
                "authentication is none: anyone who finds the URL could record bounces; configure hmac, basic, \
                 bearer, header or query authentication, or say {\"type\": \"none\", \
                 \"i_understand_anyone_can_post\": true}"
                    .into(),
            ),
            _ => Ok(()),
        };
        if let Err(e) = r {
            return bad(e);
        }
        if let Some(ts) = &self.timestamp {
            if let Err(e) = header_ok(&ts.header, "timestamp.header") {
                return bad(e);
            }
            if ts.tolerance.is_some_and(|t| t.is_zero()) {
                return bad("timestamp.tolerance must be more than 0s".into());
            }
        }
        Ok(())
    }

    /// Keeps the stored secret when the client sent the placeholder or ""
    /// back for the same provider (matched by name) with the same kind of
    /// authentication.
    pub fn keep_secret_from(&mut self, old: &[MappedProvider]) {
        let prev =
            old.iter().find(|o| o.name == self.name && o.authentication.kind() == self.authentication.kind());
        let mut prev = prev.cloned();
        let stored = prev.as_mut().and_then(|p| p.authentication.secret_mut()).cloned().unwrap_or_default();
        if let Some(s) = self.authentication.secret_mut() {
            s.keep_unless_changed(&stored);
        }
    }
}

/// The HMAC key's bytes.
pub fn decode_key(key: &str, enc: KeyEncoding) -> Result<Vec<u8>, String> {
    match enc {
        KeyEncoding::Text => Ok(key.as_bytes().to_vec()),
        KeyEncoding::Hex => {
            let k = key.trim();
            if !k.len().is_multiple_of(2) || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("not hex".into());
            }
            Ok((0..k.len()).step_by(2).map(|i| u8::from_str_radix(&k[i..i + 2], 16).unwrap_or(0)).collect())
        }
        KeyEncoding::Base64 => base64_decode(key.trim()).ok_or_else(|| "not base64".into()),
    }
}

/// Standard or URL-safe base64, padding optional (core has no base64 crate).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    Some(out)
}

/// Validates every entry and refuses two with one name.
pub fn validate_all(list: &[MappedProvider]) -> Result<(), CoreError> {
    for (i, p) in list.iter().enumerate() {
        let at = format!("bounce.mapped_providers[{i}]");
        p.validate(&at)?;
        if list[..i].iter().any(|o| o.name == p.name) {
            return Err(CoreError::invalid(format!("{at}: name {:?} is used twice", p.name)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({
            "name": "acme", "enabled": true,
            "events": {"in": "body", "pointer": "/events"},
            "fields": {"address": "/recipient", "event_type": "/type", "event_id": "/id"},
            "types": {"bounce": "hard", "deferred": "soft"},
            "authentication": {"type": "hmac", "key": "k", "header": "X-Sig", "prefix": "sha256="}
        })
    }

    fn check(v: serde_json::Value) -> Result<(), String> {
        let p: MappedProvider = serde_json::from_value(v).map_err(|e| e.to_string())?;
        p.validate("p").map_err(|e| e.to_string())
    }

    #[test]
    fn a_good_configuration_passes() {
        check(base()).unwrap();
    }

    #[test]
    fn no_authentication_is_refused_unless_said_explicitly() {
        let mut v = base();
        v["authentication"] = json!({"type": "none"});
        let err = check(v.clone()).unwrap_err();
        assert!(err.contains("i_understand_anyone_can_post"), "{err}");
        v["authentication"] = json!({"type": "none", "i_understand_anyone_can_post": false});
        assert!(check(v.clone()).is_err());
        v["authentication"] = json!({"type": "none", "i_understand_anyone_can_post": true});
        check(v).unwrap();
    }

    #[test]
    fn configurations_that_cannot_work_are_refused() {
        let cases = [
            ("/name", json!("ses"), "built-in"),
            ("/name", json!("Acme Corp"), "a-z"),
            ("/fields/address", json!(""), "fields.address is required"),
            ("/fields/event_type", json!("type"), "JSON pointer"),
            ("/types", json!({"bounce": "ignore"}), "nothing would be recorded"),
            ("/authentication/key", json!(""), "key is required"),
            ("/authentication/signed", json!("{header:X-Ts}"), "neither {body}"),
            ("/authentication/signed", json!("{url}{body}"), "set url"),
            ("/authentication/signed", json!("{nope}"), "unknown placeholder"),
            ("/authentication/header", json!("bad header"), "not a header name"),
        ];
        for (ptr, val, want) in cases {
            let mut v = base();
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            v.pointer_mut(parent).unwrap_or_else(|| panic!("{ptr}"))[key] = val;
            let err = check(v).unwrap_err();
            assert!(err.contains(want), "{ptr}: {err}");
        }
        let mut v = base();
        v["surprise"] = json!(1);
        assert!(check(v).unwrap_err().contains("unknown field"));
        let mut v = base();
        v["authentication"] = json!({"type": "basic", "username": "u", "password": ""});
        assert!(check(v).unwrap_err().contains("password is required"));
    }

    #[test]
    fn templates() {
        assert_eq!(
            parse_template("{header:X-Ts}.{body}").unwrap(),
            vec![TemplatePart::Header("X-Ts"), TemplatePart::Text(".".into()), TemplatePart::Body]
        );
        assert_eq!(
            parse_template("{{x}}{url}").unwrap(),
            vec![TemplatePart::Text("{x}".into()), TemplatePart::Url]
        );
        assert!(parse_template("{body").is_err());
        assert!(parse_template("a}b").is_err());
    }

    #[test]
    fn keys_decode() {
        assert_eq!(decode_key("6b6579", KeyEncoding::Hex).unwrap(), b"key");
        assert_eq!(decode_key("a2V5", KeyEncoding::Base64).unwrap(), b"key");
        assert_eq!(decode_key("aGVsbG8gd29ybGQ=", KeyEncoding::Base64).unwrap(), b"hello world");
        assert!(decode_key("zz", KeyEncoding::Hex).is_err());
        assert!(decode_key("a", KeyEncoding::Base64).is_err());
    }

    #[test]
    fn the_secret_is_kept_by_name_and_kind() {
        let old: MappedProvider = serde_json::from_value(base()).unwrap();
        let mut back = old.clone();
        *back.authentication.secret_mut().unwrap() = Secret::new(crate::secret::SECRET_PLACEHOLDER);
        back.keep_secret_from(std::slice::from_ref(&old));
        assert_eq!(back.authentication.secret_mut().unwrap().expose(), "k");
        let mut renamed = back.clone();
        renamed.name = "other".into();
        *renamed.authentication.secret_mut().unwrap() = Secret::new(crate::secret::SECRET_PLACEHOLDER);
        renamed.keep_secret_from(std::slice::from_ref(&old));
        // Another provider: the placeholder keeps nothing (and validation asks for the key).
        assert!(renamed.authentication.secret_mut().unwrap().is_empty());
    }
}
