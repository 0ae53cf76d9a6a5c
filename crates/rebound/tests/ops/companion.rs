//! Companion mode against databases listmonk v6.2.0's own schema.sql made,
//! with the real `rebound serve --listmonk` binary: listmonk's settings rows
//! and schema are untouched; the seed's webhook call, a provider webhook and
//! a mailbox scan (real Dovecot) leave listmonk's subscriber rows exactly as
//! listmonk's own `record-bounce` statement does on a twin database; listmonk's
//! `query-bounces` reads them; `listmonk --install` run again does not break
//! rebound; two instances act once; listmonk's API tokens; the writes
//! listmonk owns are refused; dropping rebound's schema leaves no trace.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use rebound_core::settings::MailboxKind;
use rebound_testkit::{TestDb, listmonk};
use reqwest::Method;
use serde_json::{Value, json};

use crate::dovecot::{self, Dovecot};
use crate::support::{ADMIN, POSTMARK, Server};

/// `pg_dump --schema-only` of the database, with the given extra arguments.
fn schema_dump(url: &str, extra: &[&str]) -> String {
    let dump = Command::new("pg_dump")
        .args(["--schema-only", "--no-owner"])
        .args(extra)
        .arg(url)
        .output()
        .expect("run pg_dump");
    assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));
    // pg_dump brackets its output with a random `\restrict` key (CVE-2025-8714).
    String::from_utf8(dump.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// listmonk's settings rows, byte for byte (value as stored, and when).
async fn listmonk_settings(pool: &sqlx::PgPool) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT key, value::text, updated_at::text FROM public.settings ORDER BY key")
        .fetch_all(pool)
        .await
        .unwrap()
}

const EMAILS: [&str; 6] = ["a@lm.test", "b@lm.test", "c@lm.test", "d@lm.test", "e@lm.test", "f@lm.test"];

/// What listmonk's own pages would have made: a list, the subscribers
/// (confirmed on it) and a sent campaign. Returns the campaign's uuid.
async fn seed(pool: &sqlx::PgPool) -> String {
    sqlx::query(
        "INSERT INTO lists (uuid, name, type, optin) VALUES (gen_random_uuid(), 'News', 'public', 'single')",
    )
    .execute(pool)
    .await
    .unwrap();
    for e in EMAILS {
        sqlx::query("INSERT INTO subscribers (uuid, email, name) VALUES (gen_random_uuid(), $1, $1)")
            .bind(e)
            .execute(pool)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO subscriber_lists (subscriber_id, list_id, status)
         SELECT s.id, l.id, 'confirmed' FROM subscribers s, lists l",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query_scalar(
        "INSERT INTO campaigns (uuid, name, subject, from_email, body, messenger, status, sent, to_send)
         VALUES (gen_random_uuid(), 'Spring', 'Spring news', 'news@lm.test', '<p>hi</p>', 'email', 'finished', 400, 400)
         RETURNING uuid::text",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Each subscriber's status and its subscriptions' statuses, by e-mail.
async fn subscriber_rows(pool: &sqlx::PgPool) -> BTreeMap<String, (String, Vec<String>)> {
    let rows: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT s.email, s.status::text,
                COALESCE(ARRAY_AGG(l.name || '=' || sl.status::text ORDER BY l.name)
                         FILTER (WHERE sl.list_id IS NOT NULL), '{}')
         FROM subscribers s
         LEFT JOIN subscriber_lists sl ON sl.subscriber_id = s.id
         LEFT JOIN lists l ON l.id = sl.list_id
         GROUP BY s.email, s.status ORDER BY s.email",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().map(|(e, s, l)| (e, (s, l))).collect()
}

/// One statement of listmonk's queries/*.sql, by its `-- name:`.
fn listmonk_query(file: &str, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(listmonk::file(&format!("queries/{file}"))?).unwrap();
    let start = text.find(&format!("-- name: {name}\n")).unwrap_or_else(|| panic!("no {name} in {file}"));
    let body = &text[start..];
    let end = body[1..].find("-- name:").map_or(body.len(), |i| i + 1);
    Some(body[..end].to_string())
}

/// A literal for EXECUTE.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Runs listmonk's record-bounce on `url` for each (email, type), with
/// listmonk's default rules, as listmonk does: a prepared statement whose
/// parameter types the server infers (listmonk's driver sends them untyped).
async fn listmonk_records(url: &str, campaign: &str, bounces: &[(&str, &str)]) {
    let Some(stmt) = listmonk_query("bounces.sql", "record-bounce") else { return };
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.unwrap();
    sqlx::raw_sql(&format!("PREPARE record_bounce AS {}", stmt.trim().trim_end_matches(';')))
        .execute(&mut conn)
        .await
        .expect("PREPARE listmonk's record-bounce");
    // listmonk's defaults (schema.sql's bounce.actions).
    let rule = |t: &str| match t {
        "soft" => (2, "none"),
        _ => (1, "blocklist"),
    };
    for (email, kind) in bounces {
        let (count, action) = rule(kind);
        sqlx::raw_sql(&format!(
            "EXECUTE record_bounce('', {}, {}, {}, 'test', '{{}}', NOW(), {count}, {})",
            lit(email),
            lit(campaign),
            lit(kind),
            lit(action)
        ))
        .execute(&mut conn)
        .await
        .expect("EXECUTE record_bounce");
    }
}

/// A delivery status notification for `rcpt` (RFC 3464), as an MTA sends one.
fn dsn(rcpt: &str, status: &str, diagnostic: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@mx.lm.test\r\nTo: bounces@lm.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <dsn-{rcpt}@mx.lm.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.lm.test\r\n\r\n\
         Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: {status}\r\n\
         Diagnostic-Code: smtp; {diagnostic}\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nTo: {rcpt}\r\nSubject: Spring news\r\n\r\n--b--\r\n"
    )
    .into_bytes()
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post_bounce(s: &Server, body: Value) {
    let res = s.admin(Method::POST, "/webhooks/bounce").json(&body).send().await.unwrap();
    let status = res.status();
    assert!(status.is_success(), "{body}: {status} {}", res.text().await.unwrap_or_default());
}

async fn postmark(s: &Server, id: u64, email: &str, kind: &str) {
    let body = json!({"RecordType": if kind == "SpamComplaint" { "SpamComplaint" } else { "Bounce" },
        "ID": id, "Type": kind, "Email": email, "BouncedAt": "2026-12-02T10:00:00Z",
        "Details": "smtp;550 5.1.1 user unknown", "MessageID": format!("m-{id}")});
    let res = s
        .client
        .post(s.url("/webhooks/service/postmark"))
        .basic_auth(POSTMARK.0, Some(POSTMARK.1))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{body}: {}", res.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companion_records_into_listmonks_tables_as_listmonk_would_and_changes_nothing_else() {
    let Some(db) = TestDb::listmonk().await else { return };
    let Some(twin) = TestDb::listmonk().await else { return };
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let twin_pool = sqlx::PgPool::connect(&twin.url).await.unwrap();
    let campaign = seed(&pool).await;
    let twin_campaign = seed(&twin_pool).await;
    let original_full_schema = schema_dump(&db.url, &[]);
    let settings_before = listmonk_settings(&pool).await;

    let mut s = Server::start_companion(&db.url, &[], None).await;
    assert!(
        s.log().contains("took listmonk's bounce settings")
            && s.log().contains("switch listmonk's own scanning"),
        "the first start says what it took and what to switch off:\n{}",
        s.log()
    );
    // listmonk's bounce.actions (its defaults) became rebound's.
    let mine = s.ok(Method::GET, "/api/settings", &json!({})).await;
    assert_eq!(mine["bounce.actions"]["soft"], json!({"count": 2, "action": "none"}), "{mine}");
    assert_eq!(mine["bounce.action_semantics"], "listmonk");
    assert_eq!(listmonk_settings(&pool).await, settings_before, "starting changed listmonk's settings rows");

    // Changing rebound's settings changes rebound's rows only.
    let dovecot = Dovecot::start();
    dovecot.deliver(&dsn(
        "e@lm.test",
        "5.1.1",
        "550 5.1.1 <e@lm.test>: Recipient address rejected: User unknown",
    ));
    s.put_settings(json!({"bounce.enabled": true, "bounce.webhooks_enabled": true,
        "bounce.postmark": {"enabled": true, "username": POSTMARK.0, "password": POSTMARK.1}}))
        .await;
    let refused = s
        .admin(Method::PUT, "/api/settings")
        .json(&json!({"bounce.action_semantics": "rebound"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400, "companion mode keeps listmonk's record-bounce semantics");

    // The seed's webhook call, a provider's webhook, a mailbox scan.
    for (email, kind) in [
        ("a@lm.test", "soft"),
        ("a@lm.test", "soft"),
        ("a@lm.test", "soft"),
        ("b@lm.test", "hard"),
        ("d@lm.test", "soft"),
    ] {
        post_bounce(&s, json!({"email": email, "campaign_uuid": campaign, "source": "api", "type": kind}))
            .await;
    }
    postmark(&s, 1, "c@lm.test", "SpamComplaint").await;
    postmark(&s, 2, "d@lm.test", "HardBounce").await;
    let mailbox = serde_json::to_value(dovecot.mailbox(MailboxKind::Imap, dovecot::Mode::Plain)).unwrap();
    s.put_settings(json!({"bounce.mailboxes": [mailbox]})).await;
    wait_for("the scanned bounce in listmonk's bounces table", async || {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM public.bounces b JOIN public.subscribers s ON s.id = b.subscriber_id
             WHERE s.email = 'e@lm.test'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
            == 1
    })
    .await;
    assert_eq!(
        listmonk_settings(&pool).await,
        settings_before,
        "bounces and settings changed listmonk's rows"
    );

    // The twin: listmonk's own statement, the same bounces in the same order.
    listmonk_records(
        &twin.url,
        &twin_campaign,
        &[
            ("a@lm.test", "soft"),
            ("a@lm.test", "soft"),
            ("a@lm.test", "soft"),
            ("b@lm.test", "hard"),
            ("d@lm.test", "soft"),
            ("c@lm.test", "complaint"),
            ("d@lm.test", "hard"),
            ("e@lm.test", "hard"),
        ],
    )
    .await;
    let ours = subscriber_rows(&pool).await;
    assert_eq!(
        ours,
        subscriber_rows(&twin_pool).await,
        "rebound's actions differ from listmonk's record-bounce"
    );
    assert_eq!(ours["b@lm.test"].0, "blocklisted");
    assert_eq!(ours["b@lm.test"].1, ["News=confirmed"], "listmonk's blocklist leaves the subscriptions");
    assert_eq!(ours["a@lm.test"].0, "enabled");
    assert_eq!(ours["f@lm.test"].0, "enabled");

    // listmonk's query-bounces reads what rebound wrote, campaign included.
    if let Some(q) = listmonk_query("bounces.sql", "query-bounces") {
        let q = q.replace("%order%", "bounces.id ASC");
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
        sqlx::raw_sql(&format!("PREPARE query_bounces AS {}", q.trim().trim_end_matches(';')))
            .execute(&mut conn)
            .await
            .expect("PREPARE listmonk's query-bounces");
        // EXECUTE cannot be a subquery: its rows are read as they come.
        let rows: Vec<(String, String, String, Option<sqlx::types::Json<Value>>)> = {
            use sqlx::Row;
            sqlx::raw_sql("EXECUTE query_bounces(0, 0, 0, '', 0, 0)")
                .fetch_all(&mut conn)
                .await
                .expect("EXECUTE query_bounces")
                .iter()
                .map(|r| {
                    (r.get("email"), r.try_get_unchecked("type").unwrap(), r.get("source"), r.get("campaign"))
                })
                .collect()
        };
        // a: 3 soft (rebound keeps the third; listmonk's statement would not
        // insert it: docs/companion.md), b hard, d soft and hard, c, e.
        assert_eq!(rows.len(), 8, "{rows:?}");
        let first = &rows[0];
        assert_eq!(first.0, "a@lm.test");
        assert_eq!(first.2, "api");
        assert_eq!(first.3.as_ref().map(|j| j.0["name"].clone()), Some(json!("Spring")), "{first:?}");
        assert!(rows.iter().any(|r| r.0 == "c@lm.test" && r.2 == "postmark"), "{rows:?}");
    }

    // The per-campaign view reads listmonk's campaigns.sent.
    let session = login(&s).await;
    let page = s
        .client
        .get(s.url("/admin/campaigns/1"))
        .header("Cookie", format!("rebound_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    // The webhook's 5 bounces named the campaign: 5 of its 400 sent.
    assert!(html.contains("1.25 %"), "the bounce rate against listmonk's campaigns.sent:\n{html}");
    let list = s
        .client
        .get(s.url("/admin/campaigns"))
        .header("Cookie", format!("rebound_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Spring") && list.contains("campaigns-listmonk-owned"), "{list}");
    assert!(!list.contains("new-campaign-heading"), "no form to create campaigns in listmonk's database");

    s.terminate(Duration::from_secs(20));
    assert_eq!(listmonk_settings(&pool).await, settings_before);
    assert_eq!(
        schema_dump(&db.url, &["--exclude-schema", rebound_store::COMPANION_SCHEMA]),
        original_full_schema,
        "rebound changed listmonk's schema"
    );
    // Removing rebound is dropping its schema: nothing of it is left.
    sqlx::query("DROP SCHEMA rebound CASCADE").execute(&pool).await.unwrap();
    assert_eq!(schema_dump(&db.url, &[]), original_full_schema);
}

/// Logs in through the login form; returns the session cookie's value.
async fn login(s: &Server) -> String {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = client.get(s.url("/admin/login")).send().await.unwrap();
    let cookies: Vec<String> =
        form.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let html = form.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .map(|r| r[..r.find('"').unwrap()].to_string())
        .unwrap_or_default();
    let cookie = cookies.iter().map(|c| c.split(';').next().unwrap()).collect::<Vec<_>>().join("; ");
    let res = client
        .post(s.url("/admin/login"))
        .header("Cookie", cookie)
        .form(&[("username", ADMIN.0), ("password", ADMIN.1), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("rebound_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("session cookie")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listmonk_reinstalling_leaves_rebound_working() {
    let Some(db) = TestDb::listmonk().await else { return };
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let campaign = seed(&pool).await;
    let mut s = Server::start_companion(&db.url, &[], None).await;
    s.put_settings(json!({"bounce.enabled": true, "bounce.webhooks_enabled": true})).await;
    post_bounce(
        &s,
        json!({"email": "a@lm.test", "campaign_uuid": campaign, "source": "api", "type": "soft"}),
    )
    .await;
    s.terminate(Duration::from_secs(20));
    let rebound_schema = schema_dump(&db.url, &["--schema", rebound_store::COMPANION_SCHEMA]);

    // `listmonk --install` again: every DROP TYPE ... CASCADE and DROP TABLE of schema.sql.
    let schema = std::fs::read_to_string(listmonk::file("schema.sql").unwrap()).unwrap();
    sqlx::raw_sql(&schema).execute(&pool).await.expect("re-run listmonk's schema.sql");
    assert_eq!(
        schema_dump(&db.url, &["--schema", rebound_store::COMPANION_SCHEMA]),
        rebound_schema,
        "listmonk's reinstall changed rebound's tables"
    );

    // rebound starts and works: its settings and users survived.
    seed(&pool).await;
    let s = Server::start_companion(&db.url, &[], None).await;
    post_bounce(&s, json!({"email": "b@lm.test", "source": "api", "type": "hard"})).await;
    let status: String =
        sqlx::query_scalar("SELECT status::text FROM public.subscribers WHERE email = 'b@lm.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "blocklisted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_companions_act_once_and_listmonks_data_is_listmonks() {
    let Some(db) = TestDb::listmonk().await else { return };
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    seed(&pool).await;
    let one = Server::start_companion(&db.url, &[], None).await;
    let two = Server::start_companion(&db.url, &[], None).await;
    one.put_settings(json!({"bounce.enabled": true, "bounce.webhooks_enabled": true,
        "bounce.postmark": {"enabled": true, "username": POSTMARK.0, "password": POSTMARK.1}}))
        .await;
    // The other instance notices the settings (it polls their version).
    wait_for("the second instance's settings", async || {
        two.ok(Method::GET, "/api/settings", &json!({})).await["bounce.postmark"]["enabled"] == json!(true)
    })
    .await;
    // Every event reaches both instances at once (a provider's retry, a
    // load balancer): each is recorded and acted on once.
    let mut tasks = Vec::new();
    for round in 0..3u64 {
        for (i, email) in EMAILS.iter().enumerate() {
            for s in [&one, &two] {
                let id = round * 100 + i as u64;
                tasks.push(postmark(s, id, email, if i % 2 == 0 { "HardBounce" } else { "SoftBounce" }));
            }
        }
    }
    futures::future::join_all(tasks).await;
    let per_subscriber: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT s.email, s.status::text, COUNT(b.id) FROM public.subscribers s
         LEFT JOIN public.bounces b ON b.subscriber_id = s.id GROUP BY s.email, s.status ORDER BY s.email",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (i, (email, status, n)) in per_subscriber.iter().enumerate() {
        if i % 2 == 0 {
            // The first hard bounce blocklists; later ones are not inserted (listmonk's rule).
            assert_eq!((status.as_str(), *n), ("blocklisted", 1), "{email}");
        } else {
            assert_eq!((status.as_str(), *n), ("enabled", 3), "{email}: three soft bounces, each once");
        }
    }

    // listmonk's subscribers, lists and campaigns are listmonk's to change.
    for (method, path, body) in [
        (Method::POST, "/api/subscribers", json!({"email": "new@lm.test", "name": "New"})),
        (Method::PUT, "/api/subscribers/1", json!({"email": "a@lm.test", "name": "A"})),
        (Method::DELETE, "/api/subscribers/1", json!({})),
        (Method::PUT, "/api/subscribers/blocklist", json!({"ids": [2]})),
        (Method::POST, "/api/lists", json!({"name": "Other", "type": "public"})),
        (Method::DELETE, "/api/lists/1", json!({})),
        (Method::POST, "/api/campaigns", json!({"name": "X", "subject": "X", "lists": [1]})),
        (Method::DELETE, "/api/campaigns/1", json!({})),
    ] {
        let res = one.admin(method.clone(), path).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 409, "{method} {path}");
        let text = res.text().await.unwrap();
        assert!(text.contains("listmonk owns"), "{text}");
    }
    // Reading them works.
    let campaigns = one.ok(Method::GET, "/api/campaigns", &json!({})).await;
    assert_eq!(campaigns["results"][0]["name"], "Spring", "{campaigns}");
    assert_eq!(campaigns["results"][0]["sent"], 400);
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM public.subscribers").fetch_one(&pool).await.unwrap();
    assert_eq!(n, EMAILS.len() as i64, "nothing was created or deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listmonk_api_tokens_post_bounces_when_allowed() {
    let Some(db) = TestDb::listmonk().await else { return };
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    seed(&pool).await;
    // listmonk's install makes its Super Admin role first (id 1); an API
    // user as listmonk's Users page makes one: a role, the token in `password`.
    sqlx::query("INSERT INTO roles (type, name) VALUES ('user', 'Super Admin')")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO roles (type, name, permissions) VALUES ('user', 'Bounce poster', '{webhooks:post_bounce}')")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO users (username, password_login, password, email, name, type, user_role_id, status)
         VALUES ('poster', false, 'listmonk-api-token', 'poster@lm.test', 'poster', 'api',
                 (SELECT id FROM roles WHERE name = 'Bounce poster'), 'enabled')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let body = json!({"email": "a@lm.test", "source": "api", "type": "hard"});
    let send = async |s: &Server, token: &str, method: Method, path: &str| {
        s.client
            .request(method, s.url(path))
            .header("Authorization", token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    };

    // Not accepted unless the operator says so.
    let s = Server::start_companion(&db.url, &[], None).await;
    s.put_settings(json!({"bounce.enabled": true, "bounce.webhooks_enabled": true})).await;
    assert_eq!(send(&s, "token poster:listmonk-api-token", Method::POST, "/webhooks/bounce").await, 401);
    drop(s);

    let s = Server::start_companion(&db.url, &[], Some("[listmonk]\napi_tokens = true\n")).await;
    assert_eq!(send(&s, "token poster:wrong-token", Method::POST, "/webhooks/bounce").await, 401);
    assert_eq!(
        send(&s, "token poster:listmonk-api-token", Method::GET, "/api/settings").await,
        403,
        "its role's permissions only"
    );
    assert_eq!(send(&s, "token poster:listmonk-api-token", Method::POST, "/webhooks/bounce").await, 200);
    let status: String =
        sqlx::query_scalar("SELECT status::text FROM public.subscribers WHERE email = 'a@lm.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "blocklisted");
    // A disabled listmonk API user is refused.
    sqlx::query(
        "INSERT INTO users (username, password_login, password, email, name, type, user_role_id, status)
         VALUES ('retired', false, 'retired-token', 'retired@lm.test', 'retired', 'api',
                 (SELECT id FROM roles WHERE name = 'Bounce poster'), 'disabled')",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(send(&s, "token retired:retired-token", Method::POST, "/webhooks/bounce").await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companion_mode_refuses_a_database_that_is_not_listmonks() {
    let db = TestDb::new(rebound_testkit::Backend::Postgres).await;
    let out = Command::new(env!("CARGO_BIN_EXE_rebound"))
        .args(["migrate", "--listmonk", &db.url])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs a database that listmonk created"), "{stderr}");
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&sqlx::PgPool::connect(&db.url).await.unwrap())
    .await
    .unwrap();
    assert_eq!(tables, 0, "nothing was created");
}
