//! The sending side against a scriptable SMTP server (fake.rs): what the
//! sender does with each kind of reply, and the test-send endpoint that
//! records refusals as bounces.

mod endless;
mod endpoint;
mod fake;
mod sender;
