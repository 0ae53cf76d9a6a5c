//! The bounces page's destructive actions act on what the filter shows, on
//! every page of it, and say how many before they act: on a view of the hard
//! bounces, "Delete" deletes those and "Blocklist" blocklists their
//! subscribers, never everyone who ever bounced. Both backends.

use rebound_testkit::{Backend, TestServer, backend_tests};
use serde_json::json;

use crate::http::{hidden, login, page, post_form};
use crate::record;

async fn scoped_bulk_actions_touch_only_what_the_filter_shows(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    // Nobody is acted on while recording: the page's buttons are what is tested.
    s.put_settings(&json!({"bounce.actions": {"soft": {"count": 99, "action": "none"},
        "hard": {"count": 99, "action": "none"}, "complaint": {"count": 99, "action": "none"}}}))
        .await;
    for e in ["h1@x.test", "h2@x.test", "s1@x.test", "s2@x.test"] {
        s.create_subscriber(e, &[]).await;
    }
    for (email, kind) in [
        ("h1@x.test", "hard"),
        ("h2@x.test", "hard"),
        ("h2@x.test", "hard"),
        ("s1@x.test", "soft"),
        ("s2@x.test", "soft"),
    ] {
        record(&s, &json!({"email": email, "source": "api", "type": kind})).await;
    }
    let (session, _, _) = login(&s, "admin", &s.admin_password, &[]).await;
    let session = session.unwrap();

    // The filtered view says what "all" means there.
    let (_, _, html) = page(&s, &session, "/admin/bounces?type=hard&per_page=1").await;
    assert!(html.contains("Delete the 3 bounces shown"), "{html}");
    assert!(html.contains("id=\"danger-zone\""));
    let csrf = hidden(&html, "csrf");

    // Blocklisting the hard view: its 2 subscribers, asked first.
    let form =
        [("csrf", csrf.as_str()), ("type", "hard"), ("back", "/admin/bounces?type=hard"), ("confirmed", "")];
    let (status, _, ask) = post_form(&s, &session, "/admin/bounces/blocklist", &form).await;
    assert_eq!(status, 200);
    assert!(ask.contains("Blocklist the 2 subscribers of the bounces this filter shows?"), "{ask}");
    let form = [
        ("csrf", csrf.as_str()),
        ("type", "hard"),
        ("back", "/admin/bounces?type=hard"),
        ("confirmed", "yes"),
    ];
    let (status, location, _) = post_form(&s, &session, "/admin/bounces/blocklist", &form).await;
    assert_eq!(status, 303);
    assert!(location.contains("done=blocklisted") && location.contains("n=2"), "{location}");
    let blocklisted =
        s.get_json("/api/subscribers?per_page=all&query=subscribers.status='blocklisted'").await;
    let mut emails: Vec<String> = blocklisted["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap().to_string())
        .collect();
    emails.sort();
    assert_eq!(emails, ["h1@x.test", "h2@x.test"], "the soft bouncers stay");

    // Deleting "all" in the hard view deletes the 3 hard bounces, not the soft ones.
    let form = [("csrf", csrf.as_str()), ("all", "1"), ("type", "hard"), ("confirmed", "")];
    let (_, _, ask) = post_form(&s, &session, "/admin/bounces/delete", &form).await;
    assert!(ask.contains("Delete the 3 bounces this filter shows"), "{ask}");
    let form = [("csrf", csrf.as_str()), ("all", "1"), ("type", "hard"), ("confirmed", "yes")];
    let (status, location, _) = post_form(&s, &session, "/admin/bounces/delete", &form).await;
    assert_eq!(status, 303);
    assert!(location.contains("n=3"), "{location}");
    let left = s.get_json("/api/bounces?per_page=all").await;
    assert_eq!(left["data"]["total"], 2, "{left}");
    assert!(left["data"]["results"].as_array().unwrap().iter().all(|r| r["type"] == "soft"));

    // A wrong blocklisting is undone from the subscriber's page.
    let h1 =
        s.get_json("/api/subscribers?query=subscribers.email='h1@x.test'").await["data"]["results"][0]["id"]
            .as_i64()
            .unwrap();
    let (_, _, html) = page(&s, &session, &format!("/admin/subscribers/{h1}")).await;
    assert!(html.contains("id=\"reactivate\""), "a blocklisted subscriber offers Reactivate: {html}");
    let back = format!("/admin/subscribers/{h1}");
    let form =
        [("csrf", csrf.as_str()), ("email", "h1@x.test"), ("back", back.as_str()), ("confirmed", "yes")];
    let (status, location, body) = post_form(&s, &session, "/admin/suppressions/reactivate", &form).await;
    assert_eq!(status, 303, "{body}");
    assert!(location.starts_with(&back), "{location}");
    let h1_now = s.get_json(&format!("/api/subscribers/{h1}")).await;
    assert_eq!(h1_now["data"]["status"], "enabled", "{h1_now}");
    let (_, _, html) = page(&s, &session, &format!("/admin/subscribers/{h1}")).await;
    assert!(!html.contains("id=\"reactivate\""));

    // Without a filter, "all" is every bounce, and it says so.
    let form = [("csrf", csrf.as_str()), ("all", "1"), ("confirmed", "")];
    let (_, _, ask) = post_form(&s, &session, "/admin/bounces/delete", &form).await;
    assert!(ask.contains("Delete all 2 bounces?"), "{ask}");
}

backend_tests!(scoped_bulk_actions_touch_only_what_the_filter_shows);
