//! The `Store` contract, tested against the trait on both backends: every
//! test body runs once on SQLite and once on PostgreSQL (`backend_tests!`),
//! so a behaviour that differs between them fails here. PostgreSQL missing
//! is a failure, never a skip.
//!
//! The server's HTTP tests cover the same behaviours end to end; these pin
//! them where they are implemented.

mod accounts;
mod catalog;
mod dedup;
mod mailbox;
mod queries;
mod reclassify;
mod recording;
mod sessions_stats;
mod subscriber_bulk;
mod subscriber_expressions;
mod subscribers;
mod support;
mod unmatched;
