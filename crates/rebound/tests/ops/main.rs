//! Reliability proofs against the real `rebound` binary, run as child
//! processes: SIGKILL mid-load and a provider retry (crash.rs), two
//! `rebound serve` processes on one PostgreSQL (two_instances.rs), SIGTERM
//! (shutdown.rs), the operations subcommands (cli.rs), listmonk v6.2.0's
//! default settings (listmonk_settings.rs) and its own database, which is
//! refused (listmonk_database.rs). One test binary
//! so the suite links once.

mod cli;
mod companion;
mod crash;
mod events_crash;
mod events_two_instances;
// The mailbox tests' real Dovecot and corpus fixtures, reused as they are.
#[path = "../../../mailbox/tests/mailboxes/dovecot.rs"]
#[allow(dead_code)]
mod dovecot;
mod limits;
mod listmonk_database;
mod listmonk_settings;
#[path = "../../../mailbox/tests/mailboxes/support.rs"]
#[allow(dead_code)]
mod mailbox_support;
mod observability;
mod shutdown;
mod support;
mod two_instances;
