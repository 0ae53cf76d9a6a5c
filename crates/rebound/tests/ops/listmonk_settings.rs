//! `rebound serve` on its own database holding a listmonk database's
//! settings: listmonk v6.2.0's default rows (its schema.sql), with
//! `auth_protocol: "cram"` and every key rebound does not use.

use rebound_testkit::{Backend, OpenStore, TestDb, listmonk};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::Server;

async fn serve_starts_on_listmonks_default_settings(backend: Backend) {
    let Some(defaults) = listmonk::default_settings() else { return };
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.save_settings(&defaults).await.unwrap();
    let server = Server::start(&db.url).await;
    let shown = server.ok(Method::GET, "/api/settings", &Value::Null).await;
    assert_eq!(shown["smtp"][0]["auth_protocol"], "cram");
    assert_eq!(shown["app.site_name"], defaults["app.site_name"]);
    // A save through it keeps them.
    server.put_settings(json!({"bounce.enabled": true})).await;
    let stored = store.load_settings().await.unwrap();
    let unchanged = defaults.into_iter().filter(|(k, _)| k != "bounce.enabled").collect();
    listmonk::assert_kept(&unchanged, &stored);
    assert_eq!(stored["bounce.enabled"], true);
}

rebound_testkit::backend_tests!(serve_starts_on_listmonks_default_settings);
