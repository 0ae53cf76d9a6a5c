//! `rebound export`, `rebound import` and `rebound backup` as an operator
//! runs them.

use std::process::{Command, Output};

use chrono::{TimeZone, Utc};
use rebound_core::{BounceEvent, BounceType, EmailAddress, SubscriberRef, SubscriberStatus};
use rebound_store::{CampaignFields, NewSubscriber, Store};
use rebound_testkit::{Backend, OpenStore, TestDb};
use serde_json::{Value, json};

fn rebound(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rebound"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rebound")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// 30 bounces: 10 subscribers x 3, alternating two campaigns; the first 15
/// dated January 2026, the rest March 2026.
async fn seed(store: &dyn Store) -> (i64, i64) {
    let mut campaigns = Vec::new();
    for name in ["spring", "summer"] {
        let c = store
            .create_campaign(CampaignFields {
                name: name.into(),
                subject: name.into(),
                content_type: "plain".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        campaigns.push(c);
    }
    for i in 0..10 {
        store
            .create_subscriber(NewSubscriber {
                email: EmailAddress::parse(&format!("x{i}@export.test")).unwrap(),
                name: format!("x{i}"),
                attribs: json!({}),
                status: SubscriberStatus::Enabled,
                lists: vec![],
                preconfirm: false,
            })
            .await
            .unwrap();
    }
    let events: Vec<BounceEvent> = (0..30)
        .map(|k| {
            let email = EmailAddress::parse(&format!("x{}@export.test", k % 10)).unwrap();
            let mut e = BounceEvent::new(SubscriberRef::by_email(email), BounceType::Soft, "cli");
            e.campaign_uuid = Some(campaigns[k % 2].uuid.parse().unwrap());
            e.meta = json!({"k": k, "note": "comma, \"quote\""});
            let month = if k < 15 { 1 } else { 3 };
            e.created_at = Some(Utc.with_ymd_and_hms(2026, month, 10, 12, 0, k as u32).unwrap());
            e
        })
        .collect();
    let actions = rebound_core::BounceActions {
        soft: rebound_core::ActionRule::new(1000, rebound_core::Action::None),
        ..Default::default()
    };
    store.record_bounces(&events, &actions, Utc::now()).await.unwrap();
    (campaigns[0].id, campaigns[1].id)
}

async fn export_streams_csv_and_json_with_filters(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let (spring, _) = seed(store.as_ref()).await;

    let out = rebound(&["export", "--database", &db.url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut r = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header[..3], ["id", "email", "subscriber_uuid"]);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 30);
    let meta: Value = serde_json::from_str(&rows[0][9]).unwrap();
    assert_eq!(meta["note"], "comma, \"quote\"");

    let out = rebound(&["export", "--database", &db.url, "--campaign", &spring.to_string()]);
    assert_eq!(csv::Reader::from_reader(out.stdout.as_slice()).records().count(), 15);
    let out = rebound(&["export", "--database", &db.url, "--since", "2026-02-01"]);
    assert_eq!(csv::Reader::from_reader(out.stdout.as_slice()).records().count(), 15);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bounces.json");
    let out = rebound(&[
        "export",
        "--database",
        &db.url,
        "--format",
        "json",
        "--since",
        "2026-03-10T12:00:20Z",
        "--campaign",
        &spring.to_string(),
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("exported 5 bounces"), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 5, "{v}");
    assert!(arr.iter().all(|b| b["campaign"]["name"] == "spring" && b["type"] == "soft"), "{v}");

    let out = rebound(&["export", "--database", &db.url, "--since", "last tuesday"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("YYYY-MM-DD"), "{}", text(&out.stderr));
}

async fn subscribers_in(db: &TestDb, list: &str) -> Vec<(String, String, String)> {
    let sql = "SELECT s.email, s.name, sl.status::text FROM subscribers s \
               JOIN subscriber_lists sl ON sl.subscriber_id = s.id JOIN lists l ON l.id = sl.list_id \
               WHERE l.name = $1 ORDER BY s.email";
    if db.url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query_as(sql).bind(list).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        let sql = sql.replace("::text", "").replace("$1", "?1");
        sqlx::query_as(&sql).bind(list).fetch_all(&pool).await.unwrap()
    }
}

async fn import_skips_bad_rows_and_is_all_or_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    for (email, status) in
        [("old@import.test", SubscriberStatus::Enabled), ("bl@import.test", SubscriberStatus::Blocklisted)]
    {
        store
            .create_subscriber(NewSubscriber {
                email: EmailAddress::parse(email).unwrap(),
                name: "Old".into(),
                attribs: json!({}),
                status,
                lists: vec![],
                preconfirm: false,
            })
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("subscribers.csv");
    let mut csv = String::from("email,name,attributes\n");
    csv.push_str("new1@import.test,New One,\"{\"\"plan\"\": \"\"pro\"\"}\"\n");
    csv.push_str("broken address,Bad,{}\n");
    csv.push_str("OLD@import.test,Old again,{}\n");
    csv.push_str("new2@import.test,New Two,not json\n");
    csv.push_str("bl@import.test,Blocklisted,{}\n");
    for i in 0..2500 {
        csv.push_str(&format!("bulk{i}@import.test,Bulk {i},{{}}\n"));
    }
    std::fs::write(&file, &csv).unwrap();
    let out = rebound(&["import", file.to_str().unwrap(), "--list", "Newsletter", "--database", &db.url]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("subscribers.csv:3: skipped: invalid email"), "{stderr}");
    assert!(stderr.contains("subscribers.csv:5: skipped: attributes is not a JSON object"), "{stderr}");
    assert!(stdout.contains("created): 2501 new subscribers, 2 already there, 2 rows skipped"), "{stdout}");
    let members = subscribers_in(&db, "Newsletter").await;
    assert_eq!(members.len(), 2503);
    for (email, _, status) in &members {
        let expected = if email == "bl@import.test" { "unsubscribed" } else { "confirmed" };
        assert_eq!(status, expected, "{email}");
    }
    assert!(members.iter().any(|(e, n, _)| e == "old@import.test" && n == "Old"), "existing rows stay");
    let new1 = store
        .find_subscriber(&SubscriberRef::by_email(EmailAddress::parse("new1@import.test").unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new1.attribs["plan"], "pro");

    // A database error on the last row: nothing of the file is imported.
    if backend == Backend::Postgres {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::raw_sql(
            "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN
               IF NEW.email = 'boom@import.test' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$
             LANGUAGE plpgsql;
             CREATE TRIGGER boom BEFORE INSERT ON subscribers FOR EACH ROW EXECUTE FUNCTION boom();",
        )
        .execute(&pool)
        .await
        .unwrap();
    } else {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::raw_sql(
            "CREATE TRIGGER boom BEFORE INSERT ON subscribers WHEN NEW.email = 'boom@import.test'
             BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        )
        .execute(&pool)
        .await
        .unwrap();
    }
    let mut csv = String::from("email,name\n");
    for i in 0..1500 {
        csv.push_str(&format!("second{i}@import.test,Second {i}\n"));
    }
    csv.push_str("boom@import.test,Boom\n");
    std::fs::write(&file, &csv).unwrap();
    let out = rebound(&["import", file.to_str().unwrap(), "--list", "Second", "--database", &db.url]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("nothing was imported"), "{}", text(&out.stderr));
    assert!(subscribers_in(&db, "Second").await.is_empty());
    let found = store
        .find_subscriber(&SubscriberRef::by_email(EmailAddress::parse("second0@import.test").unwrap()))
        .await
        .unwrap();
    assert!(found.is_none(), "a row of the failed import was kept");
    let lists = store.query_lists(Default::default()).await.unwrap();
    assert!(lists.results.iter().all(|l| l.name != "Second"), "the failed import's list was kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_a_live_sqlite_database() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use crate::support::{Server, event, load, sub};

    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db.url).await;
    server.put_settings(json!({"bounce.enabled": true, "bounce.webhooks_enabled": true})).await;
    server.subscribers(10).await;
    let token = server.webhook_token("backup").await;
    let stop = Arc::new(AtomicBool::new(false));
    let base = server.base.clone();
    let running = tokio::spawn(load(
        Arc::new(move |_, _| base.clone()),
        Arc::new(move |_| token.clone()),
        4,
        Arc::new(|c, i| Some(event(&format!("b{c}-{i}"), &sub(i % 10), "soft"))),
        stop.clone(),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // While the server writes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.db");
    let out = rebound(&["backup", path.to_str().unwrap(), "--database", &db.url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("integrity ok"), "{}", text(&out.stdout));
    // The copy holds the same secrets: readable by its owner only.
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "backup mode {:o}", mode & 0o777);
    stop.store(true, Ordering::Relaxed);
    let sent = running.await.unwrap().len();

    let copy = format!("sqlite://{}", path.display());
    let pool = sqlx::SqlitePool::connect(&copy).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bounces").fetch_one(&pool).await.unwrap();
    assert!(n > 0 && (n as usize) <= sent, "{n} of {sent}");
    pool.close().await;
    // The copy is a working rebound database.
    let store = rebound_store::connect(&copy).await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.count_users().await.unwrap() >= 1);

    // Refusals: an existing file, PostgreSQL.
    let again = rebound(&["backup", path.to_str().unwrap(), "--database", &db.url]);
    assert!(!again.status.success() && text(&again.stderr).contains("exists"));
    let pg = rebound(&["backup", "/tmp/x.db", "--database", "postgres://nobody@127.0.0.1:1/none"]);
    assert!(!pg.status.success() && text(&pg.stderr).contains("pg_dump"));
}

rebound_testkit::backend_tests!(
    export_streams_csv_and_json_with_filters,
    import_skips_bad_rows_and_is_all_or_nothing
);
