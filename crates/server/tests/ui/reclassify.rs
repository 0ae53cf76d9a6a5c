//! A bounce's page over plain HTTP: the explanation of its verdict, the
//! form that corrects it (CSRF, confirmation, permission), and the history
//! of corrections.

use rebound_testkit::{Backend, TestServer};
use serde_json::json;

use crate::http::{hidden, login, page, post_form as post};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bounce_page_explains_and_corrects_the_verdict() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.enable_webhooks().await;
    let list = s.create_list("Newsletter").await;
    let (carol, _) = s.create_subscriber("carol@example.com", &[list]).await;
    // listmonk's default rules: one hard bounce blocklists.
    super::record(
        &s,
        &json!({"email": "carol@example.com", "source": "pop.example.com", "type": "soft",
                "meta": {"status": "4.7.1", "explanation": "status 4.7.1 → greylisting → soft"}}),
    )
    .await;
    let id = s.get_json("/api/bounces").await["data"]["results"][0]["id"].as_i64().unwrap();
    let here = format!("/admin/bounces/{id}");
    let action = format!("{here}/reclassify");
    let (session, _, _) = login(&s, "admin", &s.admin_password, &[]).await;
    let session = session.unwrap();

    let (status, _, html) = page(&s, &session, &here).await;
    assert_eq!(status, 200);
    assert!(html.contains("<strong>Why:</strong> status 4.7.1 → greylisting → soft"), "{html}");
    assert!(html.contains(&format!("action=\"{action}\"")), "the form is offered to bounces:manage");
    assert!(html.contains("<option value=\"hard\">") && !html.contains("<option value=\"soft\">"));
    assert!(!html.contains("bounce-corrections"), "no corrections yet");
    let csrf = hidden(&html, "csrf");

    // No CSRF token: refused, nothing changes.
    let (status, _, _) = post(&s, &session, &action, &[("type", "hard"), ("confirmed", "yes")]).await;
    assert_eq!(status, 403);
    // Without JavaScript the server asks first, saying what the rule will do.
    let form = [("csrf", csrf.as_str()), ("type", "hard"), ("note", "the address is gone")];
    let (status, _, ask) = post(&s, &session, &action, &form).await;
    assert_eq!(status, 200);
    assert!(ask.contains("Reclassify the soft bounce of carol@example.com as hard?"), "{ask}");
    assert!(ask.contains("at 1 hard bounce(s) the subscriber is blocklisted"), "{ask}");
    assert_eq!(s.get_json(&format!("/api/bounces/{id}")).await["data"]["type"], "soft", "asked, not done");

    let confirmed = [form.as_slice(), &[("confirmed", "yes")]].concat();
    let (status, location, _) = post(&s, &session, &action, &confirmed).await;
    assert_eq!((status, location.as_str()), (303, format!("{here}?done=reclassified").as_str()));
    let (_, _, html) = page(&s, &session, &location).await;
    assert!(html.contains("Bounce reclassified; its rule was evaluated again."), "flash");
    assert!(html.contains("badge type-hard"), "{html}");
    assert!(html.contains("bounce-corrections"));
    assert!(html.contains("(the verdict as received; corrected below)"), "the explanation is the source's");
    for part in [
        "<td data-label=\"By\">admin</td>",
        "soft → hard",
        "the address is gone",
        "1 hard bounce(s): blocklist",
    ] {
        assert!(html.contains(part), "{part} missing from the history");
    }
    assert_eq!(s.get_json(&format!("/api/subscribers/{carol}")).await["data"]["status"], "blocklisted");

    // Back to soft: the history grows, and says the blocklist stays.
    let (status, _, _) =
        post(&s, &session, &action, &[("csrf", &csrf), ("type", "soft"), ("confirmed", "yes")]).await;
    assert_eq!(status, 303);
    let (_, _, html) = page(&s, &session, &here).await;
    assert_eq!(html.matches("<td data-label=\"By\">admin</td>").count(), 2);
    assert!(html.contains("hard → soft"));
    assert!(
        html.contains("the subscriber stays blocklisted (a correction never lifts a blocklist)"),
        "{html}"
    );
    assert_eq!(s.get_json(&format!("/api/subscribers/{carol}")).await["data"]["status"], "blocklisted");

    // A bad type is a 400 page; an unknown bounce a 404 page.
    let (status, _, _) =
        post(&s, &session, &action, &[("csrf", &csrf), ("type", "bogus"), ("confirmed", "yes")]).await;
    assert_eq!(status, 400);
    let (status, _, _) = post(
        &s,
        &session,
        "/admin/bounces/999999/reclassify",
        &[("csrf", &csrf), ("type", "hard"), ("confirmed", "yes")],
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_the_verdict_but_cannot_correct_it() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.enable_webhooks().await;
    s.create_subscriber("a@example.com", &[]).await;
    super::record(
        &s,
        &json!({"email": "a@example.com", "source": "api", "type": "soft",
        "meta": {"explanation": "reply 452 → mailboxfull → soft"}}),
    )
    .await;
    let id = s.get_json("/api/bounces").await["data"]["results"][0]["id"].as_i64().unwrap();
    s.post_ok(
        "/api/users",
        &json!({"username": "viewer", "type": "user", "password": "viewer-password", "permissions": ["bounces:get"]}),
    )
    .await;
    let (session, _, _) = login(&s, "viewer", "viewer-password", &[]).await;
    let session = session.unwrap();
    let (status, _, html) = page(&s, &session, &format!("/admin/bounces/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<strong>Why:</strong> reply 452 → mailboxfull → soft"));
    assert!(!html.contains("/reclassify"), "no form it may not use");
    let csrf = hidden(&html, "csrf");
    let path = format!("/admin/bounces/{id}/reclassify");
    let (status, _, _) =
        post(&s, &session, &path, &[("csrf", &csrf), ("type", "hard"), ("confirmed", "yes")]).await;
    assert_eq!(status, 403);
    assert_eq!(s.get_json(&format!("/api/bounces/{id}")).await["data"]["type"], "soft");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_whose_rule_deletes_goes_back_to_the_listing() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.actions": {"soft": {"count": 2, "action": "none"},
        "hard": {"count": 1, "action": "blocklist"}, "complaint": {"count": 1, "action": "delete"}}}))
        .await;
    let (a, _) = s.create_subscriber("a@example.com", &[]).await;
    super::record(&s, &json!({"email": "a@example.com", "source": "api", "type": "soft"})).await;
    let id = s.get_json("/api/bounces").await["data"]["results"][0]["id"].as_i64().unwrap();
    let (session, _, _) = login(&s, "admin", &s.admin_password, &[]).await;
    let session = session.unwrap();
    let (_, _, html) = page(&s, &session, &format!("/admin/bounces/{id}")).await;
    assert!(!html.contains("bounce-why"), "no explanation from this source: nothing shown");
    let csrf = hidden(&html, "csrf");
    let path = format!("/admin/bounces/{id}/reclassify");
    let (status, _, ask) = post(&s, &session, &path, &[("csrf", &csrf), ("type", "complaint")]).await;
    assert_eq!(status, 200);
    assert!(ask.contains("at 1 complaint bounce(s) the subscriber is deleted with all its bounces"), "{ask}");
    let (status, location, _) =
        post(&s, &session, &path, &[("csrf", &csrf), ("type", "complaint"), ("confirmed", "yes")]).await;
    assert_eq!((status, location.as_str()), (303, "/admin/bounces?done=reclassified-deleted"));
    let (_, _, html) = page(&s, &session, &location).await;
    assert!(html.contains("Bounce reclassified; its rule deleted the subscriber and its bounces."));
    assert_eq!(
        s.req(reqwest::Method::GET, &format!("/api/subscribers/{a}")).send().await.unwrap().status(),
        404
    );
}
