use rebound_core::CoreError;
use rebound_intake::IntakeError;
use rebound_mailbox::ScanNowError;
use rebound_store::StoreError;
use thiserror::Error;

/// Why an operation did not happen. Messages are shown to API users and in
/// the pages as they are.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// The input is refused. `field` names the part of the input it is
    /// about, as the API spells it ("name", "content_type", "subscribers");
    /// "settings" for a settings update, whose messages name the setting
    /// by its path ("bounce.mailboxes[0].host is required").
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    /// The principal lacks a permission, or may not do this to that.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A feature switched off, or a part not running.
    #[error("{0}")]
    Unavailable(String),
    /// A server rebound talked to failed (the SMTP server of a test send).
    #[error("{0}")]
    Upstream(String),
    /// "Scan now" refused; the API and the pages each say it their way.
    #[error(transparent)]
    Scan(#[from] ScanNowError),
    /// The store refused the input ([`StoreError::Invalid`]) or failed.
    /// Its not-found and conflict are [`ServiceError::NotFound`] and
    /// [`ServiceError::Conflict`].
    #[error(transparent)]
    Store(StoreError),
    /// Recording through the intake failed, or rebound is shutting down.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            e @ StoreError::NotFound(_) => ServiceError::NotFound(e.to_string()),
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            e => ServiceError::Store(e),
        }
    }
}

impl ServiceError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid { field, message: message.into() }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ServiceError::Internal(e.into())
    }

    /// The refused field and the message, for a form to show at the field.
    /// A store's refusal of the input (an unknown list, say) belongs to no
    /// one field: `form`.
    pub fn invalid_field(&self) -> Option<(&'static str, &str)> {
        match self {
            ServiceError::Invalid { field, message } => Some((field, message)),
            ServiceError::Store(StoreError::Invalid(m)) => Some(("form", m)),
            _ => None,
        }
    }
}

/// A domain value refused while parsing the input (a bounce type, a
/// subscriber status): about `field`.
pub trait InvalidAt<T> {
    fn invalid_at(self, field: &'static str) -> ServiceResult<T>;
}

impl<T> InvalidAt<T> for Result<T, CoreError> {
    fn invalid_at(self, field: &'static str) -> ServiceResult<T> {
        self.map_err(|e| ServiceError::invalid(field, e.to_string()))
    }
}
