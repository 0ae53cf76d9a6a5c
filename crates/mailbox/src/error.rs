use thiserror::Error;

/// Why a scan failed. Every message names the server and the step, because
/// the operator reads it in the status API and the logs, far from the code.
#[derive(Debug, Error)]
pub enum MailboxError {
    #[error("could not connect to {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("{what} timed out after {secs} s")]
    Timeout { what: String, secs: u64 },
    #[error("TLS with {addr} failed: {message}")]
    Tls { addr: String, message: String },
    /// The server refused the credentials. Nothing was fetched or deleted.
    #[error("login to {addr} refused: {message}")]
    Auth { addr: String, message: String },
    /// The server answered something the protocol does not allow, or an error.
    #[error("{0}")]
    Protocol(String),
    #[error("connection to {addr} lost: {source}")]
    Io { addr: String, source: std::io::Error },
    /// Recording or keeping failed: the messages stay on the server.
    #[error("could not store the outcome: {0}")]
    Store(String),
    /// The mailbox settings cannot work (e.g. an unknown folder).
    #[error("{0}")]
    Config(String),
}

pub type Result<T, E = MailboxError> = std::result::Result<T, E>;

impl From<rebound_intake::IntakeError> for MailboxError {
    fn from(e: rebound_intake::IntakeError) -> Self {
        MailboxError::Store(e.to_string())
    }
}

impl From<rebound_store::StoreError> for MailboxError {
    fn from(e: rebound_store::StoreError) -> Self {
        MailboxError::Store(e.to_string())
    }
}
