//! The web UI: its store additions on both backends, its HTTP-level security
//! (sessions, CSRF, permissions), and the pages driven in real headless
//! Chromium over WebDriver.

mod store_conformance;
