//! Bounce mailboxes: POP3 (RFC 1939) and IMAP (RFC 3501) scanners.
//!
//! For each enabled entry of `bounce.mailboxes`, a scanner connects
//! (implicit TLS, STLS/STARTTLS, or plain), logs in, lists the messages,
//! fetches them in small chunks, parses each with `rebound-dsn`, records one
//! bounce per failed recipient and keeps every other message whole in the
//! database, both through the [`rebound_intake::Intake`], and deletes (or
//! moves) a message only after its outcome is durable. See [`scan`] for why a scan cut at any
//! point neither loses a message nor counts a bounce twice.
//!
//! [`Scanner`] runs one scan (the CLI's `rebound scan`); [`Scanners`] runs
//! them all in the server, following the live settings.

mod connection_test;
mod error;
pub mod imap;
mod login;
pub mod message;
pub mod net;
pub mod oauth;
pub mod pop3;
pub mod scan;
pub mod status;
mod supervisor;

pub use connection_test::{CONNECTION_TEST_LIMIT, Connected, ConnectionTestError, test_connection};
pub use error::{MailboxError, Result};
pub use login::Login;
pub use net::Timeouts;
pub use oauth::{Authorization, OAuthTokens, authorization};
pub use scan::{
    MailboxConfig, NoProgress, Progress, ReadOptions, ScanCounts, ScanOptions, ScanReport, Scanner,
    StopSignal, enabled_mailboxes, read_options,
};
pub use status::{MailboxStatus, overview};
pub use supervisor::{LiveState, LiveStatus, ScanNowError, Scanners, SupervisorConfig};
