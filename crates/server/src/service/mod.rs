//! The operations rebound offers, once, below both front ends: the JSON
//! API (`handlers/`) and the admin pages (`ui/`) parse their requests into
//! an operation's typed input, call it, and present its typed result (a
//! `{"data": ...}` envelope, a page). Neither calls the other.
//!
//! An operation is an `async fn` taking the [`AppState`], the
//! [`Principal`](crate::auth::Principal) acting and its input; it checks the
//! permission, validates, calls the store (or the scanners, the sender, the
//! live settings) and returns its result or a [`ServiceError`]. A refused
//! input is [`ServiceError::Invalid`], which names the field it is about as
//! the API spells it, so a form shows the message at that field. What a
//! `ServiceError` answers over HTTP is decided in `error.rs`, with every
//! other error type.
//!
//! The operation's permission check is the one that counts. A front end
//! that does work of its own before calling (parses a query, shows a
//! confirmation page) checks the same permission first, so a caller
//! without it is refused whatever else is wrong with the request.
//!
//! [`AppState`]: crate::state::AppState

pub mod bounce_export;
pub mod bounce_reclassify;
pub mod bounces;
pub mod campaign_analytics;
mod campaign_input;
pub mod campaign_report;
pub mod campaigns;
pub mod companion;
pub mod dashboard;
pub mod deliverability;
pub mod lists;
pub mod mailbox_oauth;
pub mod mailboxes;
pub mod settings;
pub mod subscriber_bulk;
pub mod subscriber_query;
pub mod subscribers;
pub mod suppressions;
pub mod users;
pub mod webhooks;

mod error;

pub use error::{ServiceError, ServiceResult};
