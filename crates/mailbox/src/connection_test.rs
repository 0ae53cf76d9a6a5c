//! "Test connection" (Settings -> Bounces): connect to a saved mailbox and
//! log in, fetching and deleting nothing, so an operator learns whether the
//! host, port, TLS mode and credentials work before the first scan.

use std::time::Duration;

use rebound_core::settings::{MailboxKind, MailboxSettings};

use crate::login::Login;
use crate::oauth::OAuthTokens;

use crate::imap::Imap;
use crate::pop3::Pop3;
use crate::{MailboxConfig, MailboxError, Timeouts};

/// How long a connection test may take in all.
pub const CONNECTION_TEST_LIMIT: Duration = Duration::from_secs(30);

/// A test that worked: where it logged in and how many messages wait there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// "pop3s://127.0.0.1:995" (MailboxConfig::label).
    pub label: String,
    pub waiting: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionTestError {
    /// Connecting, TLS, logging in or listing failed; says which and why.
    #[error(transparent)]
    Mailbox(#[from] MailboxError),
    #[error("no answer from {label} within {} s", CONNECTION_TEST_LIMIT.as_secs())]
    TimedOut { label: String },
}

/// Connects to `m` and logs in (POP3: USER/PASS, IMAP: LOGIN and SELECT of
/// its folder), counts the messages waiting and says goodbye. Nothing is
/// fetched, deleted or moved. Gives up after [`CONNECTION_TEST_LIMIT`].
pub async fn test_connection(
    m: &MailboxSettings,
    tokens: &OAuthTokens,
) -> Result<Connected, ConnectionTestError> {
    let cfg = MailboxConfig::new(m);
    let timeouts = Timeouts {
        connect: Duration::from_secs(10),
        login: Duration::from_secs(15),
        read: Duration::from_secs(15),
    };
    let attempt = async {
        let login = Login::of(&cfg, tokens).await?;
        let waiting = match m.kind {
            MailboxKind::Pop => {
                let mut pop =
                    Pop3::connect(&m.host, m.port, cfg.security(), m.tls_skip_verify, timeouts, 1 << 20)
                        .await?;
                pop.log_in(&login).await?;
                let n = pop.list().await?.len();
                pop.quit().await?;
                n
            }
            MailboxKind::Imap => {
                let mut imap = Imap::connect(
                    &m.host,
                    m.port,
                    cfg.security(),
                    m.tls_skip_verify,
                    timeouts,
                    &login,
                    &m.folder,
                    1 << 20,
                )
                .await?;
                let n = imap.list().await?.len();
                imap.logout().await?;
                n
            }
        };
        Ok::<usize, MailboxError>(waiting)
    };
    match tokio::time::timeout(CONNECTION_TEST_LIMIT, attempt).await {
        Ok(Ok(waiting)) => Ok(Connected { label: cfg.label(), waiting }),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(ConnectionTestError::TimedOut { label: cfg.label() }),
    }
}
