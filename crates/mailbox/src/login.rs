//! How a mailbox logs in: nothing (PREAUTH), USER/PASS or LOGIN with a
//! password, or a SASL mechanism with an OAuth2 bearer token.

use rebound_core::oauth2::SaslMechanism;
use rebound_core::settings::{MailboxAuth, MailboxSettings};

use crate::error::Result;
use crate::oauth::{OAuthTokens, sasl_response};
use crate::scan::MailboxConfig;

pub enum Login<'a> {
    None,
    Password {
        user: &'a str,
        password: &'a str,
    },
    /// `response` is the mechanism's initial response, unencoded.
    Sasl {
        mechanism: SaslMechanism,
        response: String,
    },
}

impl<'a> Login<'a> {
    /// The login of `mailbox`; an OAuth2 mailbox's access token comes from
    /// `tokens` (and may need a request to its token endpoint).
    pub async fn of(mailbox: &'a MailboxConfig, tokens: &OAuthTokens) -> Result<Login<'a>> {
        let s: &'a MailboxSettings = &mailbox.settings;
        Ok(match s.auth_protocol {
            MailboxAuth::None => Login::None,
            MailboxAuth::Userpass => Login::Password { user: &s.username, password: s.password.expose() },
            MailboxAuth::Oauth2 => {
                let token = tokens.access_token(mailbox.uuid, &s.oauth2).await?;
                let mechanism = s.oauth2.mechanism;
                Login::Sasl {
                    mechanism,
                    response: sasl_response(mechanism, &s.username, &s.host, s.port, &token),
                }
            }
        })
    }
}
