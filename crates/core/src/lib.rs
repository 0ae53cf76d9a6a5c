//! Domain types shared by every rebound crate. Nothing here does I/O, so the
//! parser, the provider adapters, the store and the server agree on one
//! vocabulary without depending on each other.

pub mod actions;
pub mod bounce;
pub mod duration;
pub mod email;
pub mod error;
mod foreign_settings;
pub mod headers;
pub mod mapped;
pub mod oauth2;
pub mod secret;
pub mod settings;
pub mod status;

pub use actions::{Action, ActionRule, ActionSemantics, BounceActions};
pub use bounce::{BounceEvent, BounceType, SubscriberRef};
pub use email::EmailAddress;
pub use error::CoreError;
pub use secret::Secret;
pub use settings::Settings;
pub use status::{SubscriberStatus, SubscriptionStatus};
