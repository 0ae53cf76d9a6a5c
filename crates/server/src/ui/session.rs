//! Login sessions and CSRF protection.
//!
//! - Login checks the password with the API's [`Authenticator`](crate::auth::Authenticator)
//!   (argon2id, same work for unknown users) and answers one message for every
//!   failure, so the page never tells whether a user exists. Only people
//!   (`type = user`) log in here; API users keep to their tokens.
//! - The session cookie holds 256 random bits; the database keeps only their
//!   SHA-256, with an expiry ([`SESSION_TTL`]). The cookie is `HttpOnly`,
//!   `SameSite=Strict`, scoped to `/admin`, and `Secure` when the request came
//!   over TLS (directly or as `X-Forwarded-Proto: https` from a proxy).
//! - Every state-changing request is a POST whose form carries the session's
//!   synchronizer token (`csrf`), compared in constant time ([`UiForm`]). The
//!   login form, which has no session yet, uses a double-submit cookie. Both
//!   also refuse posts a browser marks as sent from another site
//!   ([`crate::cross_site`]).
//! - Logout deletes the session row and clears the cookie.
//! - The user is read again on every request, so a disabled or deleted user,
//!   or changed permissions, take effect at once.

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use rand::Rng;
use rebound_store::{NewSession, UserType};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{BASE, UiError, assets};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{QueryPairs, read_body};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "rebound_session";
pub const LOGIN_CSRF_COOKIE: &str = "rebound_login_csrf";
/// How long a login lasts.
pub const SESSION_TTL: Duration = Duration::hours(12);

/// A logged-in person: who, what they may do, and their session's CSRF token.
pub struct Ui {
    pub principal: Principal,
    pub csrf: String,
    token_hash: String,
    /// Enabled mailboxes whose last scan failed (shown on every page).
    pub failing: Vec<crate::service::mailboxes::FailingMailbox>,
}

impl FromRequestParts<AppState> for Ui {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        // Come back to the page asked for after logging in (GET only: a form
        // post cannot be replayed through a redirect).
        let login = || UiError::Login {
            next: (parts.method == Method::GET).then(|| {
                parts
                    .extensions
                    .get::<OriginalUri>()
                    .map_or_else(|| parts.uri.to_string(), |u| u.0.to_string())
            }),
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(login()) };
        let token_hash = sha256_hex(&token);
        let Some(session) = state.store.find_session(&token_hash, Utc::now()).await? else {
            return Err(login());
        };
        let user = state.store.find_user(&session.username).await?;
        let Some(user) = user.filter(|u| u.status == "enabled" && u.user_type == UserType::User) else {
            state.store.delete_session(&token_hash).await?;
            return Err(login());
        };
        let principal = Principal {
            user_id: user.id,
            username: user.username.clone(),
            user_type: user.user_type,
            permissions: Arc::from(user.permissions.clone()),
        };
        // A page still renders when this cannot be read; the mailboxes page says more.
        let failing = if principal.can(crate::auth::perm::BOUNCES_GET) {
            crate::service::mailboxes::failing(state, &principal).await.unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(Ui { principal, csrf: session.csrf_token, token_hash, failing })
    }
}

/// A POST from a logged-in person whose form carries the right CSRF token.
/// Every state-changing UI handler takes this, so none can forget the check.
pub struct UiForm {
    pub ui: Ui,
    pub form: QueryPairs,
}

impl FromRequest<AppState> for UiForm {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, UiError> {
        let (mut parts, body) = req.into_parts();
        let ui = Ui::from_request_parts(&mut parts, state).await?;
        if crate::cross_site::is_cross_site(&parts.headers) {
            tracing::warn!(user = ?ui.principal.username, "UI form refused: sent from another site");
            return Err(UiError::Csrf);
        }
        let form = read_form(body).await?;
        let sent = form.0.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
        if !ct_eq(sent, &ui.csrf) {
            tracing::warn!(user = ?ui.principal.username, "UI form refused: bad CSRF token");
            return Err(UiError::Csrf);
        }
        Ok(UiForm { ui, form })
    }
}

async fn read_form(body: axum::body::Body) -> Result<QueryPairs, UiError> {
    let bytes = read_body(body).await?;
    Ok(QueryPairs(form_urlencoded::parse(&bytes).into_owned().collect()))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    asset_version: &'a str,
    csrf: &'a str,
    next: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

/// GET /admin/login
pub async fn login_form(State(state): State<AppState>, headers: HeaderMap, q: QueryPairs) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = state.store.find_session(&sha256_hex(&token), Utc::now()).await
    {
        return Redirect::to(&safe_next(q.get("next"))).into_response();
    }
    login_page(&headers, StatusCode::OK, q.get("next").unwrap_or(""), "", None)
}

fn login_page(
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let csrf = random_hex(32);
    let page = LoginPage { asset_version: assets::version(), csrf: &csrf, next, username, error };
    match page.render() {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            let c = set_cookie(LOGIN_CSRF_COOKIE, &csrf, &format!("{BASE}/login"), 3600, is_tls(headers));
            res.headers_mut().append(SET_COOKIE, c);
            res
        }
        Err(e) => UiError::from(e).into_response(),
    }
}

/// POST /admin/login
pub async fn login(State(state): State<AppState>, req: Request) -> Result<Response, UiError> {
    let (parts, body) = req.into_parts();
    let (headers, extensions) = (parts.headers, parts.extensions);
    let form = read_form(body).await?;
    let next = form.get("next").unwrap_or("");
    let username = form.get("username").unwrap_or("").trim().to_string();
    let password = form.get("password").unwrap_or("");

    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let cross_site = crate::cross_site::is_cross_site(&headers);
    if cross_site || expected.is_empty() || !ct_eq(form.get("csrf").unwrap_or(""), &expected) {
        return Ok(login_page(
            &headers,
            StatusCode::FORBIDDEN,
            next,
            &username,
            Some("The login form expired. Please try again."),
        ));
    }
    const REFUSED: &str = "Invalid username or password.";
    if username.is_empty() || password.is_empty() {
        return Ok(login_page(&headers, StatusCode::UNAUTHORIZED, next, &username, Some(REFUSED)));
    }
    let client = crate::webhook_guard::client_ip(&extensions);
    let principal = match state.auth.authenticate(&username, password, client).await {
        Ok(p) if p.user_type == UserType::User => p,
        Ok(_) | Err(ApiError::Unauthorized(_)) => {
            tracing::info!(username = ?username, "UI login refused");
            return Ok(login_page(&headers, StatusCode::UNAUTHORIZED, next, &username, Some(REFUSED)));
        }
        Err(ApiError::TooManyRequests { retry_after, .. }) => {
            tracing::info!(username = ?username, "UI login refused: too many failures");
            let msg = format!("Too many failed logins. Try again in {retry_after} seconds.");
            let mut res = login_page(&headers, StatusCode::TOO_MANY_REQUESTS, next, &username, Some(&msg));
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from(retry_after));
            return Ok(res);
        }
        Err(e) => return Err(e.into()),
    };

    let token = random_hex(32);
    let now = Utc::now();
    // Expired sessions are swept on each login; nothing else needs a timer.
    state.store.delete_expired_sessions(now).await?;
    state
        .store
        .create_session(NewSession {
            token_hash: sha256_hex(&token),
            user_id: principal.user_id,
            csrf_token: random_hex(32),
            expires_at: now + SESSION_TTL,
        })
        .await?;
    tracing::info!(username = ?principal.username, "UI login");
    let tls = is_tls(&headers);
    let mut res = Redirect::to(&safe_next(Some(next))).into_response();
    let h = res.headers_mut();
    h.append(SET_COOKIE, set_cookie(SESSION_COOKIE, &token, BASE, SESSION_TTL.num_seconds(), tls));
    h.append(SET_COOKIE, set_cookie(LOGIN_CSRF_COOKIE, "", &format!("{BASE}/login"), 0, tls));
    Ok(res)
}

/// POST /admin/logout: ends the session in the database, not only in the browser.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    f: UiForm,
) -> Result<Response, UiError> {
    state.store.delete_session(&f.ui.token_hash).await?;
    tracing::info!(username = ?f.ui.principal.username, "UI logout");
    let mut res = Redirect::to(&format!("{BASE}/login")).into_response();
    res.headers_mut().append(SET_COOKIE, set_cookie(SESSION_COOKIE, "", BASE, 0, is_tls(&headers)));
    Ok(res)
}

/// Only paths inside the UI: never another site (`//evil`, `https://...`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with(&format!("{BASE}/"))
                && !n.contains("//")
                && !n.contains('\\')
                && !n.starts_with(&format!("{BASE}/login"))
                && !n.starts_with(&format!("{BASE}/logout")) =>
        {
            n.to_string()
        }
        _ => format!("{BASE}/"),
    }
}

/// Did the request reach us over TLS (directly, or per the proxy in front)?
pub fn is_tls(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get("forwarded")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split([';', ',']).any(|p| p.trim().eq_ignore_ascii_case("proto=https")));
    forwarded_proto || forwarded
}

fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let c = format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

/// Constant-time comparison of two tokens.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// This server as the browser reaches it (Host, or a proxy's
/// X-Forwarded-Host), for URLs to paste into providers and redirect URIs.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(axum::http::header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("{}://{host}", if is_tls(headers) { "https" } else { "http" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_ui() {
        assert_eq!(safe_next(Some("/admin/bounces?type=hard")), "/admin/bounces?type=hard");
        for bad in
            ["//evil.example/admin/", "https://evil.example/", "/admin//evil", "/adminx", "", "/admin/login"]
        {
            assert_eq!(safe_next(Some(bad)), "/admin/", "{bad}");
        }
        assert_eq!(safe_next(None), "/admin/");
    }

    #[test]
    fn tls_from_proxy_headers() {
        let mut h = HeaderMap::new();
        assert!(!is_tls(&h));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(is_tls(&h));
        let mut h = HeaderMap::new();
        h.insert("forwarded", HeaderValue::from_static("for=1.2.3.4;proto=https"));
        assert!(is_tls(&h));
    }

    #[test]
    fn cookies_and_tokens() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=1; rebound_session=abc; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
        assert!(ct_eq("abc", "abc") && !ct_eq("abc", "abd") && !ct_eq("abc", "ab"));
        assert_eq!(random_hex(32).len(), 64);
        let c = set_cookie(SESSION_COOKIE, "t", "/admin", 60, true);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"), "{c}");
    }
}
