//! Users, login sessions and settings.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use rebound_store::{NewSession, NewUser, StoreError, UserType};
use rebound_testkit_db::{Backend, backend_tests};
use serde_json::{Value, json};

use crate::support::Fixture;

async fn users_are_unique_listed_and_deleted(b: Backend) {
    let f = Fixture::new(b).await;
    assert_eq!(f.count_users().await.unwrap(), 0);
    let admin = f.user("admin", &["*"]).await;
    assert_eq!(
        (admin.username.as_str(), admin.user_type, admin.status.as_str()),
        ("admin", UserType::User, "enabled")
    );
    assert_eq!(admin.permissions, vec!["*".to_string()]);
    let api = f
        .create_user(NewUser {
            username: "script".into(),
            name: "Import script".into(),
            user_type: UserType::Api,
            password_hash: "$argon2id$token-hash".into(),
            permissions: vec!["bounces:get".into(), "webhooks:post_bounce".into()],
        })
        .await
        .unwrap();
    let again = f
        .create_user(NewUser {
            username: "admin".into(),
            name: String::new(),
            user_type: UserType::User,
            password_hash: "x".into(),
            permissions: vec![],
        })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(f.count_users().await.unwrap(), 2);

    let found = f.find_user("script").await.unwrap().expect("found");
    assert_eq!((found.id, found.user_type, found.name.as_str()), (api.id, UserType::Api, "Import script"));
    assert_eq!(found.password_hash, "$argon2id$token-hash");
    assert_eq!(found.permissions, vec!["bounces:get".to_string(), "webhooks:post_bounce".to_string()]);
    assert!(f.find_user("Script").await.unwrap().is_none(), "usernames are exact");
    assert!(f.find_user("nobody").await.unwrap().is_none());
    let names: Vec<String> = f.list_users().await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["admin", "script"], "in id order");

    f.delete_user(api.id).await.unwrap();
    assert!(matches!(f.delete_user(api.id).await, Err(StoreError::NotFound(_))));
    assert_eq!(f.count_users().await.unwrap(), 1);
}

async fn a_session_token_is_unique_and_needs_its_user(b: Backend) {
    let f = Fixture::new(b).await;
    let admin = f.user("admin", &["*"]).await;
    let expires_at = Utc::now() + Duration::hours(1);
    let new = |hash: &str, user_id| NewSession {
        token_hash: hash.into(),
        user_id,
        csrf_token: "c".into(),
        expires_at,
    };
    f.create_session(new("h", admin.id)).await.unwrap();
    let twice = f.create_session(new("h", admin.id)).await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    let orphan = f.create_session(new("h2", 999_999)).await;
    assert!(matches!(orphan, Err(StoreError::Invalid(_))), "{orphan:?}");
    // Expiry is exclusive: at the instant of expiry the session is over.
    let at = |t| f.find_session("h", t);
    assert!(at(expires_at - Duration::seconds(1)).await.unwrap().is_some());
    assert!(at(expires_at).await.unwrap().is_none());
    assert_eq!(f.delete_expired_sessions(expires_at - Duration::seconds(1)).await.unwrap(), 0);
    assert_eq!(f.delete_expired_sessions(expires_at).await.unwrap(), 1);
}

async fn settings_keep_any_json_and_only_the_keys_saved(b: Backend) {
    let f = Fixture::new(b).await;
    assert!(f.load_settings().await.unwrap().is_empty());
    assert_eq!(f.settings_version().await.unwrap(), None);
    let values: BTreeMap<String, Value> = [
        ("app.root_url", json!("https://rebound.example.com")),
        ("bounce.enabled", json!(true)),
        (
            "bounce.actions",
            json!({"soft": {"count": 2, "action": "none"},
                   "hard": {"count": 1, "action": "blocklist", "window": "7d"}}),
        ),
        ("bounce.ses_topic_arns", json!(["arn:aws:sns:eu-west-1:123456789012:bounces"])),
        ("bounce.mailboxes", json!([])),
        ("smtp.port", json!(587)),
        ("big", json!(9_007_199_254_740_993_u64)),
        ("ratio", json!(0.25)),
        ("nothing", Value::Null),
        ("text", json!("ünïcødé \"quoted\" \\ back")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    f.save_settings(&values).await.unwrap();
    assert_eq!(f.load_settings().await.unwrap(), values);
    let v1 = f.settings_version().await.unwrap().expect("a version once saved");

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let change: BTreeMap<String, Value> = [("bounce.enabled".to_string(), json!(false))].into();
    f.save_settings(&change).await.unwrap();
    let mut want = values.clone();
    want.insert("bounce.enabled".into(), json!(false));
    assert_eq!(f.load_settings().await.unwrap(), want, "keys not saved stay");
    let v2 = f.settings_version().await.unwrap().unwrap();
    assert!(v2 > v1, "the version moves on every save: {v1} then {v2}");
    f.save_settings(&BTreeMap::new()).await.unwrap();
    assert_eq!(f.load_settings().await.unwrap(), want);
}

backend_tests!(
    users_are_unique_listed_and_deleted,
    a_session_token_is_unique_and_needs_its_user,
    settings_keep_any_json_and_only_the_keys_saved,
);
