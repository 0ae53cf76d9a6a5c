//! Built-in providers that are mapper configurations: one function per
//! provider, from its settings to the [`MappedProvider`] that reads it. The
//! facts (payload shape, signature scheme) are in docs/providers.md, one
//! section per provider.

use std::collections::BTreeMap;

use rebound_core::Secret;
use rebound_core::mapped::{
    Authentication, Encoding, EventsAt, FieldMap, HmacAlgorithm, KeyEncoding, MappedProvider, MappedType,
    OneOrMany, TimestampCheck,
};

fn one(s: &str) -> OneOrMany {
    OneOrMany::One(s.to_string())
}

fn many(s: &[&str]) -> OneOrMany {
    OneOrMany::Many(s.iter().map(|s| s.to_string()).collect())
}

fn types(t: &[(&str, MappedType)]) -> BTreeMap<String, MappedType> {
    t.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn hmac(
    algorithm: HmacAlgorithm,
    key: &Secret,
    header: &str,
    param: &str,
    encoding: Encoding,
    signed: &str,
) -> Authentication {
    Authentication::Hmac {
        algorithm,
        key: key.clone(),
        key_encoding: KeyEncoding::Text,
        header: header.into(),
        prefix: String::new(),
        param: param.into(),
        encoding,
        signed: signed.into(),
    }
}

/// MailerSend: one JSON event per request, `Signature` = hex HMAC-SHA256 of
/// the body with the webhook's signing secret.
pub fn mailersend(key: &Secret) -> MappedProvider {
    MappedProvider {
        name: "mailersend".into(),
        enabled: true,
        events: EventsAt::Body { pointer: String::new() },
        fields: FieldMap {
            address: "/data/email/recipient/email".into(),
            event_type: one("/type"),
            event_id: one("/data/id"),
            timestamp: "/created_at".into(),
            diagnostic: "/data/morph/reason".into(),
            status: String::new(),
            campaign: "/data/email/tags".into(),
        },
        types: types(&[
            ("activity.hard_bounced", MappedType::Hard),
            ("activity.soft_bounced", MappedType::Soft),
            ("activity.spam_complaint", MappedType::Complaint),
        ]),
        default_type: MappedType::Ignore,
        authentication: hmac(HmacAlgorithm::Sha256, key, "Signature", "", Encoding::Hex, "{body}"),
        timestamp: None,
        url: String::new(),
    }
}

/// SMTP2GO with the JSON output type: one event per request, `bounce` says
/// hard or soft. Authenticated by its Authorization header (basic or
/// bearer), which the caller checks: `authentication` here is the caller's.
pub fn smtp2go() -> MappedProvider {
    MappedProvider {
        name: "smtp2go".into(),
        enabled: true,
        events: EventsAt::Body { pointer: String::new() },
        fields: FieldMap {
            address: "/rcpt".into(),
            event_type: many(&["/event", "/bounce"]),
            event_id: many(&["/email_id", "/rcpt", "/event", "/time"]),
            timestamp: "/time".into(),
            diagnostic: "/message".into(),
            status: "/host".into(),
            campaign: String::new(),
        },
        types: types(&[
            ("bounce", MappedType::Soft),
            ("bounce:hard", MappedType::Hard),
            ("bounce:soft", MappedType::Soft),
            ("spam", MappedType::Complaint),
        ]),
        default_type: MappedType::Ignore,
        authentication: Authentication::None { i_understand_anyone_can_post: true },
        timestamp: None,
        url: String::new(),
    }
}

/// ZeptoMail: `event_name` and `event_message` are arrays;
/// `producer-signature: ts=<ms>;s=<base64 HMAC-SHA256 of the body>;s-algorithm=HMACSHA256`
/// with the webhook's authentication key.
pub fn zeptomail(key: &Secret) -> MappedProvider {
    let detail = "/event_data/0/details/0";
    MappedProvider {
        name: "zeptomail".into(),
        enabled: true,
        events: EventsAt::Body { pointer: "/event_message".into() },
        fields: FieldMap {
            address: format!("{detail}/bounced_recipient"),
            event_type: one("root:/event_name"),
            event_id: many(&[
                "root:/webhook_request_id",
                "/request_id",
                "/event_data/0/details/0/bounced_recipient",
            ]),
            timestamp: format!("{detail}/time"),
            diagnostic: format!("{detail}/diagnostic_message"),
            status: format!("{detail}/reason"),
            campaign: "/email_info/client_reference".into(),
        },
        types: types(&[("hardbounce", MappedType::Hard), ("softbounce", MappedType::Soft)]),
        default_type: MappedType::Ignore,
        authentication: hmac(
            HmacAlgorithm::Sha256,
            key,
            "producer-signature",
            "s",
            Encoding::Base64,
            "{body}",
        ),
        timestamp: Some(TimestampCheck {
            header: "producer-signature".into(),
            param: "ts".into(),
            tolerance: None,
        }),
        url: String::new(),
    }
}

/// Elastic Email's HTTP notifications: the event is the URL parameters;
/// nothing is signed, so the operator adds `key=<secret>` to the
/// notification URL. `status` Error with a `category`, AbuseReport for complaints.
pub fn elasticemail(key: &Secret) -> MappedProvider {
    MappedProvider {
        name: "elasticemail".into(),
        enabled: true,
        events: EventsAt::Query,
        fields: FieldMap {
            address: "/to".into(),
            event_type: many(&["/status", "/category"]),
            event_id: many(&["/transaction", "/messageid", "/to", "/status"]),
            timestamp: "/date".into(),
            diagnostic: "/category".into(),
            status: String::new(),
            campaign: "/postback".into(),
        },
        types: types(&[
            ("Error", MappedType::Soft),
            ("Error:NoMailbox", MappedType::Hard),
            ("Error:AccountProblem", MappedType::Hard),
            ("Error:Ignore", MappedType::Ignore),
            ("Error:ManualCancel", MappedType::Ignore),
            ("AbuseReport", MappedType::Complaint),
        ]),
        default_type: MappedType::Ignore,
        authentication: Authentication::Query { parameter: "key".into(), secret: key.clone() },
        timestamp: None,
        url: String::new(),
    }
}

/// Mandrill: a form whose `mandrill_events` field is a JSON array;
/// `X-Mandrill-Signature` = base64 HMAC-SHA1 of the webhook URL followed by
/// every POST key and value, sorted by key.
pub fn mandrill(key: &Secret, url: &str) -> MappedProvider {
    MappedProvider {
        name: "mandrill".into(),
        enabled: true,
        events: EventsAt::FormField { field: "mandrill_events".into(), pointer: String::new() },
        fields: FieldMap {
            address: "/msg/email".into(),
            event_type: one("/event"),
            event_id: many(&["/_id", "/event", "/ts"]),
            timestamp: "/ts".into(),
            diagnostic: "/msg/diag".into(),
            status: "/msg/bounce_description".into(),
            campaign: "/msg/metadata".into(),
        },
        types: types(&[
            ("hard_bounce", MappedType::Hard),
            ("soft_bounce", MappedType::Soft),
            ("spam", MappedType::Complaint),
        ]),
        default_type: MappedType::Ignore,
        authentication: hmac(
            HmacAlgorithm::Sha1,
            key,
            "X-Mandrill-Signature",
            "",
            Encoding::Base64,
            "{url}{form_sorted}",
        ),
        timestamp: None,
        url: url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each preset is a configuration the mapper's own validation accepts
    /// (SMTP2GO's authentication is its adapter's), except for its reserved name.
    #[test]
    fn presets_are_valid_configurations() {
        let k = Secret::new("test-key");
        for mut p in [mailersend(&k), smtp2go(), zeptomail(&k), elasticemail(&k), mandrill(&k, "https://x/y")]
        {
            p.name = format!("x-{}", p.name);
            p.validate("preset").unwrap();
        }
    }
}
