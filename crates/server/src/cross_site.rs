//! Refusing requests a browser sent on behalf of another site.
//!
//! A browser that holds credentials for rebound (Basic credentials it once
//! asked for, the UI's session cookie) attaches them to requests that any
//! web page can make it send: forms and no-cors `fetch`. The API requires a
//! JSON content type ([`crate::extract::JsonBody`]), which such requests
//! cannot carry, and refuses (403) every request whose `Sec-Fetch-Site`
//! (sent by all current browsers) or, from older browsers, `Origin` says it
//! comes from another site. Clients that are not browsers (curl, scripts,
//! listmonk, providers) send neither header and are not affected.
//!
//! Applied to `/api/*` and `/webhooks/bounce` (router.rs), and to every UI
//! form post ([`crate::ui::session`]). Provider webhooks (`/webhooks/service/*`)
//! are authenticated by their signatures and come from servers.

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Did a browser send this for a page of another site?
pub fn is_cross_site(headers: &HeaderMap) -> bool {
    let text = |name: &'static str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        // "none": typed in the address bar or opened from a bookmark.
        return !matches!(site.trim(), "same-origin" | "none");
    }
    let Some(origin) = text(ORIGIN.as_str()) else { return false };
    // An opaque origin ("null": sandboxed frames, some redirects) is never ours.
    let Some(origin_host) = origin.split_once("://").map(|(_, h)| h.trim_end_matches('/')) else {
        return true;
    };
    // Behind a proxy that rewrites Host, X-Forwarded-Host names the site.
    let ours = |name: &'static str| {
        text(name).is_some_and(|h| h.split(',').any(|h| h.trim().eq_ignore_ascii_case(origin_host)))
    };
    !(ours(HOST.as_str()) || ours("x-forwarded-host"))
}

/// The middleware on the API routes.
pub async fn refuse_cross_site(req: Request, next: Next) -> Response {
    if is_cross_site(req.headers()) {
        return ApiError::Forbidden(
            "cross-site request refused: the API does not take requests that a browser sends for \
             another site's page"
                .into(),
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn what_counts_as_cross_site() {
        assert!(!is_cross_site(&headers(&[])), "curl and scripts send neither header");
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "none")])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        let h = [("host", "rebound.site.com"), ("origin", "https://rebound.site.com")];
        assert!(!is_cross_site(&headers(&h)));
        assert!(is_cross_site(&headers(&[("host", "rebound.site.com"), ("origin", "https://evil.example")])));
        assert!(is_cross_site(&headers(&[("host", "rebound.site.com"), ("origin", "null")])));
        let proxied = [
            ("host", "127.0.0.1:9000"),
            ("x-forwarded-host", "rebound.site.com"),
            ("origin", "https://rebound.site.com"),
        ];
        assert!(!is_cross_site(&headers(&proxied)));
        // Sec-Fetch-Site wins over a matching Origin.
        let h = [("host", "a.test"), ("origin", "http://a.test"), ("sec-fetch-site", "cross-site")];
        assert!(is_cross_site(&headers(&h)));
    }
}
