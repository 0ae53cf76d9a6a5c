//! A mailbox that fails every scan cannot be missed: the dashboard counts it
//! in red and every page carries a banner naming it and its error, in real
//! headless Chromium (screenshots: failing-mailbox-dashboard.png,
//! failing-mailbox-bounces.png).

use std::time::{Duration, Instant};

use rebound_testkit::{Backend, TestServer};
use serde_json::json;

use super::browser::Browser;
use super::log_in;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_mailbox_shows_on_the_dashboard_and_every_page() {
    let s = TestServer::start(Backend::Sqlite).await;
    // Nothing listens on this port: every scan fails to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    s.put_settings(&json!({"bounce.enabled": true, "bounce.mailboxes": [{
        "enabled": true, "type": "pop", "host": "127.0.0.1", "port": port, "auth_protocol": "userpass",
        "username": "bounces@site.test", "password": "x", "tls_enabled": false, "scan_interval": "1h"}]}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.get_json("/api/bounces/mailboxes").await["data"][0]["last_ok"] != json!(false) {
        assert!(Instant::now() < deadline, "the scan never failed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let b = Browser::start().await;
    log_in(&b, &s).await;
    b.goto(&s.url("/admin/")).await;
    let card = b.text_of("#mailboxes-card").await.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(card, "1 of 1 mailbox failing", "{card}");
    let colour = b
        .script("return getComputedStyle(document.querySelector('#mailboxes-card .big')).color", json!([]))
        .await;
    assert_eq!(colour, "rgb(192, 57, 43)", "in red, not neutral black");
    let banner = b.text_of("#failing-sources").await;
    assert!(
        banner.contains("A bounce mailbox is failing")
            && banner.contains(&format!("bounces@site.test at 127.0.0.1:{port} (POP3)")),
        "{banner}"
    );
    b.screenshot("failing-mailbox-dashboard").await;

    // Every page, e.g. the bounces list, carries it, linking to the mailbox.
    b.goto(&s.url("/admin/bounces")).await;
    assert!(b.text_of("#failing-sources").await.contains("not being read"));
    b.screenshot("failing-mailbox-bounces").await;
    b.click_to_load("#failing-sources a").await;
    b.wait_for_url("/admin/mailboxes").await;
    b.close().await;
}
