//! The MailboxStore on both backends: kept messages, handled ids, leases,
//! scan state.

use std::time::Duration;

use chrono::Utc;
use rebound_store::{Disposition, KeptKind, MailboxScan, NewMailboxMessage, Pagination, PerPage, Selection};
use rebound_testkit_db::{Backend, backend_tests};
use serde_json::json;
use uuid::Uuid;

use crate::support::Fixture;

fn kept(mailbox: Uuid, digest: &str, raw: &[u8]) -> NewMailboxMessage {
    NewMailboxMessage {
        mailbox_uuid: mailbox,
        source: "pop.example.com".into(),
        digest: digest.into(),
        kind: KeptKind::NotBounce,
        reason: "auto_reply".into(),
        meta: json!({"subject": "Out of office"}),
        raw: raw.to_vec(),
        size: raw.len() as u64,
        truncated: false,
        left_on_server: false,
    }
}

async fn kept_messages_keep_raw_bytes_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let store = f.store.clone();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let raw = b"Subject: Out of office\r\n\r\n\xff\x00binary\r\n";
    store
        .keep_mailbox_messages(&[kept(a, "d1", raw), kept(a, "d2", b"x"), kept(b, "d1", b"y")])
        .await
        .unwrap();
    // The same message from the same mailbox again (a rescan): no second row.
    store.keep_mailbox_messages(&[kept(a, "d1", raw)]).await.unwrap();

    let all = store.query_mailbox_messages(None, Pagination::default()).await.unwrap();
    assert_eq!(all.total, 3);
    assert!(all.results.iter().all(|m| m.raw.is_none()), "listings leave the bytes out");
    let of_a =
        store.query_mailbox_messages(Some(a), Pagination { page: 1, per_page: PerPage::All }).await.unwrap();
    assert_eq!(of_a.total, 2);
    let first = of_a.results.iter().find(|m| m.digest == "d1").unwrap();
    assert_eq!(first.kind, KeptKind::NotBounce);
    assert_eq!(first.meta["subject"], "Out of office");
    assert_eq!(first.mailbox_uuid, a.to_string());
    assert_eq!(first.size, raw.len() as i64);
    let full = store.get_mailbox_message(first.id).await.unwrap();
    assert_eq!(full.raw.as_deref(), Some(&raw[..]));

    assert_eq!(store.delete_mailbox_messages(&Selection::Ids(vec![first.id])).await.unwrap(), 1);
    assert!(store.get_mailbox_message(first.id).await.is_err());
    assert_eq!(store.delete_mailbox_messages(&Selection::All).await.unwrap(), 2);
}

async fn handled_ids_are_remembered_per_mailbox(backend: Backend) {
    let f = Fixture::new(backend).await;
    let store = f.store.clone();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let marks = vec![
        ("k1".to_string(), Disposition::Remove),
        ("k2".to_string(), Disposition::Leave),
        ("k1".to_string(), Disposition::Remove),
    ];
    store.mark_mailbox_handled(a, &marks).await.unwrap();
    store.mark_mailbox_handled(b, &[("k1".to_string(), Disposition::Remove)]).await.unwrap();
    let h = store.mailbox_handled(a).await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h["k1"], Disposition::Remove);
    assert_eq!(h["k2"], Disposition::Leave);
    // A later decision replaces an earlier one.
    store.mark_mailbox_handled(a, &[("k2".to_string(), Disposition::Remove)]).await.unwrap();
    assert_eq!(store.mailbox_handled(a).await.unwrap()["k2"], Disposition::Remove);

    assert_eq!(store.forget_mailbox_handled(a, &["k1".to_string(), "nope".to_string()]).await.unwrap(), 1);
    assert_eq!(store.mailbox_handled(a).await.unwrap().len(), 1);
    assert_eq!(store.mailbox_handled(b).await.unwrap().len(), 1, "other mailboxes are untouched");
}

async fn a_lease_has_one_holder_until_released_or_expired(backend: Backend) {
    let f = Fixture::new(backend).await;
    let store = f.store.clone();
    let m = Uuid::new_v4();
    let ttl = Duration::from_secs(60);
    let now = Utc::now();
    assert!(store.acquire_mailbox_lease(m, "one", ttl, now).await.unwrap());
    assert!(!store.acquire_mailbox_lease(m, "two", ttl, now).await.unwrap());
    // The holder renews.
    assert!(store.acquire_mailbox_lease(m, "one", ttl, now).await.unwrap());
    // Someone else's release does nothing.
    store.release_mailbox_lease(m, "two").await.unwrap();
    assert!(!store.acquire_mailbox_lease(m, "two", ttl, now).await.unwrap());
    // An expired lease can be taken over (the holder crashed).
    let later = now + chrono::Duration::seconds(61);
    assert!(store.acquire_mailbox_lease(m, "two", ttl, later).await.unwrap());
    assert!(!store.acquire_mailbox_lease(m, "one", ttl, later).await.unwrap());
    store.release_mailbox_lease(m, "two").await.unwrap();
    assert!(store.acquire_mailbox_lease(m, "one", ttl, later).await.unwrap());

    // Racing instances: exactly one wins.
    let m2 = Uuid::new_v4();
    let tries = (0..8).map(|i| {
        let store = store.clone();
        async move { store.acquire_mailbox_lease(m2, &format!("racer-{i}"), ttl, Utc::now()).await.unwrap() }
    });
    let won = futures::future::join_all(tries).await.into_iter().filter(|w| *w).count();
    assert_eq!(won, 1);
    let state = store.mailbox_states().await.unwrap();
    let s = state.iter().find(|s| s.mailbox_uuid == m2.to_string()).unwrap();
    assert!(s.lease_owner.as_deref().unwrap().starts_with("racer-"));
    assert!(s.lease_until.unwrap() > Utc::now());
}

async fn scan_state_keeps_the_last_error(backend: Backend) {
    let f = Fixture::new(backend).await;
    let store = f.store.clone();
    let m = Uuid::new_v4();
    let t0 = Utc::now();
    let failed = MailboxScan {
        label: "pop://u@h:995".into(),
        started_at: t0,
        finished_at: t0,
        counts: json!({"seen": 0, "errors": 1}),
        error: Some("login to h:995 refused: [AUTH] Authentication failed.".into()),
    };
    store.save_mailbox_scan(m, &failed).await.unwrap();
    let ok = MailboxScan {
        counts: json!({"seen": 3, "errors": 0}),
        error: None,
        started_at: t0 + chrono::Duration::seconds(5),
        finished_at: t0 + chrono::Duration::seconds(6),
        ..failed.clone()
    };
    store.save_mailbox_scan(m, &ok).await.unwrap();
    let states = store.mailbox_states().await.unwrap();
    assert_eq!(states.len(), 1);
    let s = &states[0];
    assert_eq!(s.mailbox_uuid, m.to_string());
    assert_eq!(s.label, "pop://u@h:995");
    assert_eq!(s.last_ok, Some(true));
    assert_eq!(s.last_counts["seen"], 3);
    // The last error stays visible, with its time, after a success.
    assert_eq!(s.last_error.as_deref(), failed.error.as_deref());
    assert!(s.last_error_at.is_some());
    assert!(s.last_scan_at.unwrap() > s.last_error_at.unwrap());
}

/// A message anyone can send may carry U+0000 in its decoded subject, and a
/// server's error may too: kept and shown (as U+FFFD) on both backends.
async fn nul_characters_in_kept_messages_and_scan_errors(backend: Backend) {
    let f = Fixture::new(backend).await;
    let store = f.store.clone();
    let m = Uuid::new_v4();
    let mut msg = kept(m, "d-nul", b"Subject: =?utf-8?q?a=00b?=\r\n\r\n\x00");
    msg.meta = json!({"subject": "a\u{0}b"});
    msg.reason = "parser panicked at \u{0}".into();
    store.keep_mailbox_messages(&[msg, kept(m, "d-ok", b"x")]).await.unwrap();
    let all = store.query_mailbox_messages(Some(m), Pagination::default()).await.unwrap();
    assert_eq!(all.total, 2);
    let got = all.results.iter().find(|k| k.digest == "d-nul").unwrap();
    assert_eq!(
        (got.meta["subject"].as_str(), got.reason.as_str()),
        (Some("a\u{fffd}b"), "parser panicked at \u{fffd}")
    );
    let raw = store.get_mailbox_message(got.id).await.unwrap().raw.unwrap();
    assert!(raw.ends_with(b"\r\n\r\n\x00"), "the raw bytes are kept as they came");

    let now = Utc::now();
    let scan = MailboxScan {
        label: "pop://u@h:995".into(),
        started_at: now,
        finished_at: now,
        counts: json!({"seen": 1}),
        error: Some("-ERR \u{0}".into()),
    };
    store.save_mailbox_scan(m, &scan).await.unwrap();
    let state = store.mailbox_states().await.unwrap();
    assert_eq!(state[0].last_error.as_deref(), Some("-ERR \u{fffd}"));
}

async fn kept_messages_page_newest_first(backend: Backend) {
    let f = Fixture::new(backend).await;
    let store = f.store.clone();
    let m = Uuid::new_v4();
    for d in ["d1", "d2", "d3"] {
        store.keep_mailbox_messages(&[kept(m, d, d.as_bytes())]).await.unwrap();
    }
    let mut big = kept(m, "d4", b"Subject: huge\r\n");
    (big.size, big.truncated, big.left_on_server, big.kind) =
        (50_000_000, true, true, KeptKind::Unattributed);
    store.keep_mailbox_messages(&[big]).await.unwrap();
    let page = |page| store.query_mailbox_messages(Some(m), Pagination { page, per_page: PerPage::Count(3) });
    let p1 = page(1).await.unwrap();
    assert_eq!(p1.total, 4);
    assert_eq!(p1.results.iter().map(|k| k.digest.as_str()).collect::<Vec<_>>(), ["d4", "d3", "d2"]);
    let newest = &p1.results[0];
    assert_eq!((newest.size, newest.truncated, newest.left_on_server), (50_000_000, true, true));
    assert_eq!(newest.kind, KeptKind::Unattributed);
    assert_eq!(page(2).await.unwrap().results.iter().map(|k| k.digest.as_str()).collect::<Vec<_>>(), ["d1"]);
    assert!(
        store
            .query_mailbox_messages(Some(Uuid::new_v4()), Pagination::default())
            .await
            .unwrap()
            .results
            .is_empty()
    );
    assert!(matches!(store.get_mailbox_message(999_999).await, Err(rebound_store::StoreError::NotFound(_))));
    assert_eq!(store.forget_mailbox_handled(m, &[]).await.unwrap(), 0);
    store.mark_mailbox_handled(m, &[]).await.unwrap();
    assert!(store.mailbox_handled(m).await.unwrap().is_empty());
}

/// An OAuth2 mailbox's rotated refresh token belongs to the grant it was
/// issued for; a scan's state written later keeps it.
async fn a_rotated_refresh_token_is_kept_per_grant(backend: Backend) {
    let f = Fixture::new(backend).await;
    let store = f.store.clone();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(store.rotated_refresh_token(a, "grant-1").await.unwrap(), None);
    store.save_rotated_refresh_token(a, "grant-1", "rt-2").await.unwrap();
    store.save_rotated_refresh_token(a, "grant-1", "rt-3").await.unwrap();
    let scan = MailboxScan {
        label: "a".into(),
        started_at: Utc::now(),
        finished_at: Utc::now(),
        counts: json!({}),
        error: None,
    };
    store.save_mailbox_scan(a, &scan).await.unwrap();
    assert_eq!(store.rotated_refresh_token(a, "grant-1").await.unwrap().as_deref(), Some("rt-3"));
    // A new authorization is another grant: the old rotation does not apply.
    assert_eq!(store.rotated_refresh_token(a, "grant-2").await.unwrap(), None);
    assert_eq!(store.rotated_refresh_token(b, "grant-1").await.unwrap(), None);
}

backend_tests!(
    a_rotated_refresh_token_is_kept_per_grant,
    kept_messages_keep_raw_bytes_once,
    handled_ids_are_remembered_per_mailbox,
    a_lease_has_one_holder_until_released_or_expired,
    scan_state_keeps_the_last_error,
    nul_characters_in_kept_messages_and_scan_errors,
    kept_messages_page_newest_first,
);
