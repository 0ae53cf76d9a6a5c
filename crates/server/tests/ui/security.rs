//! The UI's security over plain HTTP (no browser): redirects to the login,
//! cookie flags, CSRF on every state change, logout, and the API's permissions.

use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::header::{COOKIE, LOCATION};
use serde_json::json;

use crate::http::{client, cookie_value, hidden, login, page, post_form, set_cookies};

async fn post(s: &TestServer, session: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let (status, location, _) = post_form(s, session, path, form).await;
    (status, location)
}

async fn pages_need_a_login_and_cookies_are_strict(b: Backend) {
    let s = TestServer::start(b).await;
    let res = client().get(s.url("/admin/bounces?type=hard")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/admin/login?next=%2Fadmin%2Fbounces%3Ftype%3Dhard");
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");

    let (session, set, status) = login(&s, "admin", &s.admin_password, &[]).await;
    assert_eq!(status, 303);
    assert!(session.is_some());
    let line = set.iter().find(|c| c.starts_with("rebound_session=")).unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(line.contains(flag), "{flag} missing: {line}");
    }
    assert!(!line.contains("Secure"), "plain HTTP: not Secure (the browser would drop it): {line}");
    // The database keeps a hash of the token, not the token.
    let token = session.unwrap();
    assert!(s.store.find_session(&token, chrono::Utc::now()).await.unwrap().is_none());

    // Behind a TLS-terminating proxy the cookie is Secure.
    let (_, set, _) = login(&s, "admin", &s.admin_password, &[("x-forwarded-proto", "https")]).await;
    assert!(set.iter().find(|c| c.starts_with("rebound_session=")).unwrap().contains("; Secure"), "{set:?}");

    // A login post without the login form's cookie is refused.
    let res = client()
        .post(s.url("/admin/login"))
        .form(&[("csrf", "x"), ("username", "admin"), ("password", s.admin_password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(cookie_value(&set_cookies(&res), "rebound_session").is_none());

    // Wrong password and unknown user: same status, same words.
    let (none, _, status) = login(&s, "admin", "wrong-password", &[]).await;
    assert_eq!((none, status), (None, 401));
    let (none, _, status) = login(&s, "ghost", "wrong-password", &[]).await;
    assert_eq!((none, status), (None, 401));

    // API users keep to their tokens.
    let token = s.api_user("script", &["*"]).await;
    let (none, _, status) = login(&s, "script", &token, &[]).await;
    assert_eq!((none, status), (None, 401));
}

async fn every_change_needs_the_csrf_token(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.create_subscriber("a@example.com", &[]).await;
    super::record(&s, &json!({"email": "a@example.com", "source": "api", "type": "soft"})).await;
    let id = s.get_json("/api/bounces").await["data"]["results"][0]["id"].as_i64().unwrap().to_string();
    let (session, _, _) = login(&s, "admin", &s.admin_password, &[]).await;
    let session = session.unwrap();
    let (status, _, html) = page(&s, &session, "/admin/bounces").await;
    assert_eq!(status, 200);
    let csrf = hidden(&html, "csrf");

    let path = format!("/admin/bounces/{id}/delete");
    assert_eq!(post(&s, &session, &path, &[("confirmed", "yes")]).await.0, 403, "no token");
    assert_eq!(
        post(&s, &session, &path, &[("confirmed", "yes"), ("csrf", "0".repeat(64).as_str())]).await.0,
        403
    );
    for path in
        ["/admin/bounces/delete", "/admin/bounces/blocklist", "/admin/settings/bounces", "/admin/logout"]
    {
        assert_eq!(post(&s, &session, path, &[("all", "1"), ("confirmed", "yes")]).await.0, 403, "{path}");
    }
    assert_eq!(s.get_json("/api/bounces").await["data"]["total"], 1, "nothing was deleted");

    // Without confirmed=yes (no JavaScript), the server asks first.
    let (status, _) = post(&s, &session, &path, &[("csrf", &csrf)]).await;
    assert_eq!(status, 200);
    assert_eq!(s.get_json("/api/bounces").await["data"]["total"], 1);
    let (status, location) = post(&s, &session, &path, &[("csrf", &csrf), ("confirmed", "yes")]).await;
    assert_eq!((status, location.as_str()), (303, "/admin/bounces?done=deleted&n=1"));
    assert_eq!(s.get_json("/api/bounces").await["data"]["total"], 0);

    // Logout ends the session in the database: the old cookie is worthless.
    let (status, _) = post(&s, &session, "/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    let (status, location, _) = page(&s, &session, "/admin/bounces").await;
    assert_eq!((status, location.as_str()), (303, "/admin/login?next=%2Fadmin%2Fbounces"));
}

async fn pages_have_the_apis_permissions(b: Backend) {
    let s = TestServer::start(b).await;
    s.post_ok(
        "/api/users",
        &json!({"username": "viewer", "type": "user", "password": "viewer-password", "permissions": ["bounces:get"]}),
    )
    .await;
    let (session, _, _) = login(&s, "viewer", "viewer-password", &[]).await;
    let session = session.expect("viewer logs in");
    let (status, _, html) = page(&s, &session, "/admin/bounces").await;
    assert_eq!(status, 200);
    assert!(
        !html.contains("Delete selected") && !html.contains("/admin/settings/bounces\""),
        "no controls it may not use"
    );
    let csrf = hidden(&html, "csrf");
    for path in ["/admin/settings/bounces", "/admin/subscribers", "/admin/campaigns"] {
        assert_eq!(page(&s, &session, path).await.0, 403, "{path}");
    }
    for path in
        ["/admin/bounces/delete", "/admin/bounces/blocklist", "/admin/settings/bounces", "/admin/campaigns"]
    {
        let (status, _) =
            post(&s, &session, path, &[("csrf", &csrf), ("all", "1"), ("confirmed", "yes")]).await;
        assert_eq!(status, 403, "{path}");
    }
    for path in ["/admin/", "/admin/mailboxes", "/admin/bounces/unmatched"] {
        assert_eq!(page(&s, &session, path).await.0, 200, "{path}");
    }
    assert_eq!(page(&s, &session, "/admin/bounces/export.csv").await.0, 200);

    // Deleting the user ends its sessions at once.
    let users = s.get_json("/api/users").await;
    let id = users["data"].as_array().unwrap().iter().find(|u| u["username"] == "viewer").unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, _) = s.send_json(reqwest::Method::DELETE, &format!("/api/users/{id}"), &json!(null)).await;
    assert_eq!(status, 200);
    assert_eq!(page(&s, &session, "/admin/bounces").await.0, 303);
}

/// A form post a browser marks as sent from another site is refused, even
/// with the right tokens (defence in depth beside SameSite=Strict and CSRF).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_from_another_site_are_refused() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (none, _, status) = login(&s, "admin", &s.admin_password, &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!((none, status), (None, 403));
    let (none, _, status) =
        login(&s, "admin", &s.admin_password, &[("origin", "https://evil.example")]).await;
    assert_eq!((none, status), (None, 403));
    let (session, _, status) =
        login(&s, "admin", &s.admin_password, &[("sec-fetch-site", "same-origin")]).await;
    assert_eq!(status, 303);
    let session = session.unwrap();
    let (_, _, html) = page(&s, &session, "/admin/bounces").await;
    let csrf = hidden(&html, "csrf");
    let res = client()
        .post(s.url("/admin/logout"))
        .header(COOKIE, format!("rebound_session={session}"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(page(&s, &session, "/admin/bounces").await.0, 200, "the session was not ended");
}

/// Wrong passwords for one user: after the free ones the login page says
/// to wait, with 429 and Retry-After, whatever the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_are_told_to_wait() {
    let s = TestServer::start(Backend::Sqlite).await;
    let free = rebound_server::login_limit::LoginLimits::default().failures_per_user;
    for _ in 0..free {
        assert_eq!(login(&s, "admin", "wrong-password", &[]).await.2, 401);
    }
    let (none, _, status) = login(&s, "admin", &s.admin_password, &[]).await;
    assert_eq!((none, status), (None, 429));
}

backend_tests!(
    pages_need_a_login_and_cookies_are_strict,
    every_change_needs_the_csrf_token,
    pages_have_the_apis_permissions
);
