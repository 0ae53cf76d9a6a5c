//! The stylesheet and script, compiled into the binary. URLs carry a hash of
//! the contents (`?v=`), so browsers may cache them for long and still see a
//! new version at once.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::UiError;

const ASSETS: [(&str, &str, &str); 3] = [
    ("app.css", "text/css; charset=utf-8", include_str!("assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("assets/app.js")),
    ("favicon.svg", "image/svg+xml", include_str!("assets/favicon.svg")),
];

/// GET /favicon.ico, which browsers ask for on every site whatever the
/// page says: the same icon, so no request ends in a 404.
pub async fn favicon() -> Response {
    serve(Path("favicon.svg".to_string())).await.into_response()
}

pub async fn serve(Path(name): Path<String>) -> Result<Response, UiError> {
    let (_, mime, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| UiError::NotFound("There is no such file.".into()))?;
    Ok(([(header::CONTENT_TYPE, *mime), (header::CACHE_CONTROL, "public, max-age=604800, immutable")], *body)
        .into_response())
}

/// A short hash of every asset, appended to asset URLs.
pub fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let mut h = Sha256::new();
        for (name, _, body) in ASSETS {
            h.update(name.as_bytes());
            h.update(body.as_bytes());
        }
        hex_prefix(&h.finalize())
    })
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(6).map(|b| format!("{b:02x}")).collect()
}
