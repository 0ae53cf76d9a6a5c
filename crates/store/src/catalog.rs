//! Lists and campaigns in listmonk v6.2.0's JSON shapes (its `models.List`
//! and `models.Campaign`), the inputs that create and change them, and the
//! per-campaign bounce counts of its campaign analytics.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct List {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub uuid: String,
    pub name: String,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub list_type: String,
    pub optin: String,
    /// active or archived.
    pub status: String,
    #[sqlx(json)]
    pub tags: Vec<String>,
    pub description: String,
    /// Every subscription to the list, whatever its status (listmonk's sum
    /// of `subscriber_statuses`).
    pub subscriber_count: i64,
    /// Subscriptions by status ("confirmed": 3, "unsubscribed": 1); statuses
    /// no one has are absent.
    #[sqlx(json)]
    pub subscriber_statuses: BTreeMap<String, i64>,
}

#[derive(Debug, Clone)]
pub struct NewList {
    pub name: String,
    pub list_type: String,
    pub optin: String,
    /// active or archived.
    pub status: String,
    pub tags: Vec<String>,
    pub description: String,
}

/// listmonk's update-list: `None` keeps the stored value; the tags are
/// always replaced.
#[derive(Debug, Clone, Default)]
pub struct ListUpdate {
    pub name: String,
    pub list_type: Option<String>,
    pub optin: Option<String>,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub description: Option<String>,
}

/// The statuses in which a campaign's fields may still change (listmonk's
/// `canEditCampaign`): not once it runs, is cancelled or finished.
pub const EDITABLE_CAMPAIGN_STATUSES: [&str; 3] = ["draft", "paused", "scheduled"];

pub(crate) fn cannot_edit(status: &str) -> crate::StoreError {
    crate::StoreError::Conflict(format!(
        "a {status} campaign cannot be changed (only draft, paused or scheduled ones can)"
    ))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Campaign {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Always 0: rebound does not track views (it sends no campaigns).
    pub views: i64,
    /// Always 0: rebound does not track clicks.
    pub clicks: i64,
    /// Bounces recorded against the campaign.
    pub bounces: i64,
    /// `[{"id": 1, "name": "..."}]`; the id is null once the list is deleted.
    #[sqlx(json)]
    pub lists: Value,
    /// Always `[]`: rebound keeps no media.
    #[sqlx(json)]
    pub media: Value,
    pub started_at: Option<DateTime<Utc>>,
    pub to_send: i64,
    pub sent: i64,
    pub uuid: String,
    /// regular or optin.
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub campaign_type: String,
    pub name: String,
    pub subject: String,
    pub from_email: String,
    pub body: String,
    pub body_source: Option<String>,
    pub altbody: Option<String>,
    pub send_at: Option<DateTime<Utc>>,
    pub status: String,
    pub content_type: String,
    #[sqlx(json)]
    pub tags: Vec<String>,
    /// `[{"Header-Name": "value"}, ...]`
    #[sqlx(json)]
    pub headers: Value,
    #[sqlx(json)]
    pub attribs: Value,
    pub template_id: Option<i64>,
    pub messenger: String,
    pub archive: bool,
    pub archive_slug: Option<String>,
    pub archive_template_id: Option<i64>,
    #[sqlx(json)]
    pub archive_meta: Value,
}

/// Everything a campaign's creator or editor sets (listmonk's create and
/// update bodies, validated). An update keeps the campaign's type.
#[derive(Debug, Clone)]
pub struct CampaignFields {
    pub campaign_type: String,
    pub name: String,
    pub subject: String,
    pub from_email: String,
    pub body: String,
    pub body_source: Option<String>,
    pub altbody: Option<String>,
    pub content_type: String,
    pub send_at: Option<DateTime<Utc>>,
    pub headers: Value,
    pub attribs: Value,
    pub tags: Vec<String>,
    pub messenger: String,
    pub template_id: Option<i64>,
    pub archive: bool,
    pub archive_slug: Option<String>,
    pub archive_template_id: Option<i64>,
    pub archive_meta: Value,
    /// List ids; ids of no list are left out, as listmonk does.
    pub lists: Vec<i64>,
}

impl Default for CampaignFields {
    /// listmonk's defaults: a regular richtext campaign sent by e-mail, no
    /// headers, tags, attributes or lists.
    fn default() -> Self {
        CampaignFields {
            campaign_type: "regular".into(),
            name: String::new(),
            subject: String::new(),
            from_email: String::new(),
            body: String::new(),
            body_source: None,
            altbody: None,
            content_type: "richtext".into(),
            send_at: None,
            headers: json!([]),
            attribs: json!({}),
            tags: vec![],
            messenger: "email".into(),
            template_id: None,
            archive: false,
            archive_slug: None,
            archive_template_id: None,
            archive_meta: json!({}),
            lists: vec![],
        }
    }
}

/// How campaign analytics group their counts: listmonk counts per hour
/// when the range is shorter than a week, per day otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountInterval {
    Hour,
    Day,
}

impl CountInterval {
    pub fn for_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        if to - from >= Duration::days(7) { CountInterval::Day } else { CountInterval::Hour }
    }
}

/// Which campaigns' bounces to count, between `from` and `to` inclusive.
#[derive(Debug, Clone)]
pub struct CampaignCountQuery {
    pub campaign_ids: Vec<i64>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub interval: CountInterval,
}

/// One campaign's count in one hour or day (UTC), listmonk's
/// `CampaignAnalyticsCount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CampaignCount {
    pub campaign_id: i64,
    pub count: i64,
    /// The start of the hour or day.
    pub timestamp: DateTime<Utc>,
}
