//! OAuth2 for bounce mailboxes (`auth_protocol: "oauth2"`): Microsoft 365
//! and Gmail accept only OAuth2 for IMAP and POP3 ("Basic authentication is
//! disabled"). A mailbox holds the client and a refresh token; rebound
//! obtains and refreshes access tokens itself (rebound-mailbox) and logs in
//! with SASL XOAUTH2 or OAUTHBEARER (RFC 7628).

use serde::{Deserialize, Serialize};

use crate::Secret;

/// Whose authorization server: the presets fill the endpoints and scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OAuth2Provider {
    /// Endpoints and scope as given.
    #[default]
    Custom,
    /// Microsoft 365 / Outlook.com (Microsoft identity platform v2.0).
    Microsoft,
    /// Gmail / Google Workspace.
    Google,
}

/// The SASL mechanism the mailbox logs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SaslMechanism {
    /// Google's and Microsoft's mechanism; Dovecot has it too.
    #[default]
    Xoauth2,
    /// The standard one (RFC 7628).
    Oauthbearer,
}

impl SaslMechanism {
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Xoauth2 => "XOAUTH2",
            SaslMechanism::Oauthbearer => "OAUTHBEARER",
        }
    }
}

/// A mailbox's `oauth2` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MailboxOAuth2 {
    pub provider: OAuth2Provider,
    /// Token endpoint; empty takes the preset's. For Microsoft, a tenant of
    /// your own goes here (`https://login.microsoftonline.com/TENANT/oauth2/v2.0/token`).
    pub token_url: String,
    /// Authorization endpoint, for the UI's "Authorize" button; empty takes the preset's.
    pub auth_url: String,
    /// Space-separated scopes; empty takes the preset's.
    pub scope: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Obtained once through the UI's authorization (or by hand); rebound
    /// keeps the rotated one a provider hands back.
    pub refresh_token: Secret,
    pub mechanism: SaslMechanism,
}

/// The endpoints and scope a mailbox uses, after the preset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Endpoints {
    pub token_url: String,
    pub auth_url: String,
    pub scope: String,
    /// Extra parameters the authorization request needs for the provider to
    /// hand out a refresh token.
    pub auth_params: &'static [(&'static str, &'static str)],
}

const MICROSOFT_AUTH: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize";
const MICROSOFT_TOKEN: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
/// Microsoft's scopes for IMAP and POP3, and offline_access for a refresh token.
const MICROSOFT_SCOPE: &str = "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All offline_access";
const GOOGLE_AUTH: &str = "https://accounts.google.com/o/oauth2/v2/auth";
const GOOGLE_TOKEN: &str = "https://oauth2.googleapis.com/token";
/// Gmail's only scope for IMAP and POP3.
const GOOGLE_SCOPE: &str = "https://mail.google.com/";

impl MailboxOAuth2 {
    /// Nothing set: the mailbox does not use OAuth2 (not written out).
    pub fn is_unset(&self) -> bool {
        *self == MailboxOAuth2::default()
    }

    pub fn endpoints(&self) -> OAuth2Endpoints {
        let (auth, token, scope, params): (&str, &str, &str, &'static [(&str, &str)]) = match self.provider {
            OAuth2Provider::Custom => ("", "", "", &[]),
            OAuth2Provider::Microsoft => (MICROSOFT_AUTH, MICROSOFT_TOKEN, MICROSOFT_SCOPE, &[]),
            // Google hands out a refresh token only for offline access, and
            // again only when asked to show the consent screen.
            OAuth2Provider::Google => (
                GOOGLE_AUTH,
                GOOGLE_TOKEN,
                GOOGLE_SCOPE,
                &[("access_type", "offline"), ("prompt", "consent")],
            ),
        };
        let or = |mine: &str, preset: &str| {
            if mine.trim().is_empty() { preset.to_string() } else { mine.trim().to_string() }
        };
        OAuth2Endpoints {
            token_url: or(&self.token_url, token),
            auth_url: or(&self.auth_url, auth),
            scope: or(&self.scope, scope),
            auth_params: params,
        }
    }

    /// What the client secret and refresh token belong to: they are kept
    /// across a save only while this stays the same, so nobody who may edit
    /// settings can point the mailbox at a token endpoint of their own and
    /// receive them.
    pub fn grant_owner(&self) -> (String, String) {
        (self.endpoints().token_url.to_ascii_lowercase(), self.client_id.trim().to_string())
    }

    pub(crate) fn mask(&mut self) {
        self.client_secret = self.client_secret.masked();
        self.refresh_token = self.refresh_token.masked();
    }

    /// Problems with an enabled OAuth2 mailbox's settings, for `field`.
    pub(crate) fn check(&self, field: &str) -> Result<(), String> {
        let e = self.endpoints();
        if e.token_url.is_empty() {
            return Err(format!(
                "{field}.token_url is required (or choose the microsoft or google provider)"
            ));
        }
        if !(e.token_url.starts_with("https://") || e.token_url.starts_with("http://")) {
            return Err(format!("{field}.token_url must be an http(s) URL"));
        }
        if self.client_id.trim().is_empty() {
            return Err(format!("{field}.client_id is required"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_fill_what_is_left_empty() {
        let google = MailboxOAuth2 { provider: OAuth2Provider::Google, ..Default::default() };
        let e = google.endpoints();
        assert_eq!(e.token_url, GOOGLE_TOKEN);
        assert_eq!(e.scope, "https://mail.google.com/");
        assert!(e.auth_params.contains(&("access_type", "offline")));
        let tenant = MailboxOAuth2 {
            provider: OAuth2Provider::Microsoft,
            token_url: "https://login.microsoftonline.com/contoso/oauth2/v2.0/token".into(),
            ..Default::default()
        };
        assert!(tenant.endpoints().token_url.contains("contoso"));
        assert!(tenant.endpoints().scope.contains("IMAP.AccessAsUser.All"));
        assert!(MailboxOAuth2::default().is_unset());
        assert!(MailboxOAuth2::default().check("m").unwrap_err().contains("token_url is required"));
    }
}
