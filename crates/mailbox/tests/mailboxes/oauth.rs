//! OAuth2 mailboxes against a real Dovecot whose oauth2 passdb checks each
//! bearer token at the test's own authorization server (a small HTTP server
//! on 127.0.0.1: an RFC 6749 token endpoint that rotates refresh tokens and
//! an RFC 7662 introspection endpoint). Real SASL XOAUTH2 (IMAP) and
//! OAUTHBEARER (POP3) exchanges; an access token that expires between scans
//! is refreshed with the rotated refresh token; a revoked grant is a mailbox
//! error that fetches and deletes nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::post;
use rebound_core::settings::{MailboxAuth, MailboxKind};
use rebound_testkit::{Backend, TestServer};
use serde_json::{Value, json};

use crate::dovecot::{Dovecot, Mode, USER};

pub const CLIENT_ID: &str = "rebound-test-client";
pub const CLIENT_SECRET: &str = "rebound-test-secret";

/// The authorization server's state: one grant, rotated at each refresh.
#[derive(Default)]
pub struct Grants {
    /// The one refresh token that works now.
    pub refresh_token: String,
    pub revoked: bool,
    /// Access tokens issued, with their end.
    access: HashMap<String, Instant>,
    /// (grant_type, refresh token or code) of every token request, in order.
    pub requests: Vec<(String, String)>,
    pub lifetime: Duration,
    /// Authorization codes issued, with their PKCE challenge and redirect URI.
    pub codes: HashMap<String, (String, String)>,
    issued: u32,
}

pub struct AuthServer {
    pub base: String,
    pub grants: Arc<Mutex<Grants>>,
}

impl AuthServer {
    pub async fn start(refresh_token: &str, lifetime: Duration) -> AuthServer {
        let grants = Arc::new(Mutex::new(Grants {
            refresh_token: refresh_token.to_string(),
            lifetime,
            ..Grants::default()
        }));
        let app = axum::Router::new()
            .route("/token", post(token))
            .route("/introspect", post(introspect))
            .with_state(grants.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        AuthServer { base, grants }
    }

    pub fn requests(&self) -> Vec<(String, String)> {
        self.grants.lock().unwrap().requests.clone()
    }
}

fn issue(g: &mut Grants) -> Value {
    g.issued += 1;
    let access = format!("at-{}", g.issued);
    g.access.insert(access.clone(), Instant::now() + g.lifetime);
    g.refresh_token = format!("rt-{}", g.issued + 1);
    json!({"access_token": access, "token_type": "Bearer", "expires_in": g.lifetime.as_secs(),
           "refresh_token": g.refresh_token, "scope": "mail"})
}

fn invalid_grant() -> axum::response::Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})),
    )
        .into_response()
}

/// RFC 6749 §6 (refresh) and §4.1.3 with RFC 7636 (code + PKCE S256).
async fn token(
    State(g): State<Arc<Mutex<Grants>>>,
    Form(f): Form<HashMap<String, String>>,
) -> axum::response::Response {
    let mut g = g.lock().unwrap();
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"}))).into_response();
    }
    match get("grant_type").as_str() {
        "refresh_token" => {
            g.requests.push(("refresh_token".into(), get("refresh_token")));
            if g.revoked || get("refresh_token") != g.refresh_token {
                return invalid_grant();
            }
            Json(issue(&mut g)).into_response()
        }
        "authorization_code" => {
            g.requests.push(("authorization_code".into(), get("code")));
            let Some((challenge, redirect)) = g.codes.remove(&get("code")) else { return invalid_grant() };
            use base64::Engine;
            use sha2::Digest;
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(get("code_verifier").as_bytes()));
            if computed != challenge || redirect != get("redirect_uri") {
                return invalid_grant();
            }
            g.revoked = false;
            Json(issue(&mut g)).into_response()
        }
        _ => (StatusCode::BAD_REQUEST, Json(json!({"error": "unsupported_grant_type"}))).into_response(),
    }
}

/// RFC 7662, as Dovecot's oauth2 passdb asks (`token=...` in the body).
async fn introspect(
    State(g): State<Arc<Mutex<Grants>>>,
    Form(f): Form<HashMap<String, String>>,
) -> Json<Value> {
    let g = g.lock().unwrap();
    let active = f.get("token").and_then(|t| g.access.get(t)).is_some_and(|end| Instant::now() < *end);
    Json(if active { json!({"active": true, "username": USER}) } else { json!({"active": false}) })
}

/// A delivery status notification for `rcpt` (RFC 3464).
pub fn dsn(rcpt: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@mx.oauth.test\r\nTo: bounces@site.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <dsn-{rcpt}@mx.oauth.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.oauth.test\r\n\r\n\
         Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nTo: {rcpt}\r\nSubject: News\r\n\r\n--b--\r\n"
    )
    .into_bytes()
}

/// The mailbox entry: Dovecot's, with OAuth2 against `auth` instead of a password.
pub fn oauth_mailbox(
    dovecot: &Dovecot,
    kind: MailboxKind,
    auth: &AuthServer,
    mechanism: &str,
    refresh: &str,
) -> Value {
    let mut m = dovecot.mailbox(kind, Mode::Plain);
    m.auth_protocol = MailboxAuth::Oauth2;
    m.password = Default::default();
    let mut v = serde_json::to_value(&m).unwrap();
    v["oauth2"] = json!({"provider": "custom", "token_url": format!("{}/token", auth.base),
        "auth_url": format!("{}/authorize", auth.base), "scope": "mail",
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": refresh, "mechanism": mechanism});
    v
}

/// Waits for the mailbox's status to finish a scan after `after`.
pub async fn scanned(server: &TestServer, after: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = server.get_json("/api/bounces/mailboxes").await["data"][0].clone();
        let seen = s["totals"]["seen"].as_u64().unwrap_or(0) as usize;
        if (s["last_ok"] == json!(true) && seen > after)
            || s["last_ok"] == json!(false)
            || Instant::now() > deadline
        {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn bounced(server: &TestServer) -> Vec<String> {
    let b = server.get_json("/api/bounces?per_page=all").await;
    b["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_oauthbearer_logs_in_and_refreshes_an_expired_token_with_the_rotated_one() {
    let auth = AuthServer::start("rt-1", Duration::from_secs(2)).await;
    let dovecot = Dovecot::start_oauth2(&format!("{}/introspect", auth.base));
    let server = TestServer::start(Backend::Sqlite).await;
    for e in ["one@oauth.test", "two@oauth.test"] {
        server.create_subscriber(e, &[]).await;
    }
    dovecot.deliver(&dsn("one@oauth.test"));
    let mailbox = oauth_mailbox(&dovecot, MailboxKind::Pop, &auth, "oauthbearer", "rt-1");
    server.put_settings(&json!({"bounce.enabled": true, "bounce.mailboxes": [mailbox]})).await;
    let status = scanned(&server, 0).await;
    assert_eq!(status["last_ok"], true, "{status}\n{}", dovecot.log());
    assert_eq!(bounced(&server).await, ["one@oauth.test"]);
    assert!(dovecot.log().contains("method=OAUTHBEARER"), "{}", dovecot.log());
    assert_eq!(auth.requests(), [("refresh_token".to_string(), "rt-1".to_string())]);
    // The settings never show the grant.
    let settings = server.get_json("/api/settings").await.to_string();
    assert!(!settings.contains("rt-1") && !settings.contains(CLIENT_SECRET), "{settings}");

    // The access token expires; the next scan refreshes it with the
    // refresh token the server rotated to (rt-2), not the stored rt-1.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    dovecot.deliver(&dsn("two@oauth.test"));
    let uuid = status["uuid"].as_str().unwrap();
    let report = server.post_ok(&format!("/api/bounces/mailboxes/{uuid}/scan"), &json!({})).await;
    assert_eq!(report["error"], Value::Null, "{report}\n{}", dovecot.log());
    assert_eq!(report["counts"]["recorded"], 1, "{report}");
    assert_eq!(
        auth.requests(),
        [
            ("refresh_token".to_string(), "rt-1".to_string()),
            ("refresh_token".to_string(), "rt-2".to_string())
        ]
    );
    assert_eq!(dovecot.message_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_xoauth2_with_a_revoked_grant_is_a_mailbox_error_and_deletes_nothing() {
    let auth = AuthServer::start("rt-1", Duration::from_secs(3600)).await;
    let dovecot = Dovecot::start_oauth2(&format!("{}/introspect", auth.base));
    let server = TestServer::start(Backend::Postgres).await;
    server.create_subscriber("one@oauth.test", &[]).await;
    dovecot.deliver(&dsn("one@oauth.test"));
    let mailbox = oauth_mailbox(&dovecot, MailboxKind::Imap, &auth, "xoauth2", "rt-1");
    server.put_settings(&json!({"bounce.enabled": true, "bounce.mailboxes": [mailbox]})).await;
    let status = scanned(&server, 0).await;
    assert_eq!(status["last_ok"], true, "{status}\n{}", dovecot.log());
    assert!(dovecot.log().contains("method=XOAUTH2"), "{}", dovecot.log());
    assert_eq!(bounced(&server).await, ["one@oauth.test"]);

    // The user revokes rebound's access; the next token request fails.
    {
        let mut g = auth.grants.lock().unwrap();
        g.revoked = true;
        g.access.clear();
    }
    // A new mailbox entry (another grant) so no cached token is used.
    let mailbox = oauth_mailbox(&dovecot, MailboxKind::Imap, &auth, "xoauth2", "rt-2");
    server.put_settings(&json!({"bounce.mailboxes": [mailbox]})).await;
    dovecot.deliver(&dsn("two@oauth.test"));
    let uuid =
        server.get_json("/api/bounces/mailboxes").await["data"][0]["uuid"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = server.get_json("/api/bounces/mailboxes").await["data"][0].clone();
        if s["last_ok"] == json!(false) || Instant::now() > deadline {
            break s;
        }
        let _ =
            server.req(reqwest::Method::POST, &format!("/api/bounces/mailboxes/{uuid}/scan")).send().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let error = status["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("revoked or has expired") && error.contains("authorize the mailbox again"),
        "{status}"
    );
    assert_eq!(dovecot.message_count(), 1, "nothing fetched or deleted");
    assert_eq!(bounced(&server).await, ["one@oauth.test"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizing_in_the_ui_trades_a_code_for_the_grant_the_scanner_uses() {
    use crate::ui_http::{login, page};
    let auth = AuthServer::start("nothing-yet", Duration::from_secs(3600)).await;
    let dovecot = Dovecot::start_oauth2(&format!("{}/introspect", auth.base));
    let server = TestServer::start(Backend::Sqlite).await;
    server.create_subscriber("one@oauth.test", &[]).await;
    dovecot.deliver(&dsn("one@oauth.test"));
    // Saved as OAuth2, without a refresh token yet.
    let mailbox = oauth_mailbox(&dovecot, MailboxKind::Imap, &auth, "xoauth2", "");
    server.put_settings(&json!({"bounce.enabled": true, "bounce.mailboxes": [mailbox]})).await;
    let status = scanned(&server, 0).await;
    assert_eq!(status["last_ok"], false, "{status}");
    assert!(status["last_error"].as_str().unwrap().contains("not authorized yet"), "{status}");
    let uuid = status["uuid"].as_str().unwrap().to_string();

    let (session, _, code) = login(&server, "admin", &server.admin_password, &[]).await;
    assert_eq!(code, 303);
    let session = session.unwrap();
    let (_, _, html) = page(&server, &session, "/admin/settings/bounces").await;
    let start = format!("/admin/settings/bounces/mailboxes/{uuid}/authorize");
    assert!(html.contains(&start), "the mailbox offers Authorize");

    // "Authorize" sends the browser to the provider, with PKCE.
    let (status, location, _) = page(&server, &session, &start).await;
    assert_eq!(status, 303);
    let url = reqwest::Url::parse(&location).unwrap();
    assert_eq!(
        format!("{}{}", url.origin().ascii_serialization(), url.path()),
        format!("{}/authorize", auth.base)
    );
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["scope"], "mail");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], server.url("/admin/oauth/callback"));
    assert!(!location.contains(CLIENT_SECRET), "the secret never goes to the browser");

    // The operator consents; the provider sends the browser back with a code.
    auth.grants
        .lock()
        .unwrap()
        .codes
        .insert("code-1".into(), (q["code_challenge"].clone(), q["redirect_uri"].clone()));
    let callback = format!("/admin/oauth/callback?code=code-1&state={}", q["state"]);
    let (status, location, body) = page(&server, &session, &callback).await;
    assert_eq!(status, 303, "{body}");
    assert!(location.contains("done=authorized"), "{location}");

    // The scanner logs in with the new grant at once.
    let deadline = Instant::now() + Duration::from_secs(20);
    while bounced(&server).await.is_empty() {
        assert!(Instant::now() < deadline, "no scan with the new grant: {}", dovecot.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bounced(&server).await, ["one@oauth.test"]);
    let requests = auth.requests();
    assert_eq!(requests[0], ("authorization_code".to_string(), "code-1".to_string()), "{requests:?}");
    assert_eq!(requests[1], ("refresh_token".to_string(), "rt-2".to_string()), "{requests:?}");
    // A state is good for one callback.
    let (status, _, _) = page(&server, &session, &callback).await;
    assert_eq!(status, 400);
}
