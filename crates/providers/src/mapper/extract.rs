//! From a verified request to bounce events, as a [`MappedProvider`] says.

use std::borrow::Cow;

use rebound_core::mapped::{EventsAt, MappedProvider, MappedType, ValueSource};
use rebound_core::{BounceEvent, BounceType};
use ring::digest;
use serde_json::Value;
use uuid::Uuid;

use super::form::{form_pairs, pairs_object};
use crate::common::{
    Parsed, campaign_in_object, campaign_in_text, collect_batch, email_of, parse_json, said, single, text_of,
    time_of, uuid_of,
};
use crate::{ProviderError, WebhookRequest};

pub(crate) fn events(
    cfg: &MappedProvider,
    req: &WebhookRequest<'_>,
) -> Result<Vec<BounceEvent>, ProviderError> {
    let (root, pointer): (Value, &str) = match &cfg.events {
        EventsAt::Body { pointer } => (parse_json(req.body)?, pointer),
        EventsAt::FormField { field, pointer } => {
            let value = form_pairs(req.body)
                .into_iter()
                .find(|(k, _)| k == field)
                .map(|(_, v)| v)
                .ok_or_else(|| ProviderError::bad_request(format!("the form has no field {field}")))?;
            (parse_json(value.as_bytes())?, pointer)
        }
        EventsAt::Form => (pairs_object(form_pairs(req.body)), ""),
        EventsAt::Query => {
            let q = req.query.unwrap_or_default();
            (pairs_object(form_pairs(q.as_bytes())), "")
        }
    };
    let at = root
        .pointer(pointer)
        .ok_or_else(|| ProviderError::bad_request(format!("no events at {pointer:?}")))?;
    let ctx = Ctx { cfg, root: &root, headers: req.headers };
    match at {
        Value::Array(items) => Ok(collect_batch(&cfg.name, items, |e| ctx.event(e))),
        Value::Object(_) => single(&cfg.name, ctx.event(at)),
        _ => Err(ProviderError::bad_request(format!(
            "the events at {pointer:?} are neither an object nor an array"
        ))),
    }
}

struct Ctx<'a> {
    cfg: &'a MappedProvider,
    root: &'a Value,
    headers: &'a http::HeaderMap,
}

impl Ctx<'_> {
    /// The value a field's source gives for `event`.
    fn get<'v>(&'v self, src: &str, event: &'v Value) -> Option<Cow<'v, Value>> {
        match ValueSource::parse(src).ok()? {
            ValueSource::None => None,
            ValueSource::Event(p) => event.pointer(p).map(Cow::Borrowed),
            ValueSource::Root(p) => self.root.pointer(p).map(Cow::Borrowed),
            ValueSource::Header(h) => {
                crate::common::header(self.headers, h).map(|v| Cow::Owned(Value::String(v.to_string())))
            }
        }
    }

    /// A scalar as text; the first element of an array (ZeptoMail's `event_name: ["hardbounce"]`).
    fn text(&self, src: &str, event: &Value) -> Option<String> {
        let v = self.get(src, event)?;
        match v.as_ref() {
            Value::Array(a) => text_of(a.first()),
            other => text_of(Some(other)),
        }
    }

    /// Non-empty parts joined with `:`.
    fn joined(&self, srcs: &[&str], event: &Value) -> String {
        srcs.iter().filter_map(|s| self.text(s, event)).collect::<Vec<_>>().join(":")
    }

    /// The type for an event name: the name itself, else its shorter
    /// `:`-prefixes (`Error:NoMailbox`, then `Error`), else `default_type`.
    fn type_of(&self, name: &str) -> MappedType {
        let mut key = name;
        loop {
            if let Some(t) = self.cfg.types.get(key) {
                return *t;
            }
            match key.rsplit_once(':') {
                Some((head, _)) => key = head,
                None => return self.cfg.default_type,
            }
        }
    }

    fn event(&self, event: &Value) -> Result<Option<Parsed>, String> {
        if !event.is_object() {
            return Err("an event that is not an object".into());
        }
        let f = &self.cfg.fields;
        let name = self.joined(&f.event_type.items(), event);
        let bounce_type = match self.type_of(&name) {
            MappedType::Hard => BounceType::Hard,
            MappedType::Soft => BounceType::Soft,
            MappedType::Complaint => BounceType::Complaint,
            MappedType::Ignore => return Ok(None),
        };
        let address = self.get(&f.address, event);
        let address = match address.as_deref() {
            Some(Value::Array(a)) => a.first(),
            other => other,
        };
        let email = email_of(address)
            .ok_or_else(|| format!("{} event without a valid recipient at {}", self.cfg.name, f.address))?;
        let mut event_id = self.joined(&f.event_id.items(), event);
        if event_id.is_empty() {
            // The same event sent again hashes the same (serde_json's maps are ordered).
            let bytes = serde_json::to_vec(event).unwrap_or_default();
            event_id = format!("sha256:{}", hex::encode(digest::digest(&digest::SHA256, &bytes)));
        }
        let mut meta = event.clone();
        if let Some(m) = meta.as_object_mut() {
            m.insert("provider_event".into(), Value::String(name.clone()));
            if let Some(d) = self.text(&f.diagnostic, event) {
                m.insert("diagnostic".into(), Value::String(d));
            }
            if let Some(s) = self.text(&f.status, event) {
                m.insert("status".into(), Value::String(s));
            }
        }
        let created_at = self.get(&f.timestamp, event).and_then(|v| time_of(Some(v.as_ref())));
        let campaign = self.get(&f.campaign, event).and_then(|v| campaign_of(v.as_ref()));
        let field = f.event_type.items().join("+");
        Ok(Some(Parsed {
            email,
            bounce_type,
            campaign,
            created_at,
            event_id,
            meta,
            explanation: said(&self.cfg.name, &field, &name, bounce_type),
        }))
    }
}

/// A campaign uuid from text (bare, JSON, `key=value`), an object with a
/// campaign key, or a list of either (tags).
fn campaign_of(v: &Value) -> Option<Uuid> {
    match v {
        Value::String(s) => uuid_of(s).or_else(|| campaign_in_text(Some(v))),
        Value::Object(_) => campaign_in_object(Some(v)),
        Value::Array(items) => items.iter().find_map(campaign_of),
        _ => None,
    }
}
