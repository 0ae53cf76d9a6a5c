//! Real bounces (crates/testkit/fixtures/sisimai), the subscribers they name, and a
//! scanner recording into a real store.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use rebound_core::{Action, ActionRule, BounceActions, BounceEvent, EmailAddress, SubscriberStatus};
use rebound_intake::{Intake, IntakeConfig, IntakeStore, Unobserved};
use rebound_mailbox::message::{MessageContext, Outcome, process};
use rebound_mailbox::{MailboxConfig, ScanOptions, Scanner};
use rebound_store::{BounceQuery, NewSubscriber, Pagination, PerPage, Store};
use serde_json::json;

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testkit/fixtures/sisimai")
}

/// A corpus bounce and the events the scanner should record for it.
pub struct Fixture {
    pub name: String,
    pub raw: Vec<u8>,
    pub events: Vec<BounceEvent>,
}

/// Up to `n` corpus bounces (in file-name order) whose failed recipients
/// all have an address, no two sharing a recipient, so each subscriber gets
/// exactly one bounce and a double count shows.
pub fn corpus_bounces(n: usize) -> Vec<Fixture> {
    let dir = corpus_dir().join("bsd");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus is required at {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    paths.sort();
    let ctx = MessageContext {
        mailbox_uuid: uuid::Uuid::nil(),
        source: "127.0.0.1".into(),
        parse: Default::default(),
        keep_limit: 1 << 20,
        attribution: Default::default(),
    };
    let mut seen_emails = HashSet::new();
    let mut seen_digests = HashSet::new();
    let mut out = Vec::new();
    for p in paths {
        if out.len() == n {
            break;
        }
        let raw = std::fs::read(&p).expect("read corpus file");
        let processed = process(&raw, &ctx);
        let Outcome::Bounce(events) = processed.outcome else { continue };
        let emails: Vec<String> =
            events.iter().filter_map(|e| e.subscriber.email.as_ref().map(|m| m.to_string())).collect();
        if emails.len() != events.len() || emails.iter().any(|e| seen_emails.contains(e)) {
            continue;
        }
        if emails.iter().collect::<HashSet<_>>().len() != emails.len()
            || !seen_digests.insert(processed.digest)
        {
            continue;
        }
        seen_emails.extend(emails);
        out.push(Fixture { name: p.file_name().unwrap().to_string_lossy().into_owned(), raw, events });
    }
    assert_eq!(out.len(), n, "the corpus has fewer than {n} usable bounces");
    out
}

/// Corpus bounces made unique by a header, for volume (1,000 messages from
/// a corpus of a few hundred).
pub fn many_bounces(n: usize) -> Vec<Vec<u8>> {
    let base = corpus_bounces(120);
    (0..n)
        .map(|i| {
            let mut raw = format!("X-Rebound-Test-Copy: {i}\r\n").into_bytes();
            raw.extend_from_slice(&base[i % base.len()].raw);
            raw
        })
        .collect()
}

pub fn not_a_bounce() -> Vec<u8> {
    std::fs::read(corpus_dir().join("not").join("is-not-bounce-01.eml")).expect("corpus non-bounce")
}

/// Bytes no parser can read a header from.
pub fn garbage() -> Vec<u8> {
    b"\xff\xfe\xfd no header here, just bytes\r\n\xc3\x28\xa0\xa1 not UTF-8 either\r\n".to_vec()
}

pub fn total_events(fixtures: &[Fixture]) -> usize {
    fixtures.iter().map(|f| f.events.len()).sum()
}

/// Creates a subscriber for every recipient of the fixtures.
pub async fn subscribers_for(store: &dyn Store, fixtures: &[Fixture]) {
    for f in fixtures {
        for ev in &f.events {
            let email: EmailAddress = ev.subscriber.email.clone().expect("email");
            store
                .create_subscriber(NewSubscriber {
                    email,
                    name: "corpus".into(),
                    attribs: json!({}),
                    status: SubscriberStatus::Enabled,
                    lists: vec![],
                    preconfirm: false,
                })
                .await
                .unwrap_or_else(|e| panic!("subscriber for {}: {e}", f.name));
        }
    }
}

/// No action ever fires, so every bounce is inserted and counted.
pub fn counting_actions() -> BounceActions {
    BounceActions {
        soft: ActionRule::new(1000, Action::None),
        hard: ActionRule::new(1000, Action::None),
        complaint: ActionRule::new(1000, Action::None),
        semantics: Default::default(),
    }
}

pub fn options() -> ScanOptions {
    ScanOptions { chunk: 4, ..ScanOptions::default() }
}

/// An intake into `store` with one writer, as `rebound scan` starts it.
pub fn intake_with(store: impl IntakeStore, actions: BounceActions) -> Intake {
    Intake::start(store, actions, IntakeConfig::default(), Arc::new(Unobserved)).0
}

/// An intake into `store` with [`counting_actions`].
pub fn intake(store: &Arc<dyn Store>) -> Intake {
    intake_with(store.clone(), counting_actions())
}

pub fn scanner(store: &Arc<dyn Store>) -> Scanner {
    Scanner::new(store.clone(), intake(store), options())
}

pub async fn bounce_rows(store: &dyn Store) -> i64 {
    let q =
        BounceQuery { pagination: Pagination { page: 1, per_page: PerPage::Count(1) }, ..Default::default() };
    store.query_bounces(&q).await.expect("query bounces").total
}

pub async fn kept_rows(store: &dyn Store) -> Vec<rebound_store::MailboxMessage> {
    let p = Pagination { page: 1, per_page: PerPage::All };
    store.query_mailbox_messages(None, p).await.expect("kept messages").results
}

pub fn config(m: &rebound_core::settings::MailboxSettings) -> MailboxConfig {
    MailboxConfig::new(m)
}

/// OAuth2 token handling over a throwaway SQLite store, for calls that take
/// one (the password mailboxes of these tests never use it).
pub async fn oauth_tokens() -> (rebound_testkit::TestDb, rebound_mailbox::OAuthTokens) {
    use rebound_testkit::OpenStore;
    let db = rebound_testkit::TestDb::new(rebound_testkit::Backend::Sqlite).await;
    let store = db.store().await;
    (db, rebound_mailbox::OAuthTokens::new(store))
}
