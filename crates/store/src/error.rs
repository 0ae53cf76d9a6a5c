use thiserror::Error;

/// The store's one error type. The server maps it to HTTP once.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule was broken (e.g. the e-mail already exists).
    #[error("{0}")]
    Conflict(String),
    /// Input the database refused for a reason the caller can fix.
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound(what.into())
    }

    /// Turns unique-constraint violations into `Conflict` with a readable message.
    pub(crate) fn from_unique(e: sqlx::Error, what: &str) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict(format!("{what} already exists"));
            }
            if db.is_foreign_key_violation() {
                return StoreError::Invalid(format!("{what} refers to something that does not exist"));
            }
        }
        StoreError::Database(e)
    }
}
