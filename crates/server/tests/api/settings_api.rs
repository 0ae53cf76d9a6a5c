//! GET/PUT /api/settings: listmonk's keys and defaults, masking, live changes.

use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::Method;
use serde_json::json;

async fn defaults_are_listmonks(b: Backend) {
    let s = TestServer::start(b).await;
    let d = s.get_json("/api/settings").await["data"].clone();
    assert_eq!(d["bounce.enabled"], false);
    assert_eq!(d["bounce.webhooks_enabled"], false);
    assert_eq!(
        d["bounce.actions"],
        json!({"soft": {"count": 2, "action": "none"}, "hard": {"count": 1, "action": "blocklist"},
               "complaint": {"count": 1, "action": "blocklist"}})
    );
    for key in [
        "bounce.ses_enabled",
        "bounce.sendgrid_enabled",
        "bounce.sendgrid_key",
        "bounce.postmark",
        "bounce.forwardemail",
        "bounce.azure",
        "bounce.lettermint",
        "bounce.mailboxes",
        "smtp",
    ] {
        assert!(d.get(key).is_some(), "{key} missing");
    }
}

async fn secrets_are_masked_and_kept(b: Backend) {
    let s = TestServer::start(b).await;
    let shown = s
        .put_settings(&json!({
            "bounce.sendgrid_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE-secret",
            "bounce.postmark": {"enabled": true, "username": "pm", "password": "pm-secret"},
            "bounce.mailboxes": [{"enabled": true, "type": "pop", "host": "pop.example.com", "port": 995,
                                  "username": "bounces", "password": "mbox-secret", "scan_interval": "15m"}]
        }))
        .await;
    let leaked = |text: &str| ["AE-secret", "pm-secret", "mbox-secret"].iter().any(|v| text.contains(v));
    assert!(!leaked(&shown.to_string()), "a secret leaked: {shown}");
    // Send the masked object back unchanged, with one switch flipped.
    let mut back = s.get_json("/api/settings").await["data"].clone();
    assert!(!leaked(&back.to_string()));
    back["bounce.enabled"] = json!(true);
    s.put_settings(&back).await;
    let stored = s.store.load_settings().await.unwrap();
    assert_eq!(stored["bounce.sendgrid_key"], "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE-secret");
    assert_eq!(stored["bounce.postmark"]["password"], "pm-secret");
    assert_eq!(stored["bounce.mailboxes"][0]["password"], "mbox-secret");
    assert_eq!(stored["bounce.enabled"], true);
}

/// Whoever may change the settings but not read them cannot move a stored
/// password to a server of their own by keeping the placeholder.
async fn a_stored_password_is_not_sent_to_a_new_server(b: Backend) {
    let s = TestServer::start(b).await;
    s.put_settings(&json!({
        "bounce.mailboxes": [{"enabled": false, "type": "pop", "host": "pop.example.com", "port": 995,
                              "username": "bounces", "password": "mbox-secret", "scan_interval": "15m"}],
        "smtp": [{"enabled": true, "host": "smtp.example.com", "port": 587, "auth_protocol": "login",
                  "username": "sender", "password": "smtp-secret"}]
    }))
    .await;
    let shown = s.get_json("/api/settings").await["data"].clone();
    for (key, field, value, name) in [
        ("bounce.mailboxes", "host", json!("listener.evil.example"), "bounce.mailboxes[0].password"),
        ("bounce.mailboxes", "port", json!(110), "bounce.mailboxes[0].password"),
        ("smtp", "host", json!("listener.evil.example"), "smtp[0].password"),
        ("smtp", "username", json!("someone-else"), "smtp[0].password"),
    ] {
        let mut list = shown[key].clone();
        list[0][field] = value;
        let (status, body) = s.send_json(Method::PUT, "/api/settings", &json!({ key: list })).await;
        assert_eq!(status, 400, "{key}.{field}: {body}");
        assert!(body["message"].as_str().unwrap().contains(name), "{body}");
    }
    let stored = s.store.load_settings().await.unwrap();
    assert_eq!(stored["bounce.mailboxes"][0]["host"], "pop.example.com");
    assert_eq!(stored["smtp"][0]["host"], "smtp.example.com");
    // The same server with other changes keeps the password.
    let mut list = shown["smtp"].clone();
    list[0]["max_conns"] = json!(3);
    s.put_settings(&json!({ "smtp": list })).await;
    assert_eq!(s.store.load_settings().await.unwrap()["smtp"][0]["password"], "smtp-secret");
}

async fn invalid_settings_are_400_and_change_nothing(b: Backend) {
    let s = TestServer::start(b).await;
    for bad in [
        json!({"bounce.actions": {"soft": {"count": 0, "action": "none"}, "hard": {"count": 1, "action": "blocklist"},
                                  "complaint": {"count": 1, "action": "blocklist"}}}),
        json!({"bounce.actions": {"soft": {"count": 1, "action": "explode"}}}),
        json!({"bounce.enabled": "yes please"}),
        json!({"bounce.typo": true}),
    ] {
        let (status, body) = s.send_json(Method::PUT, "/api/settings", &bad).await;
        assert_eq!(status, 400, "{bad} -> {body}");
        assert!(body["message"].is_string());
    }
    assert_eq!(s.get_json("/api/settings").await["data"]["bounce.actions"]["soft"]["count"], 2);
}

async fn soft_rule_change_applies_without_restart(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let (id, _) = s.create_subscriber("x@example.com", &[]).await;
    s.put_settings(&json!({"bounce.actions": {"soft": {"count": 1, "action": "blocklist"},
        "hard": {"count": 1, "action": "blocklist"}, "complaint": {"count": 1, "action": "blocklist"}}}))
        .await;
    assert_eq!(crate::bounce_ok(&s, "x@example.com", "soft").await, "recorded count=1 action=blocklist");
    assert_eq!(crate::subscriber(&s, id).await["status"], "blocklisted");
}

/// listmonk reads the same settings rows with Go's time.ParseDuration,
/// which refuses "1h 30m" and "7days": durations are stored as Go writes
/// them, whatever form they were given in.
async fn durations_are_stored_as_go_parses_them(b: Backend) {
    let s = TestServer::start(b).await;
    s.put_settings(&json!({
        "bounce.actions": {"soft": {"count": 3, "action": "unsubscribe", "window": "7d"},
                           "hard": {"count": 1, "action": "blocklist"},
                           "complaint": {"count": 1, "action": "blocklist"}},
        "bounce.mailboxes": [{"enabled": false, "type": "pop", "host": "pop.example.com", "port": 995,
                              "username": "bounces", "password": "p", "scan_interval": "1h 30m"}]
    }))
    .await;
    let stored = s.store.load_settings().await.unwrap();
    assert_eq!(stored["bounce.actions"]["soft"]["window"], "168h");
    assert_eq!(stored["bounce.mailboxes"][0]["scan_interval"], "1h30m");
    let shown = s.get_json("/api/settings").await["data"].clone();
    assert_eq!(shown["bounce.mailboxes"][0]["scan_interval"], "1h30m");
}

/// listmonk's settings page sends every secret it did not change as "":
/// a round trip the way it makes one (GET, change one field, PUT all back
/// with the secrets emptied) changes only that field.
async fn a_listmonk_style_round_trip_keeps_every_secret(b: Backend) {
    let s = TestServer::start(b).await;
    s.put_settings(&json!({
        "bounce.sendgrid_key": "sendgrid-key-secret",
        "bounce.postmark": {"enabled": true, "username": "pm", "password": "pm-secret"},
        "bounce.mailboxes": [{"enabled": false, "type": "pop", "host": "pop.example.com", "port": 995,
                              "username": "bounces", "password": "mbox-secret", "scan_interval": "15m"}]
    }))
    .await;
    let before = s.store.load_settings().await.unwrap();
    let mut back = s.get_json("/api/settings").await["data"].clone();
    back["bounce.sendgrid_key"] = json!("");
    back["bounce.postmark"]["password"] = json!("");
    back["bounce.mailboxes"][0]["password"] = json!("");
    back["bounce.enabled"] = json!(true);
    s.put_settings(&back).await;
    let after = s.store.load_settings().await.unwrap();
    assert_eq!(after["bounce.sendgrid_key"], "sendgrid-key-secret");
    assert_eq!(after["bounce.postmark"]["password"], "pm-secret");
    assert_eq!(after["bounce.mailboxes"][0]["password"], "mbox-secret");
    assert_eq!(after["bounce.enabled"], true);
    for (key, value) in &before {
        if key != "bounce.enabled" {
            assert_eq!(after.get(key), Some(value), "{key} changed");
        }
    }
    // "" for a mailbox moved to another server does not carry the old
    // server's password there.
    back["bounce.mailboxes"][0]["host"] = json!("pop.elsewhere.test");
    s.put_settings(&back).await;
    let moved = s.store.load_settings().await.unwrap();
    assert_eq!(moved["bounce.mailboxes"][0]["password"], "");
}

/// listmonk's `smtp` entries carry `auth_protocol: "cram"` (its default)
/// and fields rebound does not use; a save through rebound keeps them all,
/// so listmonk still reads its own settings afterwards.
async fn listmonk_smtp_entries_survive_a_save(b: Backend) {
    let s = TestServer::start(b).await;
    let entry = json!({"enabled": true, "host": "smtp.example.com", "hello_hostname": "", "port": 25,
                       "auth_protocol": "cram", "username": "u", "password": "p",
                       "email_headers": [], "max_conns": 10, "max_msg_retries": 2,
                       "idle_timeout": "15s", "wait_timeout": "5s", "tls_type": "STARTTLS",
                       "tls_skip_verify": false, "name": "email-primary", "msg_retry_delay": "1s",
                       "from_addresses": ["news@example.com"], "some_future_field": {"x": 1}});
    s.put_settings(&json!({"smtp": [entry.clone()]})).await;
    let stored = s.store.load_settings().await.unwrap();
    let saved = &stored["smtp"][0];
    for field in ["auth_protocol", "name", "msg_retry_delay", "from_addresses", "some_future_field"] {
        assert_eq!(saved[field], entry[field], "stored {field}");
    }
    let shown = s.get_json("/api/settings").await["data"]["smtp"][0].clone();
    for field in ["auth_protocol", "name", "msg_retry_delay", "from_addresses", "some_future_field"] {
        assert_eq!(shown[field], entry[field], "shown {field}");
    }
}

backend_tests!(
    a_listmonk_style_round_trip_keeps_every_secret,
    listmonk_smtp_entries_survive_a_save,
    a_stored_password_is_not_sent_to_a_new_server,
    defaults_are_listmonks,
    durations_are_stored_as_go_parses_them,
    secrets_are_masked_and_kept,
    invalid_settings_are_400_and_change_nothing,
    soft_rule_change_applies_without_restart
);
