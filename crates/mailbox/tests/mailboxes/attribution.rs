//! Strict attribution (`bounce.attribution` = "strict"): a bounce e-mail
//! acts on a subscriber only with evidence of a message rebound sent them —
//! a genuine signed VERP token, or the returned X-Listmonk-Subscriber.
//! Forged notices are recorded as unverified (with the unmatched bounces)
//! and act on no one; on both backends. In the default mode ("any") the
//! same forged notice still blocklists, as it always did.

use rebound_core::settings::{AttributionMode, MailboxKind, VerpSettings};
use rebound_core::{BounceActions, BounceEvent, BounceType, EmailAddress, Secret, Settings, SubscriberRef};
use rebound_mailbox::{NoProgress, Scanner, StopSignal, read_options};
use rebound_store::{NewSubscriber, Pagination, RecordOutcome, Selection, Store};
use rebound_testkit::{Backend, OpenStore, TestDb, backend_tests};
use serde_json::json;
use uuid::Uuid;

use crate::dovecot::{Dovecot, Mode};
use crate::support::{config, intake_with, options};

const TEMPLATE: &str = "bounces+{subscriber_uuid}.{campaign_uuid}@site.test";
const SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";

/// An RFC 3464 DSN to `to` about `failed`, returning `original_headers`.
fn dsn(to: &str, failed: &str, original_headers: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <{}@mx.example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected: User unknown\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: news@site.test\r\nTo: {failed}\r\n\
         {original_headers}Subject: Our news\r\n\r\n--b--\r\n",
        Uuid::new_v4().simple()
    )
    .into_bytes()
}

async fn subscriber(store: &dyn Store, email: &str) -> (i64, Uuid) {
    let s = store
        .create_subscriber(NewSubscriber {
            email: EmailAddress::parse(email).unwrap(),
            name: "reader".into(),
            attribs: json!({}),
            status: rebound_core::SubscriberStatus::Enabled,
            lists: vec![],
            preconfirm: false,
        })
        .await
        .unwrap();
    (s.id, Uuid::parse_str(&s.uuid.to_string()).unwrap())
}

async fn status(store: &dyn Store, id: i64) -> String {
    store.get_subscriber(id).await.unwrap().status.as_str().to_string()
}

fn settings(mode: AttributionMode) -> Settings {
    Settings {
        attribution: mode,
        verp: VerpSettings {
            enabled: true,
            address: TEMPLATE.into(),
            signed: true,
            secret: Secret::new(SECRET),
        },
        ..Settings::default()
    }
}

async fn strict_mode_acts_only_on_evidence_of_a_send(backend: Backend) {
    let dovecot = Dovecot::start();
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let (victim, victim_uuid) = subscriber(store.as_ref(), "victim@example.org").await;
    let (signed, signed_uuid) = subscriber(store.as_ref(), "signed@example.org").await;
    let (headed, headed_uuid) = subscriber(store.as_ref(), "headed@example.org").await;

    let genuine = rebound_dsn::verp::encode_signed(TEMPLATE, SECRET.as_bytes(), signed_uuid);
    let forged_tag = {
        let other = rebound_dsn::verp::encode_signed(TEMPLATE, b"the attacker's guess", victim_uuid);
        assert_ne!(other, rebound_dsn::verp::encode_signed(TEMPLATE, SECRET.as_bytes(), victim_uuid));
        other
    };
    let unsigned = rebound_dsn::verp::encode_compact(TEMPLATE, victim_uuid, None);
    // Three forgeries against the victim: a bare notice, one to an unsigned
    // VERP address, one to a signed address with a made-up tag.
    dovecot.deliver(&dsn("bounces@site.test", "victim@example.org", ""));
    dovecot.deliver(&dsn(&unsigned, "victim@example.org", ""));
    dovecot.deliver(&dsn(&forged_tag, "victim@example.org", ""));
    // A genuine signed return path, even naming the victim as the failed
    // recipient, acts on the subscriber it was sent to only.
    dovecot.deliver(&dsn(&genuine, "victim@example.org", ""));
    // The returned original's X-Listmonk-Subscriber is evidence too.
    dovecot.deliver(&dsn(
        "bounces@site.test",
        "headed@example.org",
        &format!("X-Listmonk-Subscriber: {headed_uuid}\r\n"),
    ));

    let scanner =
        Scanner::new(store.clone(), intake_with(store.clone(), BounceActions::default()), options());
    let mailbox = config(&dovecot.mailbox(MailboxKind::Pop, Mode::Plain));
    let read = read_options(&settings(AttributionMode::Strict));
    let report = scanner.scan(&mailbox, &read, &NoProgress, &StopSignal::never()).await;
    assert!(report.error.is_none(), "{report:?}");
    let c = report.counts;
    assert_eq!((c.seen, c.recorded, c.unverified, c.unmatched, c.removed), (5, 2, 3, 0, 5), "{c:?}");

    assert_eq!(status(store.as_ref(), victim).await, "enabled", "a forged notice acted");
    assert_eq!(status(store.as_ref(), signed).await, "blocklisted");
    assert_eq!(status(store.as_ref(), headed).await, "blocklisted");

    // The forgeries are recorded and shown, flagged, with what they claimed.
    let all = Pagination { page: 1, per_page: rebound_store::PerPage::All };
    let unmatched = store.query_unmatched(all).await.unwrap();
    assert_eq!(unmatched.total, 3);
    for u in &unmatched.results {
        assert!(u.unverified, "{u:?}");
        assert!(u.reason.starts_with("unverified"), "{}", u.reason);
        assert_eq!(u.email, "victim@example.org");
        assert_eq!(u.bounce_type, BounceType::Hard);
    }
    // A retry of the unmatched bounces (after an import, say) does not make
    // them act either.
    let retried =
        store.retry_unmatched(&Selection::All, &BounceActions::default(), chrono::Utc::now()).await.unwrap();
    assert!(retried.is_empty(), "{retried:?}");
    assert_eq!(store.query_unmatched(all).await.unwrap().total, 3);
    assert_eq!(status(store.as_ref(), victim).await, "enabled");
}

async fn any_mode_keeps_todays_behaviour(backend: Backend) {
    let dovecot = Dovecot::start();
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let (victim, _) = subscriber(store.as_ref(), "victim@example.org").await;
    dovecot.deliver(&dsn("bounces@site.test", "victim@example.org", ""));
    let scanner =
        Scanner::new(store.clone(), intake_with(store.clone(), BounceActions::default()), options());
    let mailbox = config(&dovecot.mailbox(MailboxKind::Pop, Mode::Plain));
    let read = read_options(&settings(AttributionMode::Any));
    let report = scanner.scan(&mailbox, &read, &NoProgress, &StopSignal::never()).await;
    assert_eq!((report.counts.recorded, report.counts.unverified), (1, 0), "{:?}", report.counts);
    assert_eq!(status(store.as_ref(), victim).await, "blocklisted");
}

/// The storage side alone: an unverified event is recorded (once: a rescan
/// is a duplicate) and acts on no one, whatever the rules say.
async fn an_unverified_bounce_is_recorded_but_acts_on_no_one(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let (id, uuid) = subscriber(store.as_ref(), "victim@example.org").await;
    let mut ev = BounceEvent::new(
        SubscriberRef::new(Some(uuid), Some(EmailAddress::parse("victim@example.org").unwrap())).unwrap(),
        BounceType::Complaint,
        "pop.example.org",
    );
    ev.event_id = Some("msg:forged".into());
    ev.unverified = true;
    let now = chrono::Utc::now();
    let outcomes =
        store.record_bounces(std::slice::from_ref(&ev), &BounceActions::default(), now).await.unwrap();
    assert_eq!(outcomes, vec![RecordOutcome::Unverified]);
    let again = store.record_bounces(&[ev], &BounceActions::default(), now).await.unwrap();
    assert_eq!(again, vec![RecordOutcome::Duplicate]);
    assert_eq!(status(store.as_ref(), id).await, "enabled");
    let page = store.query_unmatched(Pagination::default()).await.unwrap();
    assert_eq!(page.total, 1);
    let u = &page.results[0];
    assert!(u.unverified && u.reason.starts_with("unverified"), "{u:?}");
    assert_eq!(
        (u.subscriber_uuid.as_deref(), u.source.as_str()),
        (Some(uuid.to_string().as_str()), "pop.example.org")
    );
    // Neither "retry all" nor a retry by id acts on it.
    let ids = Selection::Ids(vec![u.id]);
    assert!(store.retry_unmatched(&ids, &BounceActions::default(), now).await.unwrap().is_empty());
    assert_eq!(status(store.as_ref(), id).await, "enabled");
    assert_eq!(store.query_bounces(&Default::default()).await.unwrap().total, 0);
}

backend_tests!(
    strict_mode_acts_only_on_evidence_of_a_send,
    any_mode_keeps_todays_behaviour,
    an_unverified_bounce_is_recorded_but_acts_on_no_one
);
