//! Settings -> Bounces and Settings -> SMTP.
//!
//! The forms are described once as a list of fields named by their place in
//! the settings JSON (`bounce.actions.soft.count`, `bounce.mailboxes[0].host`,
//! `smtp[1].email_headers`): the same names the settings' own validation
//! messages use, so an error from [`SettingsHandle::update`] lands next to the
//! field it is about. Saving builds a partial PUT /api/settings body and goes
//! through the same operation as that PUT (crate::service::settings::update:
//! validation, secrets kept when the placeholder comes back), so the UI
//! cannot store anything the API would refuse. Each
//! field is first parsed on its own with the settings' own types, so a bad
//! duration or number is reported at its field, not for the whole group.
//!
//! Secrets are never written into a page: a stored one shows as the
//! placeholder, which keeps it when saved unchanged.
//!
//! The parts: [`schema`] (the forms' fields), [`json_path`] (field names
//! as paths into the settings JSON), [`view`] (what the page shows),
//! [`convert`] (a posted form to an update, messages back to fields), and
//! [`pages`] (the request handlers).
//!
//! [`SettingsHandle::update`]: crate::settings::SettingsHandle::update

mod convert;
mod json_path;
mod pages;
mod schema;
mod view;

pub use pages::{bounces_form, index, save_bounces, save_smtp, smtp_form, test_mailbox};
