//! The admin UI over plain HTTP, as a form-posting client sees it: the login
//! with its double-submit CSRF cookie, pages with a session cookie.

use rebound_testkit::TestServer;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

/// A client that does not follow redirects, so tests see them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

pub fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect()
}

pub fn cookie_value(set: &[String], name: &str) -> Option<String> {
    set.iter()
        .filter_map(|c| c.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} field in {html}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// Logs in over HTTP; returns (session cookie, the Set-Cookie lines).
pub async fn login(
    s: &TestServer,
    user: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> (Option<String>, Vec<String>, u16) {
    let c = client();
    let res = c.get(s.url("/admin/login")).send().await.unwrap();
    let login_csrf = cookie_value(&set_cookies(&res), "rebound_login_csrf").expect("login CSRF cookie");
    let html = res.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    assert_eq!(csrf, login_csrf, "double-submit: the form carries the cookie's value");
    let mut req = c
        .post(s.url("/admin/login"))
        .header(COOKIE, format!("rebound_login_csrf={login_csrf}"))
        .form(&[("csrf", csrf.as_str()), ("username", user), ("password", password), ("next", "")]);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let set = set_cookies(&res);
    (cookie_value(&set, "rebound_session"), set, status)
}

/// POSTs a form in a session: (status, Location, body), like [`page`].
pub async fn post_form(
    s: &TestServer,
    session: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let res = client()
        .post(s.url(path))
        .header(COOKIE, format!("rebound_session={session}"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, location, res.text().await.unwrap_or_default())
}

pub async fn page(s: &TestServer, session: &str, path: &str) -> (u16, String, String) {
    let res =
        client().get(s.url(path)).header(COOKIE, format!("rebound_session={session}")).send().await.unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, location, res.text().await.unwrap_or_default())
}
