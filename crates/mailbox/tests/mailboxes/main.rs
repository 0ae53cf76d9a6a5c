//! The mailbox scanners against a real Dovecot and real databases.
//!
//! One test binary (modules below) so the suite links once. Each test
//! starts its own Dovecot on ephemeral loopback ports (see `dovecot`).

mod dovecot;
mod support;

mod api;
mod attribution;
mod connection_test;
mod endless;
mod imap;
mod interrupted;
mod oauth;
// The UI tests' plain-HTTP login, for "Authorize".
mod pop3;
mod supervisor;
mod throughput;
mod tls;
#[path = "../../../server/tests/ui/http.rs"]
#[allow(dead_code)]
mod ui_http;
