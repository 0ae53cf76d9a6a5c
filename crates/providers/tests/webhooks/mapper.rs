//! The generic webhook mapper through `Providers::handle_mapped`, with
//! configurations as an operator writes them (JSON).

use rebound_core::mapped::MappedProvider;
use rebound_core::{BounceType, Settings};
use rebound_providers::ProviderError;
use serde_json::{Value, json};

use crate::support::*;

const KEY: &str = "acme-test-signing-key";

/// A provider "acme": a batch under `/events`, HMAC-SHA256 hex of
/// "{timestamp}.{body}" in `X-Acme-Signature: sha256=...`, a timestamp header.
fn acme() -> Value {
    json!({
        "name": "acme", "enabled": true,
        "events": {"in": "body", "pointer": "/events"},
        "fields": {"address": "/recipient", "event_type": ["/type", "/severity"], "event_id": "/id",
                   "timestamp": "/at", "diagnostic": "/smtp/message", "status": "/smtp/code",
                   "campaign": "/meta"},
        "types": {"bounce": "soft", "bounce:permanent": "hard", "complaint": "complaint", "bounce:policy": "ignore"},
        "authentication": {"type": "hmac", "key": KEY, "header": "X-Acme-Signature", "prefix": "sha256=",
                           "signed": "{header:X-Acme-Timestamp}.{body}"},
        "timestamp": {"header": "X-Acme-Timestamp"}
    })
}

fn with(cfg: Value) -> Settings {
    let p: MappedProvider = serde_json::from_value(cfg).unwrap();
    p.validate("test").unwrap();
    Settings { mapped_providers: vec![p], ..settings() }
}

fn batch() -> Vec<u8> {
    format!(
        r#"{{"events":[
  {{"id":"e1","type":"bounce","severity":"permanent","recipient":"Reader@Example.com","at":"2027-01-05T10:00:00Z",
    "smtp":{{"code":"5.1.1","message":"user unknown"}},"meta":{{"listmonk_campaign":"{CAMPAIGN}"}}}},
  {{"id":"e2","type":"bounce","severity":"transient","recipient":"other@example.com","at":1799143200}},
  {{"id":"e3","type":"complaint","recipient":"third@example.com"}},
  {{"id":"e4","type":"delivered","recipient":"fourth@example.com"}},
  {{"id":"e5","type":"bounce","severity":"policy","recipient":"fifth@example.com"}},
  {{"id":"e6","type":"bounce","severity":"permanent"}}
]}}"#
    )
    .into_bytes()
}

fn sign(key: &str, t: i64, body: &[u8]) -> String {
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    format!("sha256={}", hmac_sha256_hex(key.as_bytes(), &msg))
}

fn post(s: &Settings, sig: &str, t: i64, body: &[u8]) -> Result<rebound_providers::Outcome, ProviderError> {
    let t = t.to_string();
    run_mapped("acme", &[("X-Acme-Signature", sig), ("X-Acme-Timestamp", &t)], None, body, now(), s)
}

#[test]
fn valid_batch_maps_every_field() {
    let s = with(acme());
    let b = batch();
    let t = now().timestamp();
    let ev = events(post(&s, &sign(KEY, t, &b), t, &b));
    // e4 (delivered: not in types) and e5 (mapped to ignore) record nothing;
    // e6 has no recipient and is skipped, not failing the batch.
    assert_eq!(ev.len(), 3, "{ev:?}");
    assert_event(&ev[0], "acme", BounceType::Hard, "reader@example.com", Some(CAMPAIGN), "e1");
    assert_eq!(ev[0].meta["diagnostic"], "user unknown");
    assert_eq!(ev[0].meta["status"], "5.1.1");
    assert_eq!(ev[0].meta["provider_event"], "bounce:permanent");
    assert_eq!(ev[0].meta["explanation"], "acme /type+/severity bounce:permanent → hard");
    assert_eq!(ev[0].created_at.unwrap().to_rfc3339(), "2027-01-05T10:00:00+00:00");
    // "bounce:transient" is not in types: its prefix "bounce" is.
    assert_event(&ev[1], "acme", BounceType::Soft, "other@example.com", None, "e2");
    assert_eq!(ev[1].created_at.unwrap().timestamp(), 1799143200);
    assert_event(&ev[2], "acme", BounceType::Complaint, "third@example.com", None, "e3");
    // The retry is the same events with the same ids (the store counts them once).
    assert_eq!(events(post(&s, &sign(KEY, t, &b), t, &b)), ev);
}

#[test]
fn tampered_wrong_key_stale_and_missing_are_401() {
    let s = with(acme());
    let b = batch();
    let t = now().timestamp();
    let good = sign(KEY, t, &b);
    assert_unauthorized(post(&s, &good, t, &tamper(&b, "Reader@", "Victim@")));
    assert_unauthorized(post(&s, &sign("another-key", t, &b), t, &b));
    // The signature covers the timestamp: moving it breaks the signature...
    assert_unauthorized(post(&s, &good, t - 1, &b));
    // ...and a correctly signed old or future one is outside the window.
    for stale in [t - 301, t + 301] {
        assert_unauthorized(post(&s, &sign(KEY, stale, &b), stale, &b));
    }
    assert_unauthorized(post(&s, &good.replace("sha256=", ""), t, &b));
    assert_unauthorized(post(&s, "sha256=nothex", t, &b));
    assert_unauthorized(run_mapped("acme", &[("X-Acme-Timestamp", &t.to_string())], None, &b, now(), &s));
    // Its own tolerance instead of bounce.webhook_tolerance.
    let mut cfg = acme();
    cfg["timestamp"]["tolerance"] = json!("1h");
    let s = with(cfg);
    assert!(!events(post(&s, &sign(KEY, t - 3000, &b), t - 3000, &b)).is_empty());
}

#[test]
fn malformed_after_verification_is_400() {
    let s = with(acme());
    let t = now().timestamp();
    for body in [&b"{not json"[..], br#"{"other":[]}"#, br#"{"events":"x"}"#] {
        assert_bad_request(post(&s, &sign(KEY, t, body), t, body));
    }
    // An empty batch: nothing to record.
    assert_ignored(post(&s, &sign(KEY, t, br#"{"events":[]}"#), t, br#"{"events":[]}"#));
}

#[test]
fn single_object_without_recipient_is_400_and_ignored_event_is_200() {
    let mut cfg = acme();
    cfg["events"] = json!({"in": "body"});
    cfg["timestamp"] = Value::Null;
    cfg.as_object_mut().unwrap().remove("timestamp");
    cfg["authentication"]["signed"] = json!("{body}");
    let s = with(cfg);
    let send = |b: &[u8]| {
        let sig = format!("sha256={}", hmac_sha256_hex(KEY.as_bytes(), b));
        run_mapped("acme", &[("X-Acme-Signature", &sig)], None, b, now(), &s)
    };
    assert_bad_request(send(br#"{"id":"x","type":"bounce","severity":"permanent"}"#));
    assert_ignored(send(br#"{"id":"x","type":"opened","recipient":"a@example.com"}"#));
    let ev = events(send(br#"{"type":"bounce","recipient":"a@example.com"}"#));
    // No event id configured or present: a hash of the event, the same on a retry.
    let id = ev[0].event_id.clone().unwrap();
    assert!(id.starts_with("sha256:") && id.len() == 7 + 64, "{id}");
    assert_eq!(
        events(send(br#"{"type":"bounce","recipient":"a@example.com"}"#))[0].event_id,
        Some(id.clone())
    );
    assert_ne!(events(send(br#"{"type":"bounce","recipient":"b@example.com"}"#))[0].event_id, Some(id));
}

/// One event per request, authenticated by each of the other schemes.
fn simple(auth: Value) -> Settings {
    with(json!({
        "name": "simple", "enabled": true,
        "fields": {"address": "/to", "event_type": "/event", "event_id": "/id", "campaign": "header:X-Campaign"},
        "types": {"hard_bounce": "hard"},
        "authentication": auth
    }))
}

const ONE: &[u8] = br#"{"id":"m1","event":"hard_bounce","to":"user@example.com"}"#;

fn simple_run(
    s: &Settings,
    hdrs: &[(&str, &str)],
    query: Option<&str>,
) -> Result<rebound_providers::Outcome, ProviderError> {
    run_mapped("simple", hdrs, query, ONE, now(), s)
}

#[test]
fn basic_bearer_header_and_query_secrets() {
    let s = simple(json!({"type": "basic", "username": "hooks", "password": "pw-1"}));
    let e =
        events(simple_run(&s, &[("Authorization", &basic("hooks", "pw-1")), ("X-Campaign", CAMPAIGN)], None));
    assert_event(&e[0], "simple", BounceType::Hard, "user@example.com", Some(CAMPAIGN), "m1");
    assert_unauthorized(simple_run(&s, &[("Authorization", &basic("hooks", "pw-2"))], None));
    assert_unauthorized(simple_run(&s, &[("Authorization", &basic("other", "pw-1"))], None));
    assert_unauthorized(simple_run(&s, &[], None));

    let s = simple(json!({"type": "bearer", "token": "tok-1"}));
    assert_eq!(events(simple_run(&s, &[("Authorization", "Bearer tok-1")], None)).len(), 1);
    assert_unauthorized(simple_run(&s, &[("Authorization", "Bearer tok-2")], None));
    assert_unauthorized(simple_run(&s, &[("Authorization", &basic("x", "tok-1"))], None));

    let s = simple(json!({"type": "header", "header": "X-Hook-Secret", "secret": "hs-1"}));
    assert_eq!(events(simple_run(&s, &[("X-Hook-Secret", "hs-1")], None)).len(), 1);
    assert_unauthorized(simple_run(&s, &[("X-Hook-Secret", "hs-2")], None));
    assert_unauthorized(simple_run(&s, &[], None));

    let s = simple(json!({"type": "query", "parameter": "key", "secret": "qs 1"}));
    assert_eq!(events(simple_run(&s, &[], Some("a=b&key=qs%201"))).len(), 1);
    assert_unauthorized(simple_run(&s, &[], Some("key=qs%202")));
    assert_unauthorized(simple_run(&s, &[], None));
}

#[test]
fn hmac_variants_sha1_sha512_base64_hex_keys() {
    for (alg, ring_alg) in [
        ("sha1", ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
        ("sha512", ring::hmac::HMAC_SHA512),
        ("sha256", ring::hmac::HMAC_SHA256),
    ] {
        // The key written in hex: its bytes are "raw-key".
        let s = simple(
            json!({"type": "hmac", "algorithm": alg, "key": hex::encode("raw-key"), "key_encoding": "hex",
                              "header": "X-Sig", "encoding": "base64"}),
        );
        let good = hmac_b64(ring_alg, b"raw-key", ONE);
        assert_eq!(events(simple_run(&s, &[("X-Sig", &good)], None)).len(), 1, "{alg}");
        let wrong = hmac_b64(ring_alg, hex::encode("raw-key").as_bytes(), ONE);
        assert_unauthorized(simple_run(&s, &[("X-Sig", &wrong)], None));
        assert_unauthorized(simple_run(&s, &[("X-Sig", "!!!")], None));
    }
}

#[test]
fn no_authentication_needs_the_explicit_opt_in() {
    let cfg = json!({"name": "open", "fields": {"address": "/to", "event_type": "/event"},
                     "types": {"hard_bounce": "hard"}, "authentication": {"type": "none"}});
    let p: MappedProvider = serde_json::from_value(cfg.clone()).unwrap();
    assert!(p.validate("x").unwrap_err().to_string().contains("i_understand_anyone_can_post"));
    // Even if such a configuration reached the adapter, it refuses everything.
    let mut on = p.clone();
    on.enabled = true;
    let s = Settings { mapped_providers: vec![on], ..settings() };
    assert_unauthorized(run_mapped("open", &[], None, ONE, now(), &s));
    let mut cfg = cfg;
    cfg["enabled"] = json!(true);
    cfg["authentication"]["i_understand_anyone_can_post"] = json!(true);
    let s = with(cfg);
    assert_eq!(events(run_mapped("open", &[], None, ONE, now(), &s)).len(), 1);
}

#[test]
fn form_field_form_and_query_events() {
    // A form field holding a JSON array, signed over the sorted form.
    let s = with(json!({
        "name": "formjson", "enabled": true,
        "events": {"in": "form_field", "field": "payload", "pointer": "/items"},
        "fields": {"address": "/email", "event_type": "/kind", "event_id": "/id"},
        "types": {"bounce": "hard"},
        "authentication": {"type": "hmac", "algorithm": "sha1", "key": "fk", "header": "X-Sig", "encoding": "base64",
                           "signed": "{url}{form_sorted}"},
        "url": "https://hooks.example/x"
    }));
    let json = r#"{"items":[{"id":"f1","kind":"bounce","email":"a@example.com"}]}"#;
    let body =
        format!("z=1&payload={}", url::form_urlencoded::byte_serialize(json.as_bytes()).collect::<String>());
    let signed = format!("https://hooks.example/xpayload{json}z1");
    let sig = hmac_b64(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"fk", signed.as_bytes());
    let ev = events(run_mapped("formjson", &[("X-Sig", &sig)], None, body.as_bytes(), now(), &s));
    assert_event(&ev[0], "formjson", BounceType::Hard, "a@example.com", None, "f1");
    assert_unauthorized(run_mapped(
        "formjson",
        &[("X-Sig", &sig)],
        None,
        &tamper(body.as_bytes(), "z=1", "z=2"),
        now(),
        &s,
    ));
    assert_bad_request(run_mapped(
        "formjson",
        &[(
            "X-Sig",
            &hmac_b64(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"fk", b"https://hooks.example/xz1"),
        )],
        None,
        b"z=1",
        now(),
        &s,
    ));

    // The form's fields are the event.
    let s = with(json!({
        "name": "formflat", "enabled": true, "events": {"in": "form"},
        "fields": {"address": "/rcpt", "event_type": "/event"},
        "types": {"bounce": "soft"},
        "authentication": {"type": "bearer", "token": "t"}
    }));
    let ev = events(run_mapped(
        "formflat",
        &[("Authorization", "Bearer t")],
        None,
        b"event=bounce&rcpt=x%40example.com",
        now(),
        &s,
    ));
    assert_event(
        &ev[0],
        "formflat",
        BounceType::Soft,
        "x@example.com",
        None,
        ev[0].event_id.as_deref().unwrap(),
    );

    // The query string is the event.
    let s = with(json!({
        "name": "byquery", "enabled": true, "events": {"in": "query"},
        "fields": {"address": "/to", "event_type": "/status", "event_id": ["/msg", "/status"]},
        "types": {"Error": "hard"},
        "authentication": {"type": "query", "parameter": "secret", "secret": "q"}
    }));
    let ev = events(run_mapped(
        "byquery",
        &[],
        Some("secret=q&to=y%40example.com&status=Error&msg=7"),
        b"",
        now(),
        &s,
    ));
    assert_event(&ev[0], "byquery", BounceType::Hard, "y@example.com", None, "7:Error");
}

#[test]
fn unknown_and_disabled_mapped_providers() {
    let s = with(acme());
    assert_eq!(
        run_mapped("nope", &[], None, b"{}", now(), &s),
        Err(ProviderError::UnknownProvider("custom/nope".into()))
    );
    let mut off = acme();
    off["enabled"] = json!(false);
    assert_eq!(
        run_mapped("acme", &[], None, b"{}", now(), &with(off)),
        Err(ProviderError::MappedDisabled("custom/acme".into()))
    );
}

/// The example of docs/providers.md ("Generic webhook mapper"), as written there.
#[test]
fn the_documented_example_works_as_documented() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/providers.md")).unwrap();
    let section = &docs[docs.find("## Generic webhook mapper").unwrap()..];
    let blocks: Vec<&str> =
        section.split("```json\n").skip(1).map(|b| &b[..b.find("```").unwrap()]).collect();
    let (body, settings) = (blocks[0].trim(), blocks[1]);
    let settings: Value = serde_json::from_str(settings).unwrap();
    let cfg = with(settings["bounce.mapped_providers"][0].clone());
    let t = "1799143200";
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body.as_bytes());
    let sig = format!("sha256={}", hmac_sha256_hex(b"whsec-from-acme", &msg));
    let at = chrono::DateTime::from_timestamp(1799143200, 0).unwrap();
    let ev = events(run_mapped(
        "acme",
        &[("X-Acme-Signature", &sig), ("X-Acme-Timestamp", t)],
        None,
        body.as_bytes(),
        at,
        &cfg,
    ));
    assert_event(&ev[0], "acme", BounceType::Hard, "reader@example.com", Some(CAMPAIGN), "ev_81");
    assert_eq!(ev[0].meta["diagnostic"], "user unknown");
    assert_eq!(ev[0].meta["explanation"], "acme /type+/class bounce:permanent → hard");
}
