//! Who is calling, and may they. Users and API users authenticate with HTTP
//! basic `user:secret` or listmonk's `Authorization: token user:secret`.
//! Secrets are stored as argon2id hashes; a verified credential is cached
//! for a minute under an HMAC of it (with a key made at start, so the cache
//! holds nothing a memory dump could use), because argon2 is deliberately
//! slow and a webhook sender calls thousands of times a second with the same
//! token. The cache is consulted first and forgotten whenever users change,
//! so a known token is answered at once even during a flood of wrong
//! passwords, which [`crate::login_limit`] answers 429 without hashing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use rand::Rng;
use rebound_store::{NewUser, Store, User, UserType};

use crate::error::{ApiError, ApiResult};
use crate::login_limit::{LoginLimiter, LoginLimits, Refusal};
use crate::metrics::Metrics;
use crate::service::{ServiceError, ServiceResult};

/// Permission names (listmonk's where it has them).
pub mod perm {
    pub const ALL: &str = "*";
    pub const BOUNCES_GET: &str = "bounces:get";
    pub const BOUNCES_MANAGE: &str = "bounces:manage";
    pub const WEBHOOKS_POST_BOUNCE: &str = "webhooks:post_bounce";
    pub const SUBSCRIBERS_GET: &str = "subscribers:get";
    pub const SUBSCRIBERS_MANAGE: &str = "subscribers:manage";
    /// listmonk's permission to filter subscribers with an SQL expression.
    pub const SUBSCRIBERS_SQL_QUERY: &str = "subscribers:sql_query";
    pub const LISTS_GET: &str = "lists:get";
    pub const LISTS_MANAGE: &str = "lists:manage";
    pub const CAMPAIGNS_GET: &str = "campaigns:get";
    pub const CAMPAIGNS_MANAGE: &str = "campaigns:manage";
    pub const CAMPAIGNS_GET_ANALYTICS: &str = "campaigns:get_analytics";
    pub const SETTINGS_GET: &str = "settings:get";
    pub const SETTINGS_MANAGE: &str = "settings:manage";
    pub const USERS_MANAGE: &str = "users:manage";

    pub const KNOWN: [&str; 15] = [
        ALL,
        BOUNCES_GET,
        BOUNCES_MANAGE,
        WEBHOOKS_POST_BOUNCE,
        SUBSCRIBERS_GET,
        SUBSCRIBERS_MANAGE,
        SUBSCRIBERS_SQL_QUERY,
        LISTS_GET,
        LISTS_MANAGE,
        CAMPAIGNS_GET,
        CAMPAIGNS_MANAGE,
        CAMPAIGNS_GET_ANALYTICS,
        SETTINGS_GET,
        SETTINGS_MANAGE,
        USERS_MANAGE,
    ];
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub user_type: UserType,
    pub permissions: Arc<[String]>,
}

impl Principal {
    pub fn can(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == perm::ALL || p == permission)
    }

    /// 403 naming the missing permission.
    pub fn require(&self, permission: &str) -> ServiceResult<()> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!("permission denied: {permission} is required")))
        }
    }
}

const CACHE_TTL: Duration = Duration::from_secs(60);
const CACHE_MAX: usize = 10_000;
const VERIFYING_AT_ONCE: usize = 2;

pub struct Authenticator {
    store: Arc<dyn Store>,
    cache_key: ring::hmac::Key,
    cache: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    limits: Arc<LoginLimiter>,
    metrics: Arc<Metrics>,
    /// argon2 uses 19 MiB and tens of milliseconds per verification: when 64
    /// clients arrive at once with the same new token, only a couple verify
    /// at a time and the rest find the cached result.
    verifying: tokio::sync::Semaphore,
    /// argon2's working memory, one buffer per permit, reused (see
    /// `verify_secret`).
    memory: Mutex<Vec<Vec<Block>>>,
    /// Companion mode: listmonk's API users may authenticate too.
    listmonk_tokens: bool,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>, limits: LoginLimits, metrics: Arc<Metrics>) -> Self {
        let key: [u8; 32] = rand::rng().random();
        Authenticator {
            store,
            cache_key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
            cache: Mutex::new(HashMap::new()),
            limits: LoginLimiter::new(limits),
            metrics,
            verifying: tokio::sync::Semaphore::new(VERIFYING_AT_ONCE),
            memory: Mutex::new(Vec::new()),
            listmonk_tokens: false,
        }
    }

    /// In companion mode, whether listmonk's API users may authenticate
    /// (`[listmonk] api_tokens`); a rebound user of the same name wins.
    pub fn accepting_listmonk_tokens(mut self, accept: bool) -> Self {
        self.listmonk_tokens = accept;
        self
    }

    /// A listmonk API user whose token is `secret`, as a principal with its
    /// role's permissions (listmonk's Super Admin role: all). Its id is
    /// negative so it never names a rebound user.
    async fn listmonk_principal(&self, username: &str, secret: &str) -> ApiResult<Option<Principal>> {
        let Some(listmonk) = self.store.listmonk().filter(|_| self.listmonk_tokens) else { return Ok(None) };
        let Some(user) = listmonk.listmonk_api_user(username).await? else { return Ok(None) };
        // listmonk keeps the token as is; compare without leaking its prefix through timing.
        if !bool::from(subtle::ConstantTimeEq::ct_eq(user.token.as_bytes(), secret.as_bytes())) {
            return Ok(None);
        }
        let permissions = if user.super_admin { vec![perm::ALL.to_string()] } else { user.permissions };
        Ok(Some(Principal {
            user_id: -user.id,
            username: user.username,
            user_type: UserType::Api,
            permissions: permissions.into(),
        }))
    }

    /// Checks `username:secret` against the stored hash; `client` is the
    /// caller's address for the per-address limit.
    pub async fn authenticate(
        &self,
        username: &str,
        secret: &str,
        client: Option<IpAddr>,
    ) -> ApiResult<Principal> {
        let key = self.cache_key(username, secret);
        let attempt = loop {
            let ended = self.limits.ended();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if let Some(p) = self.cached(&key) {
                self.metrics.auth_check("cached");
                return Ok(p);
            }
            match self.limits.begin(client, username) {
                Ok(a) => break a,
                // Others of this user or address are being checked: their
                // outcome (a cached principal, or a block) decides this one.
                Err(Refusal::Busy) => ended.await,
                Err(Refusal::Blocked(wait)) => {
                    self.metrics.auth_check("rate_limited");
                    let retry_after = wait.as_secs_f64().ceil().max(1.0) as u64;
                    return Err(ApiError::TooManyRequests {
                        message: format!("too many failed logins; try again in {retry_after} s"),
                        retry_after,
                    });
                }
            }
        };
        let _permit = self.verifying.acquire().await.map_err(ApiError::internal)?;
        if let Some(p) = self.cached(&key) {
            self.metrics.auth_check("cached");
            attempt.succeeded();
            return Ok(p);
        }
        let user = self.store.find_user(username).await?;
        if user.is_none()
            && let Some(p) = self.listmonk_principal(username, secret).await?
        {
            self.metrics.auth_check("verified");
            self.remember(key, p.clone());
            attempt.succeeded();
            return Ok(p);
        }
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let secret = secret.to_string();
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
        // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
        let (ok, memory) = tokio::task::spawn_blocking(move || {
            let ok = match hash {
                Some(h) => verify_secret(&secret, &h, &mut memory),
                None => {
                    // Same work for an unknown user, so timing does not reveal which names exist.
                    let _ = verify_secret(&secret, dummy_hash(), &mut memory);
                    false
                }
            };
            (ok, memory)
        })
        .await
        .map_err(ApiError::internal)?;
        self.memory.lock().unwrap_or_else(|e| e.into_inner()).push(memory);
        match user {
            Some(u) if ok && u.status == "enabled" => {
                self.metrics.auth_check("verified");
                let p = principal(&u);
                // Cached before the waiting attempts are woken, so they find it.
                self.remember(key, p.clone());
                attempt.succeeded();
                Ok(p)
            }
            _ => {
                self.metrics.auth_check("invalid");
                attempt.failed();
                Err(ApiError::Unauthorized("invalid credentials".into()))
            }
        }
    }

    fn cache_key(&self, username: &str, secret: &str) -> [u8; 32] {
        let mut ctx = ring::hmac::Context::with_key(&self.cache_key);
        ctx.update(username.as_bytes());
        ctx.update(&[0u8]);
        ctx.update(secret.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Forgets every cached credential (after users change).
    pub fn invalidate(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (Principal, Instant)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Principal> {
        let cache = self.lock();
        cache.get(key).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(p, _)| p.clone())
    }

    fn remember(&self, key: [u8; 32], p: Principal) {
        let mut cache = self.lock();
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(key, (p, Instant::now()));
    }
}

fn principal(u: &User) -> Principal {
    Principal {
        user_id: u.id,
        username: u.username.clone(),
        user_type: u.user_type,
        permissions: u.permissions.clone().into(),
    }
}

/// An argon2id PHC string for a password or token.
pub fn hash_secret(secret: &str) -> ApiResult<String> {
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))
}

/// Recomputes the hash with the stored parameters and salt and compares in
/// constant time, in `memory` (grown to the hash's block count once, then
/// reused). argon2's own `verify_password` allocates its 19 MiB per call; on
/// glibc those frees stay in the blocking threads' malloc arenas, and a burst
/// of 48 failed logins took the server to a 334 MiB peak.
fn verify_secret(secret: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else { return false };
    let (Ok(params), Ok(algorithm)) = (Params::try_from(&hash), Algorithm::try_from(hash.algorithm)) else {
        return false;
    };
    let Ok(version) = hash.version.map(Version::try_from).transpose() else { return false };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else { return false };
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version.unwrap_or_default(), params)
        .hash_password_into_with_memory(secret.as_bytes(), salt, &mut out, &mut memory[..])
        .is_ok()
        && bool::from(subtle::ConstantTimeEq::ct_eq(&out[..], expected.as_bytes()))
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_secret(&random_token()).unwrap_or_default())
}

/// A fresh access token or generated password.
pub fn random_token() -> String {
    rand::rng().sample_iter(rand::distr::Alphanumeric).take(32).map(char::from).collect()
}

/// Creates a user with a hashed secret.
pub async fn create_user(
    store: &dyn Store,
    username: &str,
    user_type: UserType,
    secret: &str,
    permissions: Vec<String>,
) -> ServiceResult<User> {
    let secret = secret.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_secret(&secret))
        .await
        .map_err(ServiceError::internal)?
        .map_err(ServiceError::internal)?;
    Ok(store
        .create_user(NewUser {
            username: username.to_string(),
            name: username.to_string(),
            user_type,
            password_hash: hash,
            permissions,
        })
        .await?)
}

/// Reads `user:secret` from `Authorization: Basic ...` or `Authorization: token user:secret`.
pub fn credentials(parts: &Parts) -> ApiResult<Option<(String, String)>> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else { return Ok(None) };
    let value =
        value.to_str().map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let pair = if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| ApiError::Unauthorized("malformed basic credentials".into()))?;
        String::from_utf8(raw).map_err(|_| ApiError::Unauthorized("malformed basic credentials".into()))?
    } else if scheme.eq_ignore_ascii_case("token") {
        rest.trim().to_string()
    } else {
        return Err(ApiError::Unauthorized(format!("unsupported authorization scheme {scheme:?}")));
    };
    let (user, secret) = pair
        .split_once(':')
        .ok_or_else(|| ApiError::Unauthorized("credentials must be user:token".into()))?;
    Ok(Some((user.to_string(), secret.to_string())))
}

impl<S> FromRequestParts<S> for Principal
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        match credentials(parts)? {
            Some((user, secret)) => {
                let client = crate::webhook_guard::client_ip(&parts.extensions);
                Arc::<Authenticator>::from_ref(state).authenticate(&user, &secret, client).await
            }
            None => Err(ApiError::Unauthorized("authentication required".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_reuses_its_memory_and_checks_every_byte() {
        let phc = hash_secret("correct horse").unwrap();
        let mut memory = Vec::new();
        assert!(verify_secret("correct horse", &phc, &mut memory));
        let grown = memory.len();
        assert_eq!(grown, Params::DEFAULT_M_COST as usize, "one block per KiB of m_cost");
        assert!(!verify_secret("correct horsf", &phc, &mut memory));
        assert!(!verify_secret("", &phc, &mut memory));
        assert!(!verify_secret("correct horse", "not a hash", &mut memory));
        assert_eq!(memory.len(), grown, "the buffer is reused, not grown again");
    }

    #[test]
    fn hashes_made_with_other_parameters_verify() {
        // e.g. made by another tool, or before a change of defaults.
        let params = Params::new(4096, 3, 2, Some(24)).unwrap();
        let salt = SaltString::encode_b64(b"sixteen byte sal").unwrap();
        let phc = Argon2::new(Algorithm::Argon2i, Version::V0x10, params)
            .hash_password(b"s3cret", &salt)
            .unwrap()
            .to_string();
        let mut memory = Vec::new();
        assert!(verify_secret("s3cret", &phc, &mut memory));
        assert!(!verify_secret("s3cre", &phc, &mut memory));
    }
}
