//! A campaign's own page over plain HTTP: its bounces by type and, once
//! the campaign's `sent` count is known (listmonk's sending pipeline writes
//! it), its bounce and complaint rates, on both backends.

use rebound_testkit::{Backend, TestServer, backend_tests, set_campaign_sent};
use serde_json::json;

use crate::http::{login, page};
use crate::record;

/// The text inside the element with `id` (tags stripped, whitespace squeezed).
fn text_of(html: &str, id: &str) -> String {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = start + html[start..].find('>').unwrap() + 1;
    let end = start + html[start..].find("</dd>").or_else(|| html[start..].find("</span>")).unwrap();
    let mut out = String::new();
    let mut in_tag = false;
    for c in html[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The bounce table's row of one type: (count, rate) as shown.
fn type_row(html: &str, kind: &str) -> (String, String) {
    let row = &html[html.find(&format!("data-type=\"{kind}\"")).unwrap_or_else(|| panic!("no {kind} row"))..];
    let row = &row[..row.find("</tr>").unwrap()];
    let cell = |class: &str| {
        let c = &row[row.find(&format!("class=\"{class}\"")).unwrap()..];
        let c = &c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()];
        let mut out = String::new();
        let mut in_tag = false;
        for ch in c.chars() {
            match ch {
                '<' => in_tag = true,
                '>' => in_tag = false,
                ch if !in_tag => out.push(ch),
                _ => {}
            }
        }
        out.trim().to_string()
    };
    (cell("count"), cell("rate"))
}

async fn campaign_page_shows_bounces_and_rates_against_sent(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let list = s.create_list("Newsletter").await;
    for e in ["a@example.com", "b@example.com", "c@example.com", "d@example.com"] {
        s.create_subscriber(e, &[list]).await;
    }
    let (id, uuid) = s.create_campaign("Spring sale").await;
    let (_, other) = s.create_campaign("Other").await;
    for (email, kind, campaign) in [
        ("a@example.com", "soft", &uuid),
        ("b@example.com", "soft", &uuid),
        ("c@example.com", "hard", &uuid),
        ("d@example.com", "complaint", &other),
    ] {
        record(&s, &json!({"email": email, "source": "api", "type": kind, "campaign_uuid": campaign})).await;
    }
    let (session, _, status) = login(&s, "admin", &s.admin_password, &[]).await;
    assert_eq!(status, 303);
    let session = session.expect("session cookie");

    // The campaigns list links to the page.
    let (status, _, list_html) = page(&s, &session, "/admin/campaigns").await;
    assert_eq!(status, 200);
    assert!(list_html.contains(&format!("href=\"/admin/campaigns/{id}\"")), "{list_html}");

    // Nothing sent yet: counts, but no rate.
    let (status, _, html) = page(&s, &session, &format!("/admin/campaigns/{id}")).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(type_row(&html, "soft").0, "2");
    assert_eq!(type_row(&html, "hard").0, "1");
    assert_eq!(type_row(&html, "complaint").0, "0", "the other campaign's complaint is not this one's");
    assert_eq!(type_row(&html, "hard").1, "–");
    assert_eq!(text_of(&html, "campaign-bounce-rate"), "unknown until the campaign is sent");

    // 200 sent: 3 bounces are 1.50 %, 1 hard is 0.50 %.
    set_campaign_sent(&s.db.url, id, 200).await;
    let (_, _, html) = page(&s, &session, &format!("/admin/campaigns/{id}")).await;
    assert_eq!(text_of(&html, "campaign-sent"), "200");
    assert_eq!(text_of(&html, "campaign-bounce-rate"), "1.50 %");
    assert_eq!(type_row(&html, "hard"), ("1".to_string(), "0.50 %".to_string()));
    assert_eq!(type_row(&html, "soft"), ("2".to_string(), "1.00 %".to_string()));
    assert_eq!(type_row(&html, "complaint"), ("0".to_string(), "0.00 %".to_string()));

    // An unknown campaign is a 404 page, not an empty report.
    let (status, _, _) = page(&s, &session, "/admin/campaigns/999999").await;
    assert_eq!(status, 404);
}

backend_tests!(campaign_page_shows_bounces_and_rates_against_sent);
