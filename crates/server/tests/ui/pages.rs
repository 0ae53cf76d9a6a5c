//! The pages in real headless Chromium. Each test starts its own server
//! (SQLite; the store's behaviour is tested on both backends elsewhere) and
//! its own browser, and saves screenshots of what it checked.

use chrono::Utc;
use rebound_testkit::{Backend, TestServer};
use serde_json::json;

use super::browser::Browser;
use super::{log_in, record};

async fn server_with_bounces() -> TestServer {
    let s = TestServer::start(Backend::Sqlite).await;
    s.enable_webhooks().await;
    let list = s.create_list("Newsletter").await;
    for email in ["carol@example.com", "alice@example.com", "bob@example.com"] {
        s.create_subscriber(email, &[list]).await;
    }
    let (_, campaign) = s.create_campaign("Spring sale").await;
    record(
        &s,
        &json!({"email": "carol@example.com", "source": "api", "type": "soft", "campaign_uuid": campaign}),
    )
    .await;
    record(
        &s,
        &json!({"email": "bob@example.com", "source": "ses", "type": "hard", "campaign_uuid": campaign,
                "meta": {"status": "5.1.1", "diagnostic": "550 5.1.1 <bob@example.com>: user unknown",
                         "mta": {"name": "mx.example.com", "ip": "192.0.2.7"}}}),
    )
    .await;
    // Soft first: after the complaint blocklists her, bounces are no longer inserted.
    record(&s, &json!({"email": "alice@example.com", "source": "api", "type": "soft"})).await;
    record(&s, &json!({"email": "alice@example.com", "source": "postmark", "type": "complaint"})).await;
    s
}

/// The e-mail column, top to bottom (without the status badge).
async fn emails(b: &Browser) -> Vec<String> {
    let mut out = Vec::new();
    for t in b.texts("#bounces-table tbody td.email").await {
        out.push(t.split_whitespace().next().unwrap_or_default().to_string());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_refuses_a_wrong_password() {
    let s = TestServer::start(Backend::Sqlite).await;
    let b = Browser::start().await;

    // Any page sends an anonymous visitor to the login form, and back after.
    b.goto(&s.url("/admin/bounces")).await;
    b.wait_for_url("/admin/login").await;

    b.fill("#username", "admin").await;
    b.fill("#password", "not-the-password").await;
    b.click_to_load("form button[type=submit]").await;
    let msg = b.text_of("#login-error").await;
    assert_eq!(msg, "Invalid username or password.");
    assert!(b.url().await.contains("/admin/login"));
    b.screenshot("login-wrong-password").await;

    // An unknown user gets the very same answer.
    b.fill("#username", "nobody").await;
    b.fill("#password", "whatever-password").await;
    b.click_to_load("form button[type=submit]").await;
    assert_eq!(b.text_of("#login-error").await, msg);

    b.fill("#username", "admin").await;
    b.fill("#password", &s.admin_password).await;
    b.click_to_load("form button[type=submit]").await;
    let url = b.wait_for_url("/admin/bounces").await;
    assert!(url.ends_with("/admin/bounces"), "{url}");
    assert!(b.text_of("h1").await.starts_with("Bounces"));
    // The session cookie is HttpOnly: scripts cannot read it.
    let cookies = b.script("return document.cookie", json!([])).await;
    assert!(!cookies.as_str().unwrap_or_default().contains("rebound_session"), "{cookies}");
    b.screenshot("login-ok").await;

    // Logging out ends the session: pages ask for a login again.
    b.click_to_load(".logout button").await;
    b.wait_for_url("/admin/login").await;
    b.goto(&s.url("/admin/")).await;
    b.wait_for_url("/admin/login").await;
    b.screenshot("logged-out").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounces_table_sorts_filters_shows_meta_and_deletes() {
    let s = server_with_bounces().await;
    let b = Browser::start().await;
    log_in(&b, &s).await;

    // Recorded through the API, seen in the table (newest first).
    b.goto(&s.url("/admin/bounces")).await;
    b.wait_for_count("#bounces-table tbody tr", 4).await;
    assert_eq!(
        emails(&b).await,
        ["alice@example.com", "alice@example.com", "bob@example.com", "carol@example.com"].map(String::from),
        "newest first"
    );
    let bob_row = b.text_of("#bounces-table tbody tr:nth-child(3)").await;
    for part in ["bob@example.com", "blocklisted", "Spring sale", "Amazon SES", "hard", "user unknown"] {
        assert!(bob_row.contains(part), "{part} missing from {bob_row:?}");
    }
    b.screenshot("bounces").await;

    // Sort by e-mail: ascending, then descending.
    b.click_to_load("#bounces-table thead a[data-sort='E-mail']").await;
    b.wait_for_url("order_by=email").await;
    let sorted = emails(&b).await;
    let mut expected = sorted.clone();
    expected.sort();
    assert_eq!(sorted, expected);
    assert_eq!(sorted[0], "alice@example.com");
    let th = b.find("#bounces-table thead th[aria-sort='ascending']").await;
    assert!(b.text(&th).await.starts_with("E-mail"));
    b.screenshot("bounces-sorted-by-email").await;
    b.click_to_load("#bounces-table thead a[data-sort='E-mail']").await;
    b.wait_for_url("order=desc").await;
    assert_eq!(emails(&b).await[0], "carol@example.com");

    // Filter by type.
    b.click_on("#filter-type option[value='hard']").await;
    b.click_to_load("#apply-filters").await;
    b.wait_for_url("type=hard").await;
    b.wait_for_count("#bounces-table tbody tr", 1).await;
    assert_eq!(emails(&b).await, ["bob@example.com"]);
    assert_eq!(b.text_of("#bounce-total").await, "1");
    let export = b.find("#export-csv").await;
    assert!(
        b.attribute(&export, "href").await.unwrap_or_default().contains("type=hard"),
        "CSV export keeps the filter"
    );
    b.screenshot("bounces-filtered-hard").await;

    // Open a bounce's meta: pretty-printed JSON.
    b.click_to_load("#bounces-table tbody tr a.button").await;
    b.wait_for_url("/admin/bounces/").await;
    let meta = b.text_of("#bounce-meta").await;
    assert!(meta.contains("\"diagnostic\": \"550 5.1.1 <bob@example.com>: user unknown\""), "{meta}");
    assert!(meta.contains("\n  \"mta\": {\n    \""), "indented: {meta}");
    b.screenshot("bounce-meta").await;

    // Delete one, confirming in the browser's dialog.
    b.goto(&s.url("/admin/bounces?order_by=email&order=asc")).await;
    b.wait_for_count("#bounces-table tbody tr", 4).await;
    let row = b.find("#bounces-table tbody tr:last-child").await;
    let id = b.attribute(&row, "data-id").await.expect("row id");
    b.click_on("#bounces-table tbody tr:last-child button.danger").await;
    let question = b.alert_text().await;
    assert!(question.contains("carol@example.com"), "{question}");
    b.accept_alert().await;
    b.wait_for_count("#bounces-table tbody tr", 3).await;
    assert_eq!(b.text_of(".flash").await, "Deleted 1 bounce.");
    assert!(!emails(&b).await.contains(&"carol@example.com".to_string()));
    let api = s.get_json("/api/bounces").await;
    assert_eq!(api["data"]["total"], 3);
    let (status, _) = s.send_json(reqwest::Method::GET, &format!("/api/bounces/{id}"), &json!(null)).await;
    assert_eq!(status, 404, "the API no longer has bounce {id}");
    b.screenshot("bounce-deleted").await;

    // Readable on a phone: no sideways scrolling at 375 px.
    b.emulate_phone(375, 800).await;
    b.goto(&s.url("/admin/bounces")).await;
    b.wait_for_count("#bounces-table tbody tr", 3).await;
    let widths =
        b.script("return [window.innerWidth, document.documentElement.scrollWidth]", json!([])).await;
    assert_eq!(widths[0], 375, "the phone screen is emulated");
    assert!(widths[1].as_i64().unwrap_or(999) <= 375, "the page scrolls sideways at 375 px: {widths}");
    // The first bounce is on the first screen, not 690 px down.
    let top = b
        .script(
            "return document.querySelector('#bounces-table tbody tr').getBoundingClientRect().top",
            json!([]),
        )
        .await;
    assert!(top.as_f64().unwrap() < 560.0, "the first bounce starts {top} px down on a phone");
    b.screenshot("bounces-phone").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_soft_bounce_rule_reaches_the_api() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.put_settings(&json!({"bounce.sendgrid_key": "MFkw-sendgrid-secret-key"})).await;
    let b = Browser::start().await;
    log_in(&b, &s).await;

    b.goto(&s.url("/admin/settings/bounces")).await;
    // The stored secret is a placeholder in the page, never the value.
    let key = b.property("[name='bounce.sendgrid_key']", "value").await;
    assert_eq!(key, "••••••••");
    let source = b.script("return document.documentElement.outerHTML", json!([])).await;
    assert!(!source.as_str().unwrap_or_default().contains("sendgrid-secret"), "a secret reached the page");
    // Every provider shows its webhook URL to copy.
    let url = b.property("#provider-ses-url", "value").await;
    assert_eq!(url, format!("{}/webhooks/service/ses", s.base));

    b.fill("[name='bounce.actions.soft.count']", "3").await;
    b.click_on("[name='bounce.actions.soft.action'] option[value='unsubscribe']").await;
    b.click_on("[name='bounce.action_semantics'] option[value='listmonk']").await;
    b.click_on("[name='bounce.enabled']").await;
    b.click_to_load("#save-settings").await;
    b.wait_for_url("done=saved").await;
    assert!(b.text_of(".flash").await.starts_with("Settings saved"));
    let api = s.get_json("/api/settings").await["data"].clone();
    assert_eq!(api["bounce.actions"]["soft"], json!({"count": 3, "action": "unsubscribe"}));
    assert_eq!(api["bounce.action_semantics"], "listmonk");
    assert_eq!(api["bounce.enabled"], true);
    let stored = s.store.load_settings().await.unwrap();
    assert_eq!(stored["bounce.sendgrid_key"], "MFkw-sendgrid-secret-key", "saving kept the secret");
    assert_eq!(b.property("[name='bounce.actions.soft.count']", "value").await, "3");
    b.screenshot("settings-bounces-saved").await;

    // A value the settings refuse is shown next to its field, and nothing changes.
    b.script("document.getElementById('settings-form').noValidate = true", json!([])).await;
    b.fill("[name='bounce.actions.soft.count']", "0").await;
    b.click_to_load("#save-settings").await;
    let err = b.text_of("#f-bounce-actions-soft-count-error").await;
    assert!(err.contains("at least 1"), "{err}");
    let input = b.find("[name='bounce.actions.soft.count']").await;
    assert_eq!(b.attribute(&input, "aria-invalid").await.as_deref(), Some("true"));
    assert!(b.text_of("#error-summary").await.contains("Soft bounces: Count"));
    assert_eq!(s.get_json("/api/settings").await["data"]["bounce.actions"]["soft"]["count"], 3);
    b.screenshot("settings-bounces-error").await;

    // SMTP: custom headers as JSON.
    b.goto(&s.url("/admin/settings/smtp")).await;
    b.fill("[name='smtp[0].host']", "smtp.example.com").await;
    b.fill(
        "[name='smtp[0].email_headers']",
        r#"[{"Return-Path": "bounces@example.com"}, {"Reply-To": "hello@example.com"}]"#,
    )
    .await;
    b.click_to_load("#save-settings").await;
    b.wait_for_url("done=saved").await;
    let smtp = s.get_json("/api/settings").await["data"]["smtp"].clone();
    assert_eq!(smtp[0]["host"], "smtp.example.com");
    assert_eq!(
        smtp[0]["email_headers"],
        json!([{"Return-Path": "bounces@example.com"}, {"Reply-To": "hello@example.com"}])
    );
    b.screenshot("settings-smtp-saved").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_chart_shows_the_bounces_just_recorded() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.enable_webhooks().await;
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        s.create_subscriber(email, &[]).await;
    }
    let (_, campaign) = s.create_campaign("Autumn letter").await;
    let three_days_ago = (Utc::now() - chrono::Duration::days(3)).to_rfc3339();
    record(
        &s,
        &json!({"email": "a@example.com", "source": "api", "type": "soft", "campaign_uuid": campaign}),
    )
    .await;
    record(&s, &json!({"email": "b@example.com", "source": "api", "type": "soft"})).await;
    record(
        &s,
        &json!({"email": "c@example.com", "source": "ses", "type": "hard", "campaign_uuid": campaign}),
    )
    .await;
    record(&s, &json!({"email": "a@example.com", "source": "ses", "type": "complaint", "created_at": three_days_ago}))
        .await;
    record(&s, &json!({"email": "nobody@example.com", "source": "api", "type": "hard"})).await;

    let b = Browser::start().await;
    log_in(&b, &s).await;
    let today = Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let earlier = (Utc::now() - chrono::Duration::days(3)).date_naive().format("%Y-%m-%d").to_string();
    let bar =
        |day: &str, kind: &str| format!("#bounce-chart g.day[data-day='{day}'] rect[data-type='{kind}']");

    let soft = b.find(&bar(&today, "soft")).await;
    assert_eq!(b.attribute(&soft, "data-count").await.as_deref(), Some("2"));
    let hard = b.find(&bar(&today, "hard")).await;
    assert_eq!(b.attribute(&hard, "data-count").await.as_deref(), Some("1"));
    let complaint = b.find(&bar(&earlier, "complaint")).await;
    assert_eq!(b.attribute(&complaint, "data-count").await.as_deref(), Some("1"));
    assert_eq!(b.find_all("#bounce-chart g.day").await.len(), 30);
    // Drawn, not just present: today's soft bar is twice as tall as its hard bar.
    let heights = b
        .script(
            "return [arguments[0].getBoundingClientRect().height, arguments[1].getBoundingClientRect().height]",
            json!([{"element-6066-11e4-a52e-4f735466cecf": element_id(&b, &bar(&today, "soft")).await},
                   {"element-6066-11e4-a52e-4f735466cecf": element_id(&b, &bar(&today, "hard")).await}]),
        )
        .await;
    let (hs, hh) = (heights[0].as_f64().unwrap(), heights[1].as_f64().unwrap());
    assert!(hh > 5.0 && (hs / hh - 2.0).abs() < 0.05, "soft {hs} px, hard {hh} px");
    assert_eq!(b.text_of("[data-legend='soft']").await, "2");
    assert_eq!(b.text_of("[data-legend='hard']").await, "1");
    assert_eq!(b.text_of("[data-legend='complaint']").await, "1");
    // The other panels.
    let sources = b.text_of("#sources").await;
    assert!(sources.contains("API 2") && sources.contains("Amazon SES 2"), "{sources}");
    assert!(b.text_of("#top-campaigns").await.contains("Autumn letter 2"));
    let unmatched = b.text_of("#unmatched-count").await.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(unmatched, "1 unmatched bounce waiting");
    b.screenshot("dashboard-chart").await;

    // The unmatched bounce is matched once its subscriber exists.
    s.create_subscriber("nobody@example.com", &[]).await;
    b.click_to_load("#unmatched-count").await;
    b.wait_for_count("#unmatched-table tbody tr", 1).await;
    b.click_to_load("button[formaction$='/retry'][name='all']").await;
    b.wait_for_url("done=retried").await;
    assert_eq!(b.text_of(".flash").await, "Matched 1 bounce; 0 still unmatched.");
    b.wait_for_count("#unmatched-table tbody tr", 0).await;
    assert_eq!(s.get_json("/api/bounces").await["data"]["total"], 5);
    b.screenshot("unmatched-retried").await;
    b.close().await;
}

async fn element_id(b: &Browser, css: &str) -> String {
    b.element_id(css).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailbox_status_and_test_connection() {
    let s = TestServer::start(Backend::Sqlite).await;
    // A port nothing listens on: the connection test must fail, and say why.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    s.put_settings(&json!({"bounce.mailboxes": [{
        "enabled": false, "type": "pop", "host": "127.0.0.1", "port": closed, "username": "bounces",
        "password": "mbox-secret-password", "scan_interval": "15m", "tls_enabled": false
    }]}))
    .await;
    let settings = s.get_json("/api/settings").await["data"].clone();
    let uuid: uuid::Uuid = settings["bounce.mailboxes"][0]["uuid"].as_str().unwrap().parse().unwrap();
    // What a scan leaves behind, as the scanner records it.
    let now = Utc::now();
    s.store
        .save_mailbox_scan(
            uuid,
            &rebound_store::MailboxScan {
                label: format!("pop://bounces@127.0.0.1:{closed}"),
                started_at: now - chrono::Duration::seconds(3),
                finished_at: now,
                counts: json!({"seen": 3, "recorded": 2, "not_bounces": 1, "removed": 3, "errors": 0}),
                error: None,
            },
        )
        .await
        .unwrap();

    let b = Browser::start().await;
    log_in(&b, &s).await;
    b.goto(&s.url("/admin/mailboxes")).await;
    let row = b.text_of(&format!("#mailboxes-table tr[data-uuid='{uuid}']")).await;
    assert!(row.contains(&format!("bounces at 127.0.0.1:{closed} (POP3)")), "{row}");
    let counts = b.text_of(&format!("tr[data-uuid='{uuid}'] .counts")).await;
    for c in ["seen: 3", "recorded: 2", "not bounces: 1", "removed: 3"] {
        assert!(counts.contains(c), "{c} missing from {counts:?}");
    }
    assert!(b.text_of(&format!("tr[data-uuid='{uuid}'] .last-scan")).await.contains("ok"));
    b.screenshot("mailboxes-status").await;

    b.goto(&s.url("/admin/settings/bounces")).await;
    assert_eq!(b.property("[name='bounce.mailboxes[0].password']", "value").await, "••••••••");
    b.click_to_load("#mailbox-0-test").await;
    let result = b.text_of("#mailbox-0-test-result").await;
    assert!(result.starts_with("Connection failed:"), "{result}");
    assert!(result.contains(&format!("127.0.0.1:{closed}")), "{result}");
    let source = b.script("return document.documentElement.outerHTML", json!([])).await;
    assert!(!source.as_str().unwrap_or_default().contains("mbox-secret"), "the password reached the page");
    b.screenshot_of("#mailbox-0", "settings-mailbox-test-connection").await;
    b.close().await;
}
