//! A campaign's create and update body, read and checked as listmonk's
//! `validateCampaignFields` does, into the fields the store keeps.

use chrono::{DateTime, FixedOffset, Utc};
use rebound_core::EmailAddress;
use rebound_store::{Campaign, CampaignFields};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{ServiceError, ServiceResult};

pub const CONTENT_TYPES: [&str; 5] = ["richtext", "html", "plain", "markdown", "visual"];

/// listmonk's longest name (its `stdInputMaxLen`) and subject.
const NAME_MAX: usize = 2000;
const SUBJECT_MAX: usize = 5000;

/// The template a campaign gets when none is named: listmonk's default
/// campaign template, id 1 in a new listmonk database. rebound keeps no
/// templates; the id is kept for listmonk and its typed clients, which
/// require one.
pub const DEFAULT_TEMPLATE_ID: i64 = 1;

pub(super) const HEADERS_SHAPE: &str = "headers must be a JSON array of {\"Name\": \"value\"} objects";

/// The body of POST and PUT /api/campaigns (and the create form). Fields
/// listmonk takes that rebound has no use for (`media`, `send_later`) are
/// accepted and ignored.
#[derive(Debug, Default, Deserialize)]
pub struct CampaignInput {
    pub name: Option<String>,
    pub subject: Option<String>,
    /// Empty: the `app.from_email` setting.
    pub from_email: Option<String>,
    pub body: Option<String>,
    pub body_source: Option<String>,
    pub altbody: Option<String>,
    /// Empty: richtext.
    pub content_type: Option<String>,
    /// regular (the default) or optin; fixed once created.
    #[serde(rename = "type")]
    pub campaign_type: Option<String>,
    /// Empty: email.
    pub messenger: Option<String>,
    pub template_id: Option<i64>,
    pub send_at: Option<DateTime<FixedOffset>>,
    pub headers: Option<Value>,
    pub attribs: Option<Value>,
    pub tags: Option<Vec<String>>,
    pub archive: Option<bool>,
    pub archive_slug: Option<String>,
    pub archive_template_id: Option<i64>,
    pub archive_meta: Option<Value>,
    /// List ids; required, ids of no list are left out.
    pub lists: Option<Vec<i64>>,
}

/// The fields listmonk reads into a plain Go string: a JSON null leaves
/// the stored value, where for its nullable fields null clears it.
const NULL_KEEPS: [&str; 8] =
    ["name", "subject", "from_email", "body", "content_type", "type", "messenger", "archive"];

impl CampaignInput {
    /// An update body over the stored campaign, as listmonk binds the
    /// request into the campaign it read: the fields sent replace the
    /// stored ones, the others stay. The lists are the body's alone.
    pub fn over(stored: &Campaign, body: Map<String, Value>) -> ServiceResult<CampaignInput> {
        let Value::Object(mut merged) = serde_json::to_value(stored).map_err(ServiceError::internal)? else {
            return Err(ServiceError::internal(anyhow::anyhow!("a campaign is not a JSON object")));
        };
        merged.remove("lists");
        for (k, v) in body {
            if v.is_null() && NULL_KEEPS.contains(&k.as_str()) {
                continue;
            }
            merged.insert(k, v);
        }
        serde_json::from_value(Value::Object(merged))
            .map_err(|e| ServiceError::invalid("campaign", format!("invalid campaign: {e}")))
    }

    /// The checked fields, with listmonk's defaults; `default_from` is the
    /// `app.from_email` setting.
    pub fn into_fields(self, default_from: &str, now: DateTime<Utc>) -> ServiceResult<CampaignFields> {
        let fields = self.checked(default_from, now)?;
        for (field, text) in [
            ("name", fields.name.as_str()),
            ("subject", &fields.subject),
            ("from_email", &fields.from_email),
            ("body", &fields.body),
            ("body_source", fields.body_source.as_deref().unwrap_or("")),
            ("altbody", fields.altbody.as_deref().unwrap_or("")),
            ("messenger", &fields.messenger),
            ("archive_slug", fields.archive_slug.as_deref().unwrap_or("")),
        ] {
            no_nul(field, text)?;
        }
        for (field, v) in [
            ("headers", &fields.headers),
            ("attribs", &fields.attribs),
            ("archive_meta", &fields.archive_meta),
        ] {
            if json_has_nul(v) {
                return Err(ServiceError::invalid(
                    field,
                    format!("{field} must not contain the character U+0000"),
                ));
            }
        }
        check_tags(&fields.tags)?;
        Ok(fields)
    }

    fn checked(self, default_from: &str, now: DateTime<Utc>) -> ServiceResult<CampaignFields> {
        let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        let name = nonempty(self.name).ok_or_else(|| ServiceError::invalid("name", "name is required"))?;
        if name.chars().count() > NAME_MAX {
            return Err(ServiceError::invalid("name", format!("name is longer than {NAME_MAX} characters")));
        }
        let content_type = nonempty(self.content_type).unwrap_or_else(|| "richtext".into());
        if !CONTENT_TYPES.contains(&content_type.as_str()) {
            return Err(ServiceError::invalid(
                "content_type",
                format!(
                    "invalid content_type {content_type:?}: expected one of {}",
                    CONTENT_TYPES.join(", ")
                ),
            ));
        }
        let subject =
            nonempty(self.subject).ok_or_else(|| ServiceError::invalid("subject", "subject is required"))?;
        if subject.chars().count() > SUBJECT_MAX {
            return Err(ServiceError::invalid(
                "subject",
                format!("subject is longer than {SUBJECT_MAX} characters"),
            ));
        }
        let from_email = match nonempty(self.from_email) {
            None => default_from.to_string(),
            Some(f) if valid_from(&f) => f,
            Some(f) => {
                return Err(ServiceError::invalid(
                    "from_email",
                    format!("invalid from_email {f:?}: expected an address or \"Name <address>\""),
                ));
            }
        };
        let send_at = self.send_at.map(|t| t.with_timezone(&Utc));
        if send_at.is_some_and(|t| t < now) {
            return Err(ServiceError::invalid("send_at", "send_at must be in the future"));
        }
        let lists = self.lists.unwrap_or_default();
        if lists.is_empty() {
            return Err(ServiceError::invalid("lists", "at least one list is required"));
        }
        let messenger = nonempty(self.messenger).unwrap_or_else(|| "email".into());
        if messenger != "email" && !messenger.starts_with("email-") {
            return Err(ServiceError::invalid(
                "messenger",
                format!(
                    "unknown messenger {messenger:?}: rebound sends by e-mail only (\"email\" or \"email-<smtp name>\")"
                ),
            ));
        }
        let campaign_type = nonempty(self.campaign_type).unwrap_or_else(|| "regular".into());
        if !["regular", "optin"].contains(&campaign_type.as_str()) {
            return Err(ServiceError::invalid(
                "type",
                format!("invalid type {campaign_type:?}: expected regular or optin"),
            ));
        }
        let visual = content_type == "visual";
        // listmonk: no template id, the default one; 0, none.
        let template_id = match self.template_id {
            _ if visual => None,
            None => Some(DEFAULT_TEMPLATE_ID),
            Some(0) => None,
            Some(id) => Some(id),
        };
        Ok(CampaignFields {
            campaign_type,
            name,
            subject,
            from_email,
            body: self.body.unwrap_or_default(),
            body_source: self.body_source.filter(|_| visual),
            altbody: self.altbody.filter(|a| !a.is_empty()),
            content_type,
            send_at,
            headers: headers(self.headers)?,
            attribs: object_or_empty("attribs", self.attribs)?,
            tags: self
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            messenger,
            template_id,
            archive: self.archive.unwrap_or(false),
            archive_slug: self.archive_slug.map(|s| slug(&s)).filter(|s| !s.is_empty()),
            archive_template_id: self.archive_template_id.filter(|id| *id != 0 && !visual),
            archive_meta: self.archive_meta.filter(|m| !m.is_null()).unwrap_or_else(|| json!({})),
            lists,
        })
    }
}

/// PostgreSQL cannot store U+0000 in text (listmonk fails on it); refused
/// on both backends alike.
pub(super) fn no_nul(field: &'static str, text: &str) -> ServiceResult<()> {
    if text.contains('\u{0}') {
        return Err(ServiceError::invalid(field, format!("{field} must not contain the character U+0000")));
    }
    Ok(())
}

fn json_has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\u{0}'),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\u{0}') || json_has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// listmonk's tags columns are VARCHAR(100)[].
pub(super) fn check_tags(tags: &[String]) -> ServiceResult<()> {
    for t in tags {
        no_nul("tags", t)?;
        if t.chars().count() > 100 {
            return Err(ServiceError::invalid("tags", format!("tag {t:?} is longer than 100 characters")));
        }
    }
    Ok(())
}

/// listmonk accepts an address, or anything holding `<local@domain>`.
fn valid_from(from: &str) -> bool {
    let bracketed =
        from.find('<').and_then(|open| from[open..].find('>').map(|close| &from[open + 1..open + close]));
    match bracketed {
        Some(inner) => inner.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty()),
        None => EmailAddress::parse(from.trim()).is_ok(),
    }
}

fn headers(given: Option<Value>) -> ServiceResult<Value> {
    match given {
        None | Some(Value::Null) => Ok(json!([])),
        Some(Value::Array(items))
            if items.iter().all(|h| h.as_object().is_some_and(|o| o.values().all(Value::is_string))) =>
        {
            Ok(Value::Array(items))
        }
        Some(_) => Err(ServiceError::invalid("headers", HEADERS_SHAPE)),
    }
}

fn object_or_empty(field: &'static str, given: Option<Value>) -> ServiceResult<Value> {
    match given {
        None | Some(Value::Null) => Ok(json!({})),
        Some(o @ Value::Object(_)) => Ok(o),
        Some(_) => Err(ServiceError::invalid(field, format!("{field} must be a JSON object"))),
    }
}

/// listmonk's archive slug: lower case, every run of characters that are
/// not letters, marks or digits one dash, none at the ends.
fn slug(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_addresses_as_listmonk_takes_them() {
        for ok in ["news@site.com", "News <news@site.com>", "\"Site, News\" <n@s.io>"] {
            assert!(valid_from(ok), "{ok}");
        }
        for bad in ["news", "News <>", "News <news>", "<@site.com>"] {
            assert!(!valid_from(bad), "{bad}");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("  Spring Sale! 2026 "), "spring-sale-2026");
        assert_eq!(slug("Été—ça"), "été-ça");
        assert_eq!(slug("!!!"), "");
    }
}
