//! The web UI: its HTTP-level security (sessions, cookies, CSRF,
//! permissions), "Send a test" against a fake SMTP server, and its pages
//! driven in real headless Chromium over WebDriver, each saving a screenshot
//! under `target/test-output/ui/` (or `$REBOUND_TEST_OUTPUT/ui/`).

mod bounce_actions;
mod browser;
mod campaign_report;
mod campaign_test;
mod events_pages;
mod failing_source;
mod forms;
mod http;
mod page_chrome;
mod pages;
mod provider_status;
mod reasons;
mod reclassify;
mod security;

use browser::Browser;
use rebound_testkit::{ADMIN_USER, TestServer};
use reqwest::Method;
use serde_json::Value;

/// Logs in through the login form as the admin; ends on the dashboard.
pub async fn log_in(b: &Browser, s: &TestServer) {
    b.goto(&s.url("/admin/login")).await;
    b.fill("#username", ADMIN_USER).await;
    b.fill("#password", &s.admin_password).await;
    b.click_to_load("form button[type=submit]").await;
    b.wait_for_url("/admin/").await;
    b.find("h1").await;
}

/// POST /webhooks/bounce as the admin (webhooks must be on); asserts success.
pub async fn record(s: &TestServer, body: &Value) {
    let res = s.req(Method::POST, "/webhooks/bounce").json(body).send().await.expect("POST /webhooks/bounce");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    assert!(status.is_success(), "recording {body}: {status} {text}");
}
