//! Settings -> Bounces says why an enabled provider refuses every request:
//! SES without an allowed topic ARN.

use rebound_testkit::{ADMIN_USER, Backend, TestServer};
use serde_json::json;

use crate::http::{login, page};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ses_section_says_every_notification_is_refused_without_a_topic() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.put_settings(&json!({"bounce.ses_enabled": true})).await;
    let (session, _, _) = login(&s, ADMIN_USER, &s.admin_password, &[]).await;
    let session = session.expect("logged in");
    let (status, _, html) = page(&s, &session, "/admin/settings/bounces").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"id="provider-ses-notice""#), "no notice in the SES section");
    assert!(html.contains("SES is enabled but no topic ARN is allowed"), "{html}");
    assert!(html.contains(r#"name="bounce.ses_topic_arns""#), "the topic list can be edited");

    s.put_settings(&json!({"bounce.ses_topic_arns": ["arn:aws:sns:eu-west-1:111122223333:bounces"]})).await;
    let (_, _, html) = page(&s, &session, "/admin/settings/bounces").await;
    assert!(!html.contains(r#"id="provider-ses-notice""#));
    assert!(html.contains("arn:aws:sns:eu-west-1:111122223333:bounces"));
}
