//! A listmonk database's settings through rebound: listmonk v6.2.0's default
//! rows (from its schema.sql) read back and saved unchanged, a save the way
//! listmonk's settings page makes one, listmonk's PUT /api/settings/{key},
//! and `bounce.action_semantics` taking effect live.

use std::collections::BTreeMap;

use rebound_core::Settings;
use rebound_core::secret::SECRET_PLACEHOLDER;
use rebound_testkit::{Backend, OpenStore, TestDb, TestServer, backend_tests, listmonk, test_config};
use reqwest::Method;
use serde_json::{Value, json};

type Rows = BTreeMap<String, Value>;

/// A server on a database holding `rows` in its settings table, as a
/// listmonk database has them before rebound first starts on it.
async fn server_on(b: Backend, rows: &Rows) -> TestServer {
    let db = TestDb::new(b).await;
    db.store().await.save_settings(rows).await.unwrap();
    TestServer::start_on(db, test_config()).await
}

fn as_rows(v: Value) -> Rows {
    serde_json::from_value(v).expect("an object")
}

/// Every place listmonk v6.2.0 keeps a secret, by key and JSON pointer.
const SECRETS: &[(&str, &str)] = &[
    ("smtp", "/0/password"),
    ("smtp", "/1/password"),
    ("bounce.mailboxes", "/0/password"),
    ("bounce.sendgrid_key", ""),
    ("bounce.postmark", "/password"),
    ("bounce.forwardemail", "/key"),
    ("bounce.lettermint", "/key"),
    ("bounce.azure", "/shared_secret"),
    ("upload.s3.aws_secret_access_key", ""),
    ("security.captcha", "/hcaptcha/secret"),
    ("security.oidc", "/client_secret"),
    ("messengers", "/0/password"),
];

fn secret_mut<'a>(rows: &'a mut Rows, key: &str, pointer: &str) -> Option<&'a mut Value> {
    rows.get_mut(key)?.pointer_mut(pointer)
}

/// listmonk's defaults with a value in every secret (its own defaults leave
/// most empty, and an empty secret proves nothing) and a messenger.
fn listmonk_rows_with_secrets(defaults: &Rows) -> Rows {
    let mut rows = defaults.clone();
    rows.insert(
        "messengers".into(),
        json!([{"uuid": "5b0c7a4e-2f7b-4e55-9d3e-1f7ad1c0a001", "enabled": false, "name": "sms",
                "root_url": "https://sms.example.com", "username": "u", "password": "",
                "max_conns": 1, "timeout": "5s", "max_msg_retries": 2}]),
    );
    for (i, (key, pointer)) in SECRETS.iter().enumerate() {
        *secret_mut(&mut rows, key, pointer).unwrap_or_else(|| panic!("{key}{pointer}")) =
            json!(format!("secret-{i}"));
    }
    rows
}

/// listmonk's default rows, loaded into a fresh database, come back from
/// GET /api/settings and from the table unchanged, field for field, after
/// rebound starts on them and after the GET's answer is PUT back.
async fn listmonk_default_settings_read_back_unchanged(b: Backend) {
    let Some(defaults) = listmonk::default_settings() else { return };
    let s = server_on(b, &defaults).await;
    let stored = s.store.load_settings().await.unwrap();
    listmonk::assert_kept(&defaults, &stored);
    let known = Settings::keys();
    for key in stored.keys().filter(|k| !defaults.contains_key(*k)) {
        assert!(known.contains(key), "rebound added {key}, which it does not know");
    }

    // Shown with the secrets masked, everything else as listmonk stored it.
    let shown = as_rows(s.get_json("/api/settings").await["data"].clone());
    let mut expected = defaults.clone();
    for (key, pointer) in SECRETS {
        if let Some(v) = secret_mut(&mut expected, key, pointer).filter(|v| *v != "") {
            *v = json!(SECRET_PLACEHOLDER);
        }
    }
    listmonk::assert_kept(&expected, &shown);

    // The answer PUT back changes no row.
    s.put_settings(&json!(shown)).await;
    assert_eq!(s.store.load_settings().await.unwrap(), stored);
}

/// The save listmonk's settings page makes: GET, change one field, PUT
/// everything back with every secret as "". Only that field changes, in
/// the keys rebound uses and in those it does not.
async fn a_listmonk_ui_save_changes_only_the_field_changed(b: Backend) {
    let Some(defaults) = listmonk::default_settings() else { return };
    let rows = listmonk_rows_with_secrets(&defaults);
    let s = server_on(b, &rows).await;
    let before = s.store.load_settings().await.unwrap();
    listmonk::assert_kept(&rows, &before);
    for (field, value) in [("app.site_name", json!("Our newsletter")), ("bounce.enabled", json!(true))] {
        let before = s.store.load_settings().await.unwrap();
        let mut back = as_rows(s.get_json("/api/settings").await["data"].clone());
        let text = serde_json::to_string(&back).unwrap();
        assert!(!text.contains("secret-"), "a secret is shown: {text}");
        for (key, pointer) in SECRETS {
            *secret_mut(&mut back, key, pointer).unwrap() = json!("");
        }
        back.insert(field.into(), value.clone());
        s.put_settings(&json!(back)).await;
        let after = s.store.load_settings().await.unwrap();
        assert_eq!(after[field], value);
        for (key, v) in &before {
            if key != field {
                assert_eq!(after.get(key), Some(v), "{key} changed");
            }
        }
    }
}

/// listmonk's PUT /api/settings/{key}: the body is the key's new value and
/// the answer `{"data": true}`; it is checked like a whole update.
async fn one_setting_is_put_by_its_key(b: Backend) {
    let s = TestServer::start(b).await;
    let actions = json!({"soft": {"count": 3, "action": "unsubscribe"}, "hard": {"count": 2, "action": "blocklist"},
                         "complaint": {"count": 1, "action": "delete"}});
    let (status, body) = s.send_json(Method::PUT, "/api/settings/bounce.actions", &actions).await;
    assert_eq!((status, &body), (200, &json!({"data": true})));
    assert_eq!(s.get_json("/api/settings").await["data"]["bounce.actions"], actions);
    assert_eq!(s.store.load_settings().await.unwrap()["bounce.actions"], actions);

    // A stored secret sent back as "" is kept, as in a whole update.
    s.put_settings(&json!({"bounce.postmark": {"enabled": true, "username": "pm", "password": "pm-secret"}}))
        .await;
    let postmark = json!({"enabled": false, "username": "pm", "password": ""});
    let (status, _) = s.send_json(Method::PUT, "/api/settings/bounce.postmark", &postmark).await;
    assert_eq!(status, 200);
    let stored = s.store.load_settings().await.unwrap();
    assert_eq!(
        stored["bounce.postmark"],
        json!({"enabled": false, "username": "pm", "password": "pm-secret"})
    );

    // A key rebound does not use is replaced once the database has it.
    let (status, body) = s.send_json(Method::PUT, "/api/settings/app.site_name", &json!("News")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("app.site_name"), "{body}");
    s.put_settings(&json!({"app.site_name": "Mailing list"})).await;
    let (status, _) = s.send_json(Method::PUT, "/api/settings/app.site_name", &json!("News")).await;
    assert_eq!(status, 200);
    assert_eq!(s.store.load_settings().await.unwrap()["app.site_name"], "News");

    for (key, bad) in [
        ("bounce.actions", json!({"soft": {"count": 0, "action": "none"}})),
        ("bounce.enabled", json!("yes")),
        ("bounce.typo", json!(true)),
        ("app.site_name", json!(5)),
        ("bounce.action_semantics", json!("both")),
    ] {
        let (status, body) = s.send_json(Method::PUT, &format!("/api/settings/{key}"), &bad).await;
        assert_eq!(status, 400, "{key} = {bad}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains(key)), "{key}: {body}");
    }
    let stored = s.store.load_settings().await.unwrap();
    assert_eq!((&stored["bounce.actions"], &stored["app.site_name"]), (&actions, &json!("News")));

    // settings:manage is needed.
    let token = s.api_user("reader", &["settings:get"]).await;
    let res = s
        .client
        .put(s.url("/api/settings/bounce.enabled"))
        .header("Authorization", format!("token reader:{token}"))
        .json(&json!(true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

/// `bounce.action_semantics` applies to the next bounce without a restart:
/// "listmonk" blocklists by status only, the default also unsubscribes.
async fn action_semantics_apply_live(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let list = s.create_list("News").await;
    let (a, _) = s.create_subscriber("a@example.com", &[list]).await;
    let (d, _) = s.create_subscriber("d@example.com", &[list]).await;
    let statuses = |v: Value| -> Vec<Value> {
        v["lists"].as_array().unwrap().iter().map(|l| l["subscription_status"].clone()).collect()
    };
    assert_eq!(s.get_json("/api/settings").await["data"]["bounce.action_semantics"], "rebound");
    let (status, _) =
        s.send_json(Method::PUT, "/api/settings/bounce.action_semantics", &json!("listmonk")).await;
    assert_eq!(status, 200);
    assert_eq!(crate::bounce_ok(&s, "a@example.com", "hard").await, "recorded count=1 action=blocklist");
    let sub = crate::subscriber(&s, a).await;
    assert_eq!((sub["status"].clone(), statuses(sub)), (json!("blocklisted"), vec![json!("confirmed")]));

    s.put_settings(&json!({"bounce.action_semantics": "rebound"})).await;
    assert_eq!(crate::bounce_ok(&s, "d@example.com", "hard").await, "recorded count=1 action=blocklist");
    let sub = crate::subscriber(&s, d).await;
    assert_eq!((sub["status"].clone(), statuses(sub)), (json!("blocklisted"), vec![json!("unsubscribed")]));
}

backend_tests!(
    listmonk_default_settings_read_back_unchanged,
    a_listmonk_ui_save_changes_only_the_field_changed,
    one_setting_is_put_by_its_key,
    action_semantics_apply_live
);
