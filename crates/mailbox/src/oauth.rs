//! OAuth2 mailboxes: access tokens from the mailbox's refresh token (the
//! `oauth2` crate does the token request), cached until shortly before they
//! expire, and the refresh token a provider rotates to kept in the store
//! (the settings keep the one the operator authorized). A revoked or expired
//! grant is a login error of the mailbox: the scan fetches and deletes
//! nothing, and the status says to authorize again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use rebound_core::oauth2::MailboxOAuth2;
use rebound_store::Store;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{MailboxError, Result};

/// An access token without `expires_in` is trusted for this long.
const UNKNOWN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// The token endpoint must answer within this.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone)]
struct Cached {
    token: String,
    refresh_after: Instant,
}

/// Access tokens of every OAuth2 mailbox. Cheap to clone.
#[derive(Clone)]
pub struct OAuthTokens {
    store: Arc<dyn Store>,
    http: oauth2::reqwest::Client,
    /// By (mailbox, grant): a changed grant in the settings starts afresh.
    cache: Arc<Mutex<HashMap<(Uuid, String), Cached>>>,
    /// One refresh at a time per process, so two scans of one mailbox do
    /// not both spend (and rotate) the refresh token.
    refreshing: Arc<tokio::sync::Mutex<()>>,
}

/// What the refresh token in the settings is, as a key (never the token).
fn grant_digest(o: &MailboxOAuth2) -> String {
    let (url, client) = o.grant_owner();
    let d = Sha256::digest(format!("{url}\n{client}\n{}", o.refresh_token.expose()).as_bytes());
    hex::encode(&d[..16])
}

impl OAuthTokens {
    pub fn new(store: Arc<dyn Store>) -> OAuthTokens {
        // No redirects: a token endpoint that redirects could send the
        // client secret and refresh token elsewhere (the oauth2 crate's advice).
        let http = oauth2::reqwest::ClientBuilder::new()
            .redirect(oauth2::reqwest::redirect::Policy::none())
            .timeout(TOKEN_TIMEOUT)
            .build()
            .expect("a reqwest client without redirects");
        OAuthTokens { store, http, cache: Arc::default(), refreshing: Arc::default() }
    }

    /// A valid access token for the mailbox, refreshing it when it is near
    /// its end.
    pub async fn access_token(&self, mailbox: Uuid, o: &MailboxOAuth2) -> Result<String> {
        let grant = grant_digest(o);
        let key = (mailbox, grant.clone());
        if let Some(token) = self.cached(&key) {
            return Ok(token);
        }
        let _one = self.refreshing.lock().await;
        if let Some(token) = self.cached(&key) {
            return Ok(token);
        }
        let endpoints = o.endpoints();
        let addr = endpoints.token_url.clone();
        let auth = |message: String| MailboxError::Auth { addr: addr.clone(), message };
        let refresh = match self.store.rotated_refresh_token(mailbox, &grant).await {
            Ok(Some(rotated)) => rotated,
            Ok(None) => o.refresh_token.expose().to_string(),
            Err(e) => return Err(MailboxError::Store(e.to_string())),
        };
        if refresh.is_empty() {
            return Err(auth(
                "the mailbox is not authorized yet: authorize it (Settings → Mailboxes → Authorize) or give \
                 its oauth2.refresh_token"
                    .into(),
            ));
        }
        let token_url = TokenUrl::new(endpoints.token_url.clone())
            .map_err(|e| MailboxError::Config(format!("oauth2 token_url {:?}: {e}", endpoints.token_url)))?;
        let mut client =
            BasicClient::new(ClientId::new(o.client_id.trim().to_string())).set_token_uri(token_url);
        if !o.client_secret.is_empty() {
            client = client.set_client_secret(ClientSecret::new(o.client_secret.expose().to_string()));
        }
        // In the body, which every provider takes (not all take basic auth).
        let client = client.set_auth_type(AuthType::RequestBody);
        let asked = Instant::now();
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r)
                    if *r.error() == BasicErrorResponseType::InvalidGrant =>
                {
                    auth(format!(
                        "the OAuth2 grant was revoked or has expired (invalid_grant{}): authorize the \
                             mailbox again",
                        r.error_description().map(|d| format!(": {d}")).unwrap_or_default()
                    ))
                }
                RequestTokenError::ServerResponse(r) => auth(format!(
                    "the token endpoint refused the refresh: {}{}",
                    r.error(),
                    r.error_description().map(|d| format!(": {d}")).unwrap_or_default()
                )),
                RequestTokenError::Request(e) => {
                    MailboxError::Protocol(format!("cannot reach the token endpoint {addr}: {e}"))
                }
                other => MailboxError::Protocol(format!("the token endpoint {addr} answered badly: {other}")),
            })?;
        if let Some(rotated) = response.refresh_token() {
            self.store
                .save_rotated_refresh_token(mailbox, &grant, rotated.secret())
                .await
                .map_err(|e| MailboxError::Store(e.to_string()))?;
        }
        let lifetime = response.expires_in().unwrap_or(UNKNOWN_LIFETIME);
        // Refresh ahead of the end: a scan may run for a while on the token.
        let margin = (lifetime / 4).min(Duration::from_secs(120));
        let token = response.access_token().secret().to_string();
        self.remember(key, Cached { token: token.clone(), refresh_after: asked + lifetime - margin });
        Ok(token)
    }

    fn cached(&self, key: &(Uuid, String)) -> Option<String> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key).filter(|c| Instant::now() < c.refresh_after).map(|c| c.token.clone())
    }

    fn remember(&self, key: (Uuid, String), c: Cached) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        // Old grants of this mailbox are of no use any more.
        cache.retain(|(m, _), _| *m != key.0);
        cache.insert(key, c);
    }
}

/// The start of an authorization-code grant (RFC 6749 §4.1 with PKCE, RFC
/// 7636): where to send the operator's browser, and what the callback needs.
pub struct Authorization {
    pub url: String,
    /// The `state` parameter the callback must bring back.
    pub state: String,
    /// The PKCE verifier, kept by rebound until the callback.
    pub verifier: String,
}

fn client_error(field: &str, e: impl std::fmt::Display) -> MailboxError {
    MailboxError::Config(format!("oauth2 {field}: {e}"))
}

/// Where to send the operator to authorize the mailbox `o`; the provider
/// redirects back to `redirect_uri`.
pub fn authorization(o: &MailboxOAuth2, redirect_uri: &str) -> Result<Authorization> {
    let e = o.endpoints();
    if e.auth_url.is_empty() {
        return Err(MailboxError::Config(
            "the mailbox has no oauth2.auth_url (choose the microsoft or google provider, or give one)"
                .into(),
        ));
    }
    let client = BasicClient::new(ClientId::new(o.client_id.trim().to_string()))
        .set_auth_uri(AuthUrl::new(e.auth_url.clone()).map_err(|x| client_error("auth_url", x))?)
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_string()).map_err(|x| client_error("redirect URI", x))?,
        );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(e.scope.split_whitespace().map(|s| Scope::new(s.to_string())))
        .set_pkce_challenge(challenge);
    for (k, v) in e.auth_params {
        request = request.add_extra_param(*k, *v);
    }
    let (url, state) = request.url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        verifier: verifier.secret().clone(),
    })
}

impl OAuthTokens {
    /// The callback's half: trades the authorization code for tokens at
    /// the token endpoint and returns the refresh token to store.
    pub async fn exchange_code(
        &self,
        o: &MailboxOAuth2,
        redirect_uri: &str,
        code: &str,
        verifier: &str,
    ) -> Result<String> {
        let e = o.endpoints();
        let addr = e.token_url.clone();
        let mut client = BasicClient::new(ClientId::new(o.client_id.trim().to_string()))
            .set_token_uri(TokenUrl::new(e.token_url.clone()).map_err(|x| client_error("token_url", x))?)
            .set_redirect_uri(
                RedirectUrl::new(redirect_uri.to_string()).map_err(|x| client_error("redirect URI", x))?,
            )
            .set_auth_type(AuthType::RequestBody);
        if !o.client_secret.is_empty() {
            client = client.set_client_secret(ClientSecret::new(o.client_secret.expose().to_string()));
        }
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => MailboxError::Auth {
                    addr: addr.clone(),
                    message: format!(
                        "the token endpoint refused the authorization: {}{}",
                        r.error(),
                        r.error_description().map(|d| format!(": {d}")).unwrap_or_default()
                    ),
                },
                other => MailboxError::Protocol(format!("the token endpoint {addr}: {other}")),
            })?;
        let refresh = response.refresh_token().ok_or_else(|| MailboxError::Auth {
            addr: addr.clone(),
            message: "the provider gave no refresh token: the scope must allow offline access \
                      (Microsoft: offline_access; Google asks for consent again)"
                .into(),
        })?;
        Ok(refresh.secret().clone())
    }
}

/// The SASL initial response of `mechanism` for a bearer token (raw; the
/// protocols base64 it).
pub fn sasl_response(
    mechanism: rebound_core::oauth2::SaslMechanism,
    user: &str,
    host: &str,
    port: u16,
    token: &str,
) -> String {
    match mechanism {
        // Google's and Microsoft's format.
        rebound_core::oauth2::SaslMechanism::Xoauth2 => format!("user={user}\x01auth=Bearer {token}\x01\x01"),
        // RFC 7628 §3.1: a GS2 header naming the user, then key=value pairs.
        rebound_core::oauth2::SaslMechanism::Oauthbearer => {
            format!("n,a={},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01", gs2_escape(user))
        }
    }
}

/// RFC 5801 §4: "," and "=" in a GS2 authzid are escaped.
fn gs2_escape(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rebound_core::oauth2::SaslMechanism;

    #[test]
    fn sasl_responses_follow_their_specifications() {
        assert_eq!(
            sasl_response(
                SaslMechanism::Xoauth2,
                "someuser@example.com",
                "imap.example.com",
                993,
                "ya29.vF9dft4"
            ),
            "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4\x01\x01"
        );
        // RFC 7628 §4.1's example.
        assert_eq!(
            sasl_response(
                SaslMechanism::Oauthbearer,
                "user@example.com",
                "server.example.com",
                143,
                "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
            ),
            "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        assert_eq!(gs2_escape("a,b=c"), "a=2Cb=3Dc");
    }
}
