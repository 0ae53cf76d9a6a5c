//! Every error of the API and the webhooks is `{"message": ...}`, as
//! listmonk answers, also the ones axum produces itself (a path id that is
//! not a number, a method the route does not have).

use rebound_testkit::{Backend, TestServer};
use reqwest::Method;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_rejections_answer_in_json() {
    let s = TestServer::start(Backend::Sqlite).await;
    for (method, path, status) in [
        (Method::GET, "/api/subscribers/abc", 400),
        (Method::GET, "/api/bounces/1x", 400),
        (Method::DELETE, "/api/lists/99999999999999999999", 400),
        (Method::PATCH, "/api/settings", 405),
        (Method::GET, "/webhooks/bounce", 405),
    ] {
        let res = s.req(method.clone(), path).send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{method} {path}");
        let allow = res.headers().get("allow").cloned();
        assert_eq!(res.headers()["content-type"], "application/json", "{method} {path}");
        let body: Value = res.json().await.unwrap();
        let message = body["message"].as_str().unwrap_or_else(|| panic!("{method} {path}: {body}"));
        assert!(!message.is_empty(), "{method} {path}");
        if status == 405 {
            assert!(allow.is_some(), "{method} {path}: the Allow header is kept");
        }
    }
    // The pages keep their HTML.
    let page = s.req(Method::GET, "/admin/subscribers/abc").send().await.unwrap();
    assert!(!page.headers()["content-type"].to_str().unwrap().contains("json"));
}
