//! "Send a test" on the Campaigns page over plain HTTP, against the sender
//! crate's scriptable SMTP server: the per-subscriber results (a sent one,
//! and a 550 at RCPT that becomes a bounce in /api/bounces), the handler's
//! refusals shown with the addresses kept, CSRF and permissions.

#[path = "../../../sender/tests/smtp/fake.rs"]
#[allow(dead_code)]
mod fake;

use fake::FakeSmtp;

use crate::http::{hidden, login, page, post_form};
use rebound_testkit::{Backend, TestServer, backend_tests};
use serde_json::json;

/// Logs in through the login form; returns the session cookie's value.
async fn log_in(s: &TestServer, user: &str, password: &str) -> String {
    let (session, _, status) = login(s, user, password, &[]).await;
    assert_eq!(status, 303, "login as {user}");
    session.expect("session cookie")
}

async fn get(s: &TestServer, session: &str, path: &str) -> (u16, String) {
    let (status, _, body) = page(s, session, path).await;
    (status, body)
}

async fn post(s: &TestServer, session: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let (status, _, body) = post_form(s, session, path, form).await;
    (status, body)
}

/// The results table's row of `email`.
fn row<'a>(html: &'a str, email: &str) -> &'a str {
    let table =
        &html[html.find("id=\"test-results\"").unwrap_or_else(|| panic!("no results table: {html}"))..];
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<tr")
        .find(|r| r.contains(&format!(">{email}<")))
        .unwrap_or_else(|| panic!("no row for {email} in {table}"))
}

/// The textarea's content.
fn textarea(html: &str) -> &str {
    let start = html.find("id=\"test-subscribers\"").expect("the textarea");
    let start = start + html[start..].find('>').unwrap() + 1;
    &html[start..start + html[start..].find("</textarea>").unwrap()]
}

async fn campaign(s: &TestServer, list: i64) -> i64 {
    let d = s
        .post_ok(
            "/api/campaigns",
            &json!({"name": "Spring sale", "subject": "Spring news", "from_email": "News <news@site.test>",
                    "body": "<p>Hello</p>", "lists": [list]}),
        )
        .await;
    d["id"].as_i64().unwrap()
}

async fn send_a_test_shows_sent_and_bounced_results(b: Backend) {
    let fake = FakeSmtp::start().await;
    fake.rcpt("gone@x.test", &["550 5.1.1 <gone@x.test>: Recipient address rejected: User unknown"]);
    let s = TestServer::start(b).await;
    s.put_settings(&json!({
        "bounce.enabled": true,
        "smtp": [{"enabled": true, "host": "127.0.0.1", "port": fake.port, "max_msg_retries": 0,
                  "email_headers": [{"Return-Path": "bounces@site.test"}]}],
    }))
    .await;
    let list = s.create_list("News").await;
    for e in ["ok@x.test", "gone@x.test"] {
        s.create_subscriber(e, &[list]).await;
    }
    let cid = campaign(&s, list).await;
    let session = log_in(&s, "admin", &s.admin_password).await;

    // The list leads to the form; the old "not landed" note is gone.
    let (status, html) = get(&s, &session, "/admin/campaigns").await;
    assert_eq!(status, 200);
    let path = format!("/admin/campaigns/{cid}/test");
    assert!(html.contains(&format!("href=\"{path}\"")), "{html}");
    assert!(!html.contains("has not landed") && !html.contains("disabled aria-describedby"), "{html}");

    let (status, html) = get(&s, &session, &path).await;
    assert_eq!(status, 200);
    assert!(html.contains("<label for=\"test-subscribers\">"), "the textarea is labelled: {html}");
    assert!(html.contains("Spring sale"));
    let csrf = hidden(&html, "csrf");

    // Without the CSRF token nothing is sent.
    let (status, _) = post(&s, &session, &path, &[("subscribers", "ok@x.test")]).await;
    assert_eq!(status, 403);
    assert!(fake.messages().is_empty());

    let typed = "ok@x.test\r\ngone@x.test";
    let (status, html) = post(&s, &session, &path, &[("csrf", &csrf), ("subscribers", typed)]).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("1 accepted by the SMTP server, 1 bounced"), "{html}");
    let ok = row(&html, "ok@x.test");
    assert!(ok.contains("data-outcome=\"sent\"") && ok.contains(">sent</span>"), "{ok}");
    assert!(ok.contains("<code>250"), "the server's reply: {ok}");
    assert!(ok.contains("nothing to record"), "{ok}");
    let gone = row(&html, "gone@x.test");
    assert!(gone.contains("data-outcome=\"bounced\"") && gone.contains(">bounced</span>"), "{gone}");
    assert!(
        gone.contains(
            "<code>550 5.1.1 &#60;gone@x.test&#62;: Recipient address rejected: User unknown</code>"
        ) || gone
            .contains("<code>550 5.1.1 &lt;gone@x.test&gt;: Recipient address rejected: User unknown</code>"),
        "the reply text, escaped: {gone}"
    );
    assert!(gone.contains("in reply to RCPT TO"), "{gone}");
    assert!(gone.contains("class=\"badge type-hard\">hard</span>"), "{gone}");
    assert!(gone.contains("reason: userunknown, status 5.1.1"), "{gone}");
    assert!(gone.contains("recorded count=1"), "the recording outcome: {gone}");
    assert_eq!(textarea(&html), typed, "the addresses stay in the form");
    assert_eq!(fake.messages().len(), 1);

    let bounces = s.get_json("/api/bounces?source=smtp").await;
    let rows = bounces["data"]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{bounces}");
    assert_eq!(rows[0]["email"], "gone@x.test");
    assert_eq!(rows[0]["type"], "hard");
    assert_eq!(rows[0]["campaign"]["id"], cid, "{bounces}");
    assert_eq!(rows[0]["meta"]["reply_code"], 550);
}

async fn send_a_test_shows_the_handlers_refusals(b: Backend) {
    let fake = FakeSmtp::start().await;
    let s = TestServer::start(b).await;
    s.put_settings(&json!({
        "bounce.enabled": true,
        "smtp": [{"enabled": true, "host": "127.0.0.1", "port": fake.port, "max_msg_retries": 0}],
    }))
    .await;
    let list = s.create_list("News").await;
    s.create_subscriber("ok@x.test", &[list]).await;
    let cid = campaign(&s, list).await;
    let session = log_in(&s, "admin", &s.admin_password).await;
    let path = format!("/admin/campaigns/{cid}/test");
    let csrf = hidden(&get(&s, &session, &path).await.1, "csrf");

    // 400 (not a subscriber): at the field, addresses kept.
    let typed = "ok@x.test, nobody@x.test";
    let (status, html) = post(&s, &session, &path, &[("csrf", &csrf), ("subscribers", typed)]).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    let at = html.find("id=\"test-subscribers-error\"").expect("the error at the field");
    assert!(
        html[at..].starts_with("id=\"test-subscribers-error\">nobody@x.test is not a subscriber"),
        "{html}"
    );
    assert_eq!(textarea(&html), typed);
    assert!(!html.contains("id=\"test-results\""));

    // Nothing typed: the handler's 400, at the field.
    let (status, html) = post(&s, &session, &path, &[("csrf", &csrf), ("subscribers", " \n ")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("no subscribers to send the test to"), "{html}");

    // 404: an unknown campaign, at the top.
    let (status, html) =
        post(&s, &session, "/admin/campaigns/999999/test", &[("csrf", &csrf), ("subscribers", "ok@x.test")])
            .await;
    assert_eq!(status, 404, "{html}");
    assert!(html.contains("id=\"test-error\">campaign 999999 not found"), "{html}");
    assert_eq!(textarea(&html), "ok@x.test");
    assert_eq!(get(&s, &session, "/admin/campaigns/999999/test").await.0, 404);

    // 502: the message could not be handed over (the sender was refused).
    fake.mail_from(&["553 5.7.1 <news@site.test>: Sender address rejected"]);
    let (status, html) = post(&s, &session, &path, &[("csrf", &csrf), ("subscribers", "ok@x.test")]).await;
    assert_eq!(status, 502, "{html}");
    let at = html.find("id=\"test-error\">").expect("the error at the top");
    assert!(html[at..].contains("the test could not be sent to ok@x.test"), "{html}");
    assert_eq!(textarea(&html), "ok@x.test");
    assert!(fake.messages().is_empty());
    assert_eq!(s.get_json("/api/bounces").await["data"]["total"], 0);

    // Without campaigns:manage: no control, and 403 on the form and the post.
    s.post_ok(
        "/api/users",
        &json!({"username": "reader", "type": "user", "password": "reader-password",
                "permissions": ["campaigns:get"]}),
    )
    .await;
    let commands = fake.commands().len();
    let reader = log_in(&s, "reader", "reader-password").await;
    let (status, html) = get(&s, &reader, "/admin/campaigns").await;
    assert_eq!(status, 200);
    assert!(html.contains("Spring sale") && !html.contains("Send a test"), "{html}");
    assert_eq!(get(&s, &reader, &path).await.0, 403);
    let reader_csrf = hidden(&html, "csrf");
    let (status, _) = post(&s, &reader, &path, &[("csrf", &reader_csrf), ("subscribers", "ok@x.test")]).await;
    assert_eq!(status, 403);
    assert_eq!(fake.commands().len(), commands, "nothing reached the SMTP server");
}

backend_tests!(send_a_test_shows_sent_and_bounced_results, send_a_test_shows_the_handlers_refusals);
