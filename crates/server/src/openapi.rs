//! GET /api/openapi.json: the OpenAPI description of every endpoint,
//! generated at compile time by utoipa from the declarations below.
//!
//! The operations are declared here, one annotated function each, rather
//! than as attributes on the handlers: most handlers read their query with
//! [`crate::extract::QueryPairs`] and answer `serde_json::Value`, which
//! utoipa cannot see through, so the parameters and shapes would have to be
//! spelt out by hand wherever they sit. Drift is caught by tests instead:
//! `tests/api/openapi.rs` checks that every route and method of router.rs
//! (and of the mailbox routes) is described here and that every described
//! operation is routed, and scripts/test runs schemathesis against a live
//! server, which fails on any answer that does not match these schemas.
//!
//! The response schemas mirror the JSON the API sends (listmonk's shapes).

#![allow(dead_code)]

use axum::Json;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

// ---------------------------------------------------------------- schemas

/// `{"message": "..."}`: every error.
#[derive(ToSchema)]
pub struct ErrorBody {
    message: String,
}

/// `{"data": true}`
#[derive(ToSchema)]
pub struct DataTrue {
    data: bool,
}

#[derive(ToSchema)]
pub struct HealthBody {
    /// "ok"
    data: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum BounceType {
    Soft,
    Hard,
    Complaint,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum SubscriberStatus {
    Enabled,
    Disabled,
    Blocklisted,
}

#[derive(ToSchema)]
pub struct CampaignRef {
    id: i64,
    name: String,
}

#[derive(ToSchema)]
pub struct Bounce {
    id: i64,
    #[schema(rename = "type")]
    bounce_type: BounceType,
    source: String,
    #[schema(value_type = Object)]
    meta: serde_json::Value,
    #[schema(format = DateTime)]
    created_at: String,
    email: String,
    subscriber_uuid: String,
    subscriber_id: i64,
    subscriber_status: SubscriberStatus,
    campaign: Option<CampaignRef>,
}

#[derive(ToSchema)]
pub struct BouncePage {
    results: Vec<Bounce>,
    query: String,
    total: i64,
    /// 0 when every row was asked for (per_page=all), as listmonk.
    per_page: i64,
    page: i64,
}

#[derive(ToSchema)]
pub struct DataBouncePage {
    data: BouncePage,
}

#[derive(ToSchema)]
pub struct DataBounce {
    data: Bounce,
}

#[derive(ToSchema)]
pub struct DataBounces {
    data: Vec<Bounce>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Action {
    None,
    Unsubscribe,
    Blocklist,
    Delete,
}

/// One operator's correction, as kept in the bounce's `meta.corrections`.
#[derive(ToSchema)]
pub struct Correction {
    #[schema(format = DateTime)]
    at: String,
    /// The user who corrected.
    by: String,
    from: BounceType,
    to: BounceType,
    note: Option<String>,
    /// The subscriber's bounces of type `to` that counted for its rule, this one included.
    count: i64,
    /// The action the rule of `to` took, if any.
    action: Option<Action>,
    /// A state the correction left although the new type's rule would not
    /// have put the subscriber there (a correction never lifts a blocklist).
    kept: Option<SubscriberStatus>,
}

#[derive(ToSchema)]
pub struct Reclassified {
    /// The bounce as stored now; null when the rule deleted the subscriber and its bounces.
    bounce: Option<Bounce>,
    correction: Correction,
}

#[derive(ToSchema)]
pub struct DataReclassified {
    data: Reclassified,
}

#[derive(ToSchema)]
pub struct UnmatchedBounce {
    id: i64,
    email: String,
    subscriber_uuid: Option<String>,
    campaign_uuid: Option<String>,
    #[schema(rename = "type")]
    bounce_type: BounceType,
    source: String,
    #[schema(value_type = Object)]
    meta: serde_json::Value,
    event_id: Option<String>,
    reason: String,
    /// Kept because nothing ties it to a message rebound sent
    /// (bounce.attribution "strict"); never retried.
    unverified: bool,
    #[schema(format = DateTime)]
    created_at: String,
}

#[derive(ToSchema)]
pub struct UnmatchedPage {
    results: Vec<UnmatchedBounce>,
    total: i64,
    per_page: i64,
    page: i64,
}

#[derive(ToSchema)]
pub struct DataUnmatchedPage {
    data: UnmatchedPage,
}

#[derive(ToSchema)]
pub struct RetryResult {
    matched: i64,
    still_unmatched: i64,
}

#[derive(ToSchema)]
pub struct DataRetryResult {
    data: RetryResult,
}

/// An address that must not be mailed (or, with `suppressed` false, one
/// reactivated: listed by `since` so a sync can remove it).
#[derive(ToSchema)]
pub struct Suppression {
    email: String,
    suppressed: bool,
    /// soft, hard or complaint: the bounce type whose `bounce.actions` rule
    /// suppressed it; manual: added by hand, or a subscriber blocklisted outside the rules.
    #[schema(rename = "type")]
    kind: String,
    /// unsubscribe, blocklist, delete (the rule's action) or manual.
    action: String,
    reason: String,
    /// The bounce's source; api when added by hand; subscriber for a blocklisted subscriber.
    source: String,
    #[schema(format = DateTime)]
    first_seen: String,
    #[schema(format = DateTime)]
    last_seen: String,
    /// Bounces counted since it was suppressed (the rule's count included).
    count: i64,
    subscriber_id: Option<i64>,
    /// The last reactivation: bounces before it no longer count.
    #[schema(format = DateTime)]
    reactivated_at: Option<String>,
    #[schema(format = DateTime)]
    updated_at: String,
}

#[derive(ToSchema)]
pub struct SuppressionPage {
    results: Vec<Suppression>,
    total: i64,
    per_page: i64,
    page: i64,
}

#[derive(ToSchema)]
pub struct DataSuppressionPage {
    data: SuppressionPage,
}

#[derive(ToSchema)]
pub struct DataSuppression {
    data: Suppression,
}

#[derive(ToSchema)]
pub struct SuppressionLookup {
    email: String,
    suppressed: bool,
    /// The entry, also when reactivated; null when it never was suppressed.
    suppression: Option<Suppression>,
}

#[derive(ToSchema)]
pub struct DataSuppressionLookup {
    data: SuppressionLookup,
}

#[derive(ToSchema)]
pub struct SuppressionBody {
    email: String,
    /// Shown as the reason; "added by <user>" when empty.
    reason: Option<String>,
}

/// A registered endpoint of outgoing event webhooks.
#[derive(ToSchema)]
pub struct WebhookEndpoint {
    id: i64,
    uuid: String,
    url: String,
    description: String,
    /// Event types it receives; `*` is every type.
    event_types: Vec<String>,
    enabled: bool,
    /// Paused after a 410 or too many consecutive failures: events queue but are not sent.
    paused: bool,
    #[schema(format = DateTime)]
    paused_at: Option<String>,
    paused_reason: Option<String>,
    consecutive_failures: i64,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    pending: i64,
    delivered: i64,
    failed: i64,
}

/// The endpoint as registered, with its secret (shown this once).
#[derive(ToSchema)]
pub struct WebhookEndpointCreated {
    id: i64,
    uuid: String,
    url: String,
    description: String,
    event_types: Vec<String>,
    enabled: bool,
    paused: bool,
    #[schema(format = DateTime)]
    paused_at: Option<String>,
    paused_reason: Option<String>,
    consecutive_failures: i64,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    pending: i64,
    delivered: i64,
    failed: i64,
    /// `whsec_` + base64 of the signing key.
    secret: String,
}

#[derive(ToSchema)]
pub struct DataWebhookEndpoint {
    data: WebhookEndpoint,
}

#[derive(ToSchema)]
pub struct DataWebhookEndpointCreated {
    data: WebhookEndpointCreated,
}

#[derive(ToSchema)]
pub struct DataWebhookEndpoints {
    data: Vec<WebhookEndpoint>,
}

#[derive(ToSchema)]
pub struct WebhookEndpointBody {
    /// http:// or https://; required when registering.
    url: Option<String>,
    /// `whsec_` + base64 of 24 to 64 bytes; one is made when left out.
    secret: Option<String>,
    description: Option<String>,
    /// Default `["*"]`.
    event_types: Option<Vec<String>>,
    enabled: Option<bool>,
    /// false resumes a paused endpoint (and resets its failure count); true pauses it.
    paused: Option<bool>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// One event's delivery to one endpoint.
#[derive(ToSchema)]
pub struct WebhookDelivery {
    id: i64,
    /// The event's id, the `webhook-id` header: the same for every attempt and endpoint.
    event_id: String,
    endpoint_id: i64,
    event_type: String,
    status: DeliveryStatus,
    attempts: i64,
    #[schema(format = DateTime)]
    next_attempt_at: String,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    #[schema(format = DateTime)]
    last_attempt_at: Option<String>,
    #[schema(format = DateTime)]
    delivered_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    /// The body sent (a WebhookEvent).
    payload: WebhookEvent,
}

#[derive(ToSchema)]
pub struct WebhookDeliveryPage {
    results: Vec<WebhookDelivery>,
    total: i64,
    per_page: i64,
    page: i64,
}

#[derive(ToSchema)]
pub struct DataWebhookDeliveryPage {
    data: WebhookDeliveryPage,
}

#[derive(ToSchema)]
pub struct DataWebhookDelivery {
    data: WebhookDelivery,
}

#[derive(ToSchema)]
pub struct EventSubscriber {
    id: i64,
    uuid: String,
    email: String,
}

#[derive(ToSchema)]
pub struct EventCampaign {
    uuid: String,
    /// Null when no campaign of rebound has the uuid.
    id: Option<i64>,
}

/// `data` of bounce.recorded, bounce.unmatched and complaint.recorded.
#[derive(ToSchema)]
pub struct BounceEventData {
    email: String,
    #[schema(rename = "type")]
    bounce_type: BounceType,
    /// The provider's or the DSN's reason, when the evidence has one.
    reason: Option<String>,
    /// The DSN status code (e.g. 5.1.1), when known.
    status: Option<String>,
    source: String,
    /// The source's own event id.
    event_id: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    campaign: Option<EventCampaign>,
    /// Null for a bounce no subscriber matched.
    subscriber: Option<EventSubscriber>,
    #[schema(value_type = Object)]
    meta: serde_json::Value,
    /// Matched bounces: the subscriber's bounces of this type counted for the rule, this one included.
    count: Option<i64>,
    /// Matched bounces: the action its rule took, if any.
    action: Option<Action>,
    /// Unmatched bounces: why no subscriber matched.
    unmatched_reason: Option<String>,
    /// Unmatched bounces: kept without evidence of a real send (bounce.attribution "strict").
    unverified: Option<bool>,
}

#[derive(ToSchema)]
pub struct ActionRuleRef {
    count: i64,
    action: Action,
}

/// `data` of subscriber.blocklisted, subscriber.unsubscribed and subscriber.deleted.
#[derive(ToSchema)]
pub struct SubscriberActionData {
    subscriber: EventSubscriber,
    action: Action,
    bounce_type: BounceType,
    count: i64,
    rule: ActionRuleRef,
}

/// `data` of suppression.added and suppression.removed.
#[derive(ToSchema)]
pub struct SuppressionEventData {
    email: String,
    suppressed: bool,
    #[schema(rename = "type")]
    kind: String,
    action: String,
    reason: String,
    source: String,
    subscriber_id: Option<i64>,
    count: i64,
    #[schema(format = DateTime)]
    reactivated_at: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum EventType {
    #[schema(rename = "bounce.recorded")]
    BounceRecorded,
    #[schema(rename = "bounce.unmatched")]
    BounceUnmatched,
    #[schema(rename = "complaint.recorded")]
    ComplaintRecorded,
    #[schema(rename = "subscriber.blocklisted")]
    SubscriberBlocklisted,
    #[schema(rename = "subscriber.unsubscribed")]
    SubscriberUnsubscribed,
    #[schema(rename = "subscriber.deleted")]
    SubscriberDeleted,
    #[schema(rename = "suppression.added")]
    SuppressionAdded,
    #[schema(rename = "suppression.removed")]
    SuppressionRemoved,
}

/// One of the three shapes, by the event's type.
pub struct EventData;

impl utoipa::PartialSchema for EventData {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{Ref, schema::OneOfBuilder};
        OneOfBuilder::new()
            .item(Ref::from_schema_name("BounceEventData"))
            .item(Ref::from_schema_name("SubscriberActionData"))
            .item(Ref::from_schema_name("SuppressionEventData"))
            .into()
    }
}

impl ToSchema for EventData {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        use utoipa::PartialSchema;
        schemas.push(("BounceEventData".into(), BounceEventData::schema()));
        schemas.push(("SubscriberActionData".into(), SubscriberActionData::schema()));
        schemas.push(("SuppressionEventData".into(), SuppressionEventData::schema()));
        <BounceEventData as ToSchema>::schemas(schemas);
        <SubscriberActionData as ToSchema>::schemas(schemas);
    }
}

/// The body of every outgoing event webhook (docs/events.md), signed with
/// the Standard Webhooks headers `webhook-id` (= `id`), `webhook-timestamp`
/// and `webhook-signature`.
#[derive(ToSchema)]
pub struct WebhookEvent {
    id: String,
    #[schema(rename = "type")]
    event_type: EventType,
    #[schema(format = DateTime)]
    timestamp: String,
    data: EventData,
}

#[derive(ToSchema)]
pub struct SubscriberList {
    id: i64,
    uuid: String,
    name: String,
    #[schema(rename = "type")]
    list_type: String,
    optin: String,
    /// unconfirmed, confirmed or unsubscribed
    subscription_status: String,
    #[schema(format = DateTime)]
    subscription_created_at: String,
    #[schema(format = DateTime)]
    subscription_updated_at: String,
}

#[derive(ToSchema)]
pub struct Subscriber {
    id: i64,
    uuid: String,
    email: String,
    name: String,
    #[schema(value_type = Object)]
    attribs: serde_json::Value,
    status: SubscriberStatus,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    lists: Vec<SubscriberList>,
}

#[derive(ToSchema)]
pub struct SubscriberPage {
    results: Vec<Subscriber>,
    query: String,
    search: String,
    total: i64,
    per_page: i64,
    page: i64,
}

#[derive(ToSchema)]
pub struct DataSubscriberPage {
    data: SubscriberPage,
}

#[derive(ToSchema)]
pub struct DataSubscriber {
    data: Subscriber,
}

#[derive(ToSchema)]
pub struct List {
    id: i64,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    uuid: String,
    name: String,
    #[schema(rename = "type")]
    list_type: ListType,
    optin: Optin,
    status: ListStatus,
    tags: Vec<String>,
    description: String,
    /// Every subscription, whatever its status.
    subscriber_count: i64,
    /// Subscriptions by status: `{"confirmed": 3, "unsubscribed": 1}`.
    subscriber_statuses: std::collections::BTreeMap<String, i64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ListStatus {
    Active,
    Archived,
}

#[derive(ToSchema)]
pub struct ListPage {
    results: Vec<List>,
    total: i64,
    per_page: i64,
    page: i64,
}

#[derive(ToSchema)]
pub struct DataListPage {
    data: ListPage,
}

#[derive(ToSchema)]
pub struct DataList {
    data: List,
}

/// listmonk's campaign (`models.Campaign`), every field always present.
#[derive(ToSchema)]
pub struct Campaign {
    id: i64,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// Always 0: rebound does not track views.
    views: i64,
    /// Always 0: rebound does not track clicks.
    clicks: i64,
    /// Bounces recorded against the campaign.
    bounces: i64,
    lists: Vec<CampaignList>,
    /// Always empty: rebound keeps no media.
    #[schema(value_type = Vec<Object>)]
    media: serde_json::Value,
    #[schema(format = DateTime)]
    started_at: Option<String>,
    to_send: i64,
    sent: i64,
    uuid: String,
    #[schema(rename = "type")]
    campaign_type: CampaignType,
    name: String,
    subject: String,
    from_email: String,
    body: String,
    body_source: Option<String>,
    altbody: Option<String>,
    #[schema(format = DateTime)]
    send_at: Option<String>,
    status: CampaignStatus,
    content_type: ContentType,
    tags: Vec<String>,
    /// `[{"Header-Name": "value"}, ...]`
    headers: Vec<std::collections::BTreeMap<String, String>>,
    #[schema(value_type = Object)]
    attribs: serde_json::Value,
    template_id: Option<i64>,
    messenger: String,
    archive: bool,
    archive_slug: Option<String>,
    archive_template_id: Option<i64>,
    #[schema(value_type = Object)]
    archive_meta: serde_json::Value,
}

/// A list a campaign goes to; `id` is null once the list is deleted.
#[derive(ToSchema)]
pub struct CampaignList {
    id: Option<i64>,
    name: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum CampaignType {
    Regular,
    Optin,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum CampaignStatus {
    Draft,
    Running,
    Scheduled,
    Paused,
    Cancelled,
    Finished,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ContentType {
    Richtext,
    Html,
    Plain,
    Markdown,
    Visual,
}

/// What campaign analytics count; rebound records bounces only.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum AnalyticsKind {
    Bounces,
    Views,
    Clicks,
    Links,
}

/// One campaign's count in one hour or day (UTC).
#[derive(ToSchema)]
pub struct CampaignCount {
    campaign_id: i64,
    count: i64,
    /// The start of the hour or day.
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(ToSchema)]
pub struct DataCampaignCounts {
    data: Vec<CampaignCount>,
}

#[derive(ToSchema)]
pub struct CampaignPage {
    results: Vec<Campaign>,
    total: i64,
    per_page: i64,
    page: i64,
}

#[derive(ToSchema)]
pub struct DataCampaignPage {
    data: CampaignPage,
}

#[derive(ToSchema)]
pub struct DataCampaign {
    data: Campaign,
}

#[derive(ToSchema)]
pub struct User {
    id: i64,
    username: String,
    name: String,
    /// user or api
    #[schema(rename = "type")]
    user_type: String,
    permissions: Vec<String>,
    status: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// An API user's token, in the answer to its creation only.
    token: Option<String>,
}

#[derive(ToSchema)]
pub struct DataUser {
    data: User,
}

#[derive(ToSchema)]
pub struct DataUsers {
    data: Vec<User>,
}

/// The flat settings object (`{"bounce.enabled": false, ...}`), secrets masked.
/// Beside listmonk's bounce keys and `smtp`, it has rebound's own
/// (`bounce.attribution`, `bounce.classification`, `bounce.verp`, ...,
/// `bounce.action_semantics`: `"rebound"` (default, blocklisting also
/// unsubscribes every list) or `"listmonk"` (listmonk's `record-bounce`:
/// blocklisting sets the status only)), and every key rebound does not use
/// (listmonk's `app.*`, `privacy.*`, `upload.*`, `messengers`, ...) as stored.
#[derive(ToSchema)]
pub struct DataSettings {
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

/// Any JSON object under `data` (mailbox status and kept messages).
#[derive(ToSchema)]
pub struct DataObject {
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

#[derive(ToSchema)]
pub struct DataArray {
    #[schema(value_type = Vec<Object>)]
    data: serde_json::Value,
}

// ---------------------------------------------------------- request bodies

/// POST /webhooks/bounce (listmonk's body, plus created_at and event_id).
#[derive(ToSchema)]
pub struct BounceRequest {
    /// The subscriber: its uuid, or
    subscriber_uuid: Option<String>,
    /// its e-mail address (one of the two is required).
    #[schema(format = Email)]
    email: Option<String>,
    campaign_uuid: Option<String>,
    #[schema(min_length = 1)]
    source: String,
    #[schema(rename = "type")]
    bounce_type: BounceType,
    /// A JSON object, or a string holding one (listmonk's docs).
    #[schema(value_type = Object)]
    meta: Option<serde_json::Value>,
    /// RFC 3339.
    created_at: Option<String>,
    /// A retry with the same source and event_id is not counted again.
    event_id: Option<String>,
}

/// POST /api/bounces/{id}/reclassify
#[derive(ToSchema)]
pub struct ReclassifyBody {
    /// The type the bounce should have.
    #[schema(rename = "type")]
    bounce_type: BounceType,
    /// Why, for whoever reads the bounce later (up to 1000 characters).
    #[schema(max_length = 1000)]
    note: Option<String>,
}

#[derive(ToSchema)]
pub struct SubscriberBody {
    /// Required to create.
    #[schema(format = Email)]
    email: Option<String>,
    name: Option<String>,
    status: Option<SubscriberStatus>,
    lists: Option<Vec<i64>>,
    #[schema(value_type = Object)]
    attribs: Option<serde_json::Value>,
    preconfirm_subscriptions: Option<bool>,
}

/// listmonk's body of the bulk subscriber endpoints; each reads the fields it names.
#[derive(ToSchema)]
pub struct SubscriberBulkBody {
    /// Subscriber ids (`/blocklist`, `/lists`).
    ids: Option<Vec<i64>>,
    /// `add`, `remove` or `unsubscribe` (`/lists`, `/query/lists`).
    action: Option<String>,
    /// The lists whose subscriptions change (`/lists`, `/query/lists`).
    target_list_ids: Option<Vec<i64>>,
    /// With `add`: `confirmed`, `unconfirmed` or `unsubscribed`; empty: new subscriptions are
    /// unconfirmed and existing ones keep their status.
    status: Option<String>,
    /// `/query/...`: an SQL expression selecting subscribers, checked and run as `GET /api/subscribers?query=` runs it.
    query: Option<String>,
    /// `/query/...`: plain text matched against e-mail and name.
    search: Option<String>,
    /// `/query/...`: only subscribers on these lists.
    list_ids: Option<Vec<i64>>,
    /// `/query/...` with `list_ids`: only subscriptions in this status.
    subscription_status: Option<String>,
    /// `/query/blocklist`, `/query/delete`: every subscriber (on `list_ids`); `query` and `search` are ignored.
    all: Option<bool>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ListType {
    Public,
    Private,
    Temporary,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Optin {
    Single,
    Double,
}

#[derive(ToSchema)]
pub struct ListBody {
    /// Required.
    #[schema(min_length = 1, max_length = 2000)]
    name: String,
    /// Empty: private to create, the stored type to update.
    #[schema(rename = "type")]
    list_type: Option<ListType>,
    optin: Option<Optin>,
    status: Option<ListStatus>,
    /// Replaces the list's tags (none sent: none kept).
    tags: Option<Vec<String>>,
    description: Option<String>,
}

/// listmonk's campaign body. To update, the fields sent replace the stored
/// ones; `lists` must be sent either way.
#[derive(ToSchema)]
pub struct CampaignBody {
    #[schema(min_length = 1, max_length = 2000)]
    name: String,
    #[schema(min_length = 1, max_length = 5000)]
    subject: String,
    /// Empty: the `app.from_email` setting.
    from_email: Option<String>,
    body: Option<String>,
    body_source: Option<String>,
    altbody: Option<String>,
    /// Empty: richtext.
    content_type: Option<String>,
    /// regular (the default) or optin; kept on update.
    #[schema(rename = "type")]
    campaign_type: Option<String>,
    /// Empty: email. email or email-<smtp name>.
    messenger: Option<String>,
    /// None: 1, listmonk's default template; 0: no template.
    template_id: Option<i64>,
    /// In the future.
    #[schema(format = DateTime)]
    send_at: Option<String>,
    headers: Option<Vec<std::collections::BTreeMap<String, String>>>,
    #[schema(value_type = Object)]
    attribs: Option<serde_json::Value>,
    tags: Option<Vec<String>>,
    archive: Option<bool>,
    archive_slug: Option<String>,
    archive_template_id: Option<i64>,
    #[schema(value_type = Object)]
    archive_meta: Option<serde_json::Value>,
    /// One or more list ids; ids of no list are left out.
    #[schema(min_items = 1)]
    lists: Vec<i64>,
    /// Accepted and ignored (rebound keeps no media).
    media: Option<Vec<i64>>,
    /// Accepted and ignored (listmonk v6 schedules by send_at alone).
    send_later: Option<bool>,
}

#[derive(ToSchema)]
pub struct CampaignTestBody {
    /// Subscribers' e-mail addresses.
    subscribers: Option<Vec<String>>,
    subject: Option<String>,
    from_email: Option<String>,
    body: Option<String>,
    content_type: Option<String>,
    #[schema(value_type = Vec<Object>)]
    headers: Option<serde_json::Value>,
}

#[derive(ToSchema)]
pub struct UserBody {
    username: Option<String>,
    /// user or api
    #[schema(rename = "type")]
    user_type: Option<String>,
    /// Required for users (8 characters or more); API users get a token.
    password: Option<String>,
    permissions: Option<Vec<String>>,
}

/// Answers every authenticated operation may give.
#[derive(IntoResponses)]
pub enum Refusals {
    /// Bad input: a malformed parameter or body.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No or wrong credentials.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The user lacks the permission.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such row.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The body did not arrive within the body timeout.
    #[response(status = 408)]
    TooSlow(ErrorBody),
    /// The body is over 1 MiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// A body that is not sent as `application/json`.
    #[response(status = 415)]
    NotJson(ErrorBody),
    /// Too many failed logins from this address or for this user (Retry-After).
    #[response(status = 429)]
    TooManyFailures(ErrorBody),
}

// ------------------------------------------------------------- operations

#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = HealthBody), (status = 503, description = "The database is not answering", body = ErrorBody)))]
fn health() {}

#[utoipa::path(get, path = "/api/health", tag = "operations",
    description = "listmonk's authenticated health check: any authenticated user.",
    responses((status = 200, body = DataTrue), (status = 401, body = ErrorBody),
        (status = 503, description = "The database is not answering", body = ErrorBody)),
    security(("basic" = []), ("token" = [])))]
fn api_health() {}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    description = "Prometheus text format, with `Authorization: Bearer <[metrics] token>`.",
    responses((status = 200, content_type = "text/plain", body = String), (status = 401, body = ErrorBody),
        (status = 403, description = "No token is configured", body = ErrorBody)))]
fn metrics() {}

#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "This description", content_type = "application/json", body = Object)))]
fn openapi_json() {}

#[utoipa::path(post, path = "/webhooks/bounce", tag = "webhooks",
    description = "Records one bounce (webhooks:post_bounce); answered once durable. The `rebound-outcome` header says what happened.",
    request_body = BounceRequest,
    responses((status = 200, body = DataTrue), Refusals,
        (status = 429, description = "Too many requests in flight from this address, or too many failed logins", body = ErrorBody),
        (status = 503, description = "bounce.enabled or bounce.webhooks_enabled is off", body = ErrorBody)),
    security(("basic" = []), ("token" = [])))]
fn post_bounce() {}

#[utoipa::path(post, path = "/webhooks/service/{provider}", tag = "webhooks",
    description = "A provider's webhook, authenticated by its signature or credentials.",
    params(("provider" = String, Path, description = "ses, sendgrid, postmark, forwardemail, azure, lettermint, mailgun, resend, brevo, mailjet, sparkpost, postal, mailersend, smtp2go, zeptomail, elasticemail, mandrill or ses_eventbridge (elasticemail and mandrill also answer GET)")),
    request_body(content = Object, description = "The provider's payload, verbatim"),
    responses((status = 200, description = "Recorded (or a handshake answered)", body = Object), Refusals,
        (status = 429, body = ErrorBody),
        (status = 502, description = "A fetch the provider depends on failed (SNS)", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
fn provider_webhook() {}

#[utoipa::path(post, path = "/webhooks/service/custom/{name}", tag = "webhooks",
    description = "A mapped provider's webhook (`bounce.mapped_providers`: the generic webhook mapper), authenticated as its configuration says, over the raw request.",
    params(("name" = String, Path, description = "The mapped provider's name")),
    request_body(content = Object, description = "The provider's payload, verbatim (JSON, a form, or nothing when the event is in the query)"),
    responses((status = 200, description = "Recorded, or nothing to record", body = Object), Refusals,
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
fn mapped_provider_webhook() {}

#[utoipa::path(get, path = "/webhooks/service/{provider}", tag = "webhooks",
    description = "Providers that notify with GET: Elastic Email (the event is the query string, authenticated by its `key` parameter) and Mandrill (its HEAD/GET check of the URL, answered 200). Any other provider answers 405.",
    params(("provider" = String, Path, description = "elasticemail or mandrill")),
    responses((status = 200, description = "Recorded, or nothing to record", body = Object), Refusals,
        (status = 405, description = "This provider's webhooks are POST requests", body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
fn provider_webhook_get() {}

#[utoipa::path(get, path = "/api/bounces", tag = "bounces",
    params(
        ("campaign_id" = Option<i64>, Query),
        ("subscriber_id" = Option<i64>, Query),
        ("source" = Option<String>, Query),
        ("type" = Option<String>, Query, description = "hard, soft or complaint"),
        ("reason" = Option<String>, Query, description = "beyond listmonk: the parser's reason in meta.reason (mailboxfull, userunknown, ...)"),
        ("page" = Option<i64>, Query),
        ("per_page" = Option<String>, Query, description = "a number from 1 (pages over 1000 are streamed), or all; anything else is 20"),
        ("order_by" = Option<String>, Query, description = "email, campaign_name, source, created_at or type"),
        ("order" = Option<String>, Query, description = "asc or desc"),
    ),
    responses((status = 200, body = DataBouncePage), Refusals), security(("basic" = []), ("token" = [])))]
fn list_bounces() {}

#[utoipa::path(delete, path = "/api/bounces", tag = "bounces",
    params(("id" = Option<Vec<i64>>, Query, explode = true), ("all" = Option<bool>, Query)),
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_bounces() {}

#[utoipa::path(get, path = "/api/bounces/export.csv", tag = "bounces",
    params(("campaign_id" = Option<i64>, Query), ("subscriber_id" = Option<i64>, Query),
        ("source" = Option<String>, Query), ("type" = Option<String>, Query)),
    responses((status = 200, content_type = "text/csv", body = String), Refusals),
    security(("basic" = []), ("token" = [])))]
fn export_csv() {}

#[utoipa::path(put, path = "/api/bounces/blocklist", tag = "bounces",
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn blocklist() {}

#[utoipa::path(get, path = "/api/bounces/unmatched", tag = "bounces",
    params(("page" = Option<i64>, Query), ("per_page" = Option<String>, Query)),
    responses((status = 200, body = DataUnmatchedPage), Refusals), security(("basic" = []), ("token" = [])))]
fn list_unmatched() {}

#[utoipa::path(delete, path = "/api/bounces/unmatched", tag = "bounces",
    params(("id" = Option<Vec<i64>>, Query, explode = true), ("all" = Option<bool>, Query)),
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_unmatched() {}

#[utoipa::path(post, path = "/api/bounces/unmatched/retry", tag = "bounces",
    params(("id" = Option<Vec<i64>>, Query, explode = true), ("all" = Option<bool>, Query)),
    responses((status = 200, body = DataRetryResult), Refusals), security(("basic" = []), ("token" = [])))]
fn retry_unmatched() {}

#[utoipa::path(get, path = "/api/bounces/{id}", tag = "bounces", params(("id" = i64, Path)),
    responses((status = 200, body = DataBounce), Refusals), security(("basic" = []), ("token" = [])))]
fn get_bounce() {}

#[utoipa::path(delete, path = "/api/bounces/{id}", tag = "bounces", params(("id" = i64, Path)),
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_bounce() {}

#[utoipa::path(post, path = "/api/bounces/{id}/reclassify", tag = "bounces",
    description = "Corrects a bounce's type (bounces:manage): the correction is recorded in the bounce's `meta.corrections` and the new type's rule of `bounce.actions` is evaluated again for the subscriber. A correction only adds actions: it never lifts a blocklist or re-subscribes.",
    params(("id" = i64, Path)), request_body = ReclassifyBody,
    responses((status = 200, body = DataReclassified), Refusals,
        (status = 409, description = "The bounce already has that type", body = ErrorBody)),
    security(("basic" = []), ("token" = [])))]
fn reclassify_bounce() {}

#[utoipa::path(get, path = "/api/bounces/providers", tag = "webhooks",
    description = "Each provider webhook: `name`, `enabled`, `path`, and `problem`: why its settings refuse every request, when they do (e.g. SES without an allowed topic ARN).",
    responses((status = 200, body = DataArray), Refusals), security(("basic" = []), ("token" = [])))]
fn provider_status() {}

#[utoipa::path(get, path = "/api/deliverability/domains", tag = "bounces",
    description = "Beyond listmonk: bounces of the last `days` (1 to 366, default 30) per receiving domain (the part of the subscribers' addresses after the @), most first, each with `counts` (`soft`, `hard`, `complaint`) and `reasons` (`[{reason, count}]`, the parser's, most first); the top 50 by name, the rest summed as `(other)`.",
    params(("days" = Option<i64>, Query)),
    responses((status = 200, body = DataArray), Refusals), security(("basic" = []), ("token" = [])))]
fn deliverability_domains() {}

#[utoipa::path(get, path = "/api/bounces/mailboxes", tag = "mailboxes",
    responses((status = 200, body = DataArray), Refusals), security(("basic" = []), ("token" = [])))]
fn mailboxes() {}

#[utoipa::path(post, path = "/api/bounces/mailboxes/{uuid}/scan", tag = "mailboxes",
    params(("uuid" = String, Path), ("wait" = Option<bool>, Query)),
    responses((status = 200, description = "The scan's report", body = DataObject),
        (status = 202, description = "Queued", body = DataObject), Refusals,
        (status = 409, description = "Disabled, or a scan is already queued", body = ErrorBody),
        (status = 503, description = "bounce.enabled is off, or the scanner is not running", body = ErrorBody)),
    security(("basic" = []), ("token" = [])))]
fn scan_mailbox() {}

#[utoipa::path(get, path = "/api/bounces/mailboxes/messages", tag = "mailboxes",
    params(("mailbox" = Option<String>, Query), ("page" = Option<i64>, Query), ("per_page" = Option<String>, Query)),
    responses((status = 200, body = DataObject), Refusals), security(("basic" = []), ("token" = [])))]
fn mailbox_messages() {}

#[utoipa::path(delete, path = "/api/bounces/mailboxes/messages", tag = "mailboxes",
    params(("id" = Option<Vec<i64>>, Query, explode = true), ("all" = Option<bool>, Query)),
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_mailbox_messages() {}

#[utoipa::path(get, path = "/api/bounces/mailboxes/messages/{id}", tag = "mailboxes", params(("id" = i64, Path)),
    responses((status = 200, body = DataObject), Refusals), security(("basic" = []), ("token" = [])))]
fn mailbox_message() {}

#[utoipa::path(get, path = "/api/bounces/mailboxes/messages/{id}/raw", tag = "mailboxes", params(("id" = i64, Path)),
    responses((status = 200, content_type = "message/rfc822", body = String), Refusals),
    security(("basic" = []), ("token" = [])))]
fn mailbox_message_raw() {}

#[utoipa::path(get, path = "/api/subscribers", tag = "subscribers",
    description = "listmonk's subscriber query. `query` is an SQL expression over subscribers (`subscribers.email = 'a@example.com'`, `subscribers.attribs->>'city' = 'Pune'`), as listmonk has it; it needs `subscribers:sql_query` besides `subscribers:get`, and unlike listmonk it is held to an allow-list (the tables subscribers, lists, subscriber_lists, and bounces with `bounces:get`; listed functions, operators and casts; one expression, no comments) and runs read-only with a time limit. A refused, failing or too slow expression is a 400 naming why. Results are newest first unless `order_by`/`order` say otherwise; an unknown value of either falls back to that default.",
    params(("query" = Option<String>, Query, description = "An SQL expression over subscribers (listmonk's `query`)"),
        ("search" = Option<String>, Query, description = "Searches e-mail and name (a substring, ignoring case)"),
        ("list_id" = Option<i64>, Query),
        ("subscription_status" = Option<String>, Query, description = "With list_id: unconfirmed, confirmed or unsubscribed"),
        ("status" = Option<String>, Query, description = "The subscriber's status: enabled, disabled or blocklisted"),
        ("order_by" = Option<String>, Query, description = "id, email, name, created_at or updated_at"),
        ("order" = Option<String>, Query, description = "asc or desc"),
        ("page" = Option<i64>, Query), ("per_page" = Option<String>, Query)),
    responses((status = 200, body = DataSubscriberPage), Refusals), security(("basic" = []), ("token" = [])))]
fn list_subscribers() {}

#[utoipa::path(post, path = "/api/subscribers", tag = "subscribers", request_body = SubscriberBody,
    responses((status = 200, body = DataSubscriber), Refusals,
        (status = 409, description = "The e-mail is taken", body = ErrorBody)),
    security(("basic" = []), ("token" = [])))]
fn create_subscriber() {}

#[utoipa::path(delete, path = "/api/subscribers", tag = "subscribers",
    params(("id" = Option<Vec<i64>>, Query, explode = true)),
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_subscribers() {}

#[utoipa::path(get, path = "/api/subscribers/{id}", tag = "subscribers", params(("id" = i64, Path)),
    responses((status = 200, body = DataSubscriber), Refusals), security(("basic" = []), ("token" = [])))]
fn get_subscriber() {}

#[utoipa::path(put, path = "/api/subscribers/{id}", tag = "subscribers", params(("id" = i64, Path)),
    request_body = SubscriberBody,
    responses((status = 200, body = DataSubscriber), Refusals, (status = 409, body = ErrorBody)),
    security(("basic" = []), ("token" = [])))]
fn update_subscriber() {}

#[utoipa::path(patch, path = "/api/subscribers/{id}", tag = "subscribers", params(("id" = i64, Path)),
    description = "Changes only the fields given (listmonk v6): `attribs` is merged into the stored ones key by key (`null` empties them), `lists` replaces the subscriptions only when given, an empty `name` or `status` keeps the stored one.",
    request_body = SubscriberBody,
    responses((status = 200, body = DataSubscriber), Refusals, (status = 409, body = ErrorBody)),
    security(("basic" = []), ("token" = [])))]
fn patch_subscriber() {}

#[utoipa::path(put, path = "/api/subscribers/{id}/blocklist", tag = "subscribers", params(("id" = i64, Path)),
    description = "Blocklists the subscriber and unsubscribes it from all its lists; an unknown id is no error (as in listmonk).",
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn blocklist_subscriber() {}

#[utoipa::path(put, path = "/api/subscribers/blocklist", tag = "subscribers",
    description = "Blocklists the subscribers `ids` and unsubscribes them from all their lists; unknown ids are skipped.",
    request_body = SubscriberBulkBody,
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn blocklist_subscribers() {}

#[utoipa::path(put, path = "/api/subscribers/lists", tag = "subscribers",
    description = "Applies `action` to the subscriptions of `ids` on `target_list_ids`: `add` (with `status`; an unknown subscriber or list is a 400 and nothing changes), `remove`, `unsubscribe`.",
    request_body = SubscriberBulkBody,
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn manage_subscriber_lists() {}

#[utoipa::path(put, path = "/api/subscribers/lists/{id}", tag = "subscribers", params(("id" = i64, Path)),
    description = "As `PUT /api/subscribers/lists` for the subscriber `id` (listmonk still requires `ids` in the body).",
    request_body = SubscriberBulkBody,
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn manage_subscriber_lists_of() {}

#[utoipa::path(put, path = "/api/subscribers/query/blocklist", tag = "subscribers",
    description = "Blocklists the subscribers `query`/`search` select (on `list_ids`), or all of them with `all`.",
    request_body = SubscriberBulkBody,
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn blocklist_subscribers_by_query() {}

#[utoipa::path(post, path = "/api/subscribers/query/delete", tag = "subscribers",
    description = "Deletes the subscribers `query`/`search` select (on `list_ids`), or all of them with `all`.",
    request_body = SubscriberBulkBody,
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_subscribers_by_query() {}

#[utoipa::path(put, path = "/api/subscribers/query/lists", tag = "subscribers",
    description = "Applies `action` on `target_list_ids` to the subscribers `query`/`search` select (on `list_ids`; everyone without either). `add` leaves existing subscriptions as they are.",
    request_body = SubscriberBulkBody,
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn manage_subscriber_lists_by_query() {}

#[utoipa::path(delete, path = "/api/subscribers/{id}", tag = "subscribers", params(("id" = i64, Path)),
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_subscriber() {}

#[utoipa::path(get, path = "/api/subscribers/{id}/bounces", tag = "bounces", params(("id" = i64, Path)),
    responses((status = 200, body = DataBounces), Refusals), security(("basic" = []), ("token" = [])))]
fn subscriber_bounces() {}

#[utoipa::path(delete, path = "/api/subscribers/{id}/bounces", tag = "bounces", params(("id" = i64, Path)),
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_subscriber_bounces() {}

#[utoipa::path(get, path = "/api/suppressions", tag = "suppressions",
    description = "Every address that must not be mailed, and why (bounces:get): addresses the `bounce.actions` rules suppressed (subscribers' and unmatched bounces' alike), addresses added by hand, and blocklisted subscribers. By e-mail; with `since`, every entry changed after that time, reactivated ones included (`suppressed` false), oldest change first, for an incremental sync.",
    params(("since" = Option<String>, Query, description = "RFC 3339, e.g. 2026-03-01T00:00:00Z"),
        ("search" = Option<String>, Query, description = "A substring of the address"),
        ("page" = Option<i64>, Query), ("per_page" = Option<String>, Query)),
    responses((status = 200, body = DataSuppressionPage), Refusals), security(("basic" = []), ("token" = [])))]
fn list_suppressions() {}

#[utoipa::path(post, path = "/api/suppressions", tag = "suppressions",
    description = "Suppresses an address by hand (bounces:manage); a subscriber with it is blocklisted and unsubscribed from its lists.",
    request_body = SuppressionBody,
    responses((status = 200, body = DataSuppression), Refusals), security(("basic" = []), ("token" = [])))]
fn add_suppression() {}

#[utoipa::path(get, path = "/api/suppressions/export.csv", tag = "suppressions",
    params(("since" = Option<String>, Query), ("search" = Option<String>, Query)),
    responses((status = 200, content_type = "text/csv", body = String), Refusals),
    security(("basic" = []), ("token" = [])))]
fn export_suppressions() {}

#[utoipa::path(get, path = "/api/suppressions/{email}", tag = "suppressions",
    description = "May this address be mailed? 200 either way: `suppressed` and, when it is or was, why.",
    params(("email" = String, Path)),
    responses((status = 200, body = DataSuppressionLookup), Refusals), security(("basic" = []), ("token" = [])))]
fn get_suppression() {}

#[utoipa::path(delete, path = "/api/suppressions/{email}", tag = "suppressions",
    description = "Reactivates (bounces:manage): the subscriber is enabled again and its bounces before now no longer count for the rules (the entry stays, `suppressed` false, with `reactivated_at`). 404 when the address is not suppressed.",
    params(("email" = String, Path)),
    responses((status = 200, body = DataSuppression), Refusals), security(("basic" = []), ("token" = [])))]
fn reactivate_suppression() {}

#[utoipa::path(get, path = "/api/webhooks/endpoints", tag = "events",
    description = "The endpoints of outgoing event webhooks (settings:get), with their deliveries by status and, when paused, why.",
    responses((status = 200, body = DataWebhookEndpoints), Refusals), security(("basic" = []), ("token" = [])))]
fn list_webhook_endpoints() {}

#[utoipa::path(post, path = "/api/webhooks/endpoints", tag = "events",
    description = "Registers an endpoint (settings:manage). Events are signed with its secret (Standard Webhooks); the answer shows the secret this once. The body of every event is a WebhookEvent.",
    request_body = WebhookEndpointBody,
    responses((status = 200, body = DataWebhookEndpointCreated), Refusals), security(("basic" = []), ("token" = [])))]
fn create_webhook_endpoint() {}

#[utoipa::path(get, path = "/api/webhooks/endpoints/{id}", tag = "events", params(("id" = i64, Path)),
    responses((status = 200, body = DataWebhookEndpoint), Refusals), security(("basic" = []), ("token" = [])))]
fn get_webhook_endpoint() {}

#[utoipa::path(put, path = "/api/webhooks/endpoints/{id}", tag = "events", params(("id" = i64, Path)),
    description = "Changes the fields given; `paused: false` resumes a paused endpoint.",
    request_body = WebhookEndpointBody,
    responses((status = 200, body = DataWebhookEndpoint), Refusals), security(("basic" = []), ("token" = [])))]
fn update_webhook_endpoint() {}

#[utoipa::path(delete, path = "/api/webhooks/endpoints/{id}", tag = "events", params(("id" = i64, Path)),
    description = "Deletes the endpoint and its deliveries.",
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_webhook_endpoint() {}

#[utoipa::path(get, path = "/api/webhooks/deliveries", tag = "events",
    description = "Deliveries, newest first (settings:get).",
    params(("endpoint_id" = Option<i64>, Query), ("status" = Option<DeliveryStatus>, Query),
        ("page" = Option<i64>, Query), ("per_page" = Option<String>, Query)),
    responses((status = 200, body = DataWebhookDeliveryPage), Refusals), security(("basic" = []), ("token" = [])))]
fn list_webhook_deliveries() {}

#[utoipa::path(get, path = "/api/webhooks/deliveries/{id}", tag = "events", params(("id" = i64, Path)),
    responses((status = 200, body = DataWebhookDelivery), Refusals), security(("basic" = []), ("token" = [])))]
fn get_webhook_delivery() {}

#[utoipa::path(post, path = "/api/webhooks/deliveries/{id}/redeliver", tag = "events", params(("id" = i64, Path)),
    description = "Queues the delivery again, due now, with a fresh count of attempts (settings:manage); same event id.",
    responses((status = 200, body = DataWebhookDelivery), Refusals), security(("basic" = []), ("token" = [])))]
fn redeliver_webhook() {}

#[utoipa::path(get, path = "/api/lists", tag = "lists",
    params(("page" = Option<i64>, Query), ("per_page" = Option<String>, Query)),
    responses((status = 200, body = DataListPage), Refusals), security(("basic" = []), ("token" = [])))]
fn list_lists() {}

#[utoipa::path(post, path = "/api/lists", tag = "lists", request_body = ListBody,
    responses((status = 200, body = DataList), Refusals), security(("basic" = []), ("token" = [])))]
fn create_list() {}

#[utoipa::path(get, path = "/api/lists/{id}", tag = "lists", params(("id" = i64, Path)),
    responses((status = 200, body = DataList), Refusals), security(("basic" = []), ("token" = [])))]
fn get_list() {}

#[utoipa::path(put, path = "/api/lists/{id}", tag = "lists", params(("id" = i64, Path)), request_body = ListBody,
    responses((status = 200, body = DataList), Refusals), security(("basic" = []), ("token" = [])))]
fn update_list() {}

#[utoipa::path(delete, path = "/api/lists/{id}", tag = "lists", params(("id" = i64, Path)),
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_list() {}

#[utoipa::path(get, path = "/api/campaigns", tag = "campaigns",
    params(("page" = Option<i64>, Query), ("per_page" = Option<String>, Query)),
    responses((status = 200, body = DataCampaignPage), Refusals), security(("basic" = []), ("token" = [])))]
fn list_campaigns() {}

#[utoipa::path(post, path = "/api/campaigns", tag = "campaigns", request_body = CampaignBody,
    responses((status = 200, body = DataCampaign), Refusals), security(("basic" = []), ("token" = [])))]
fn create_campaign() {}

#[utoipa::path(get, path = "/api/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = DataCampaign), Refusals), security(("basic" = []), ("token" = [])))]
fn get_campaign() {}

#[utoipa::path(put, path = "/api/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    description = "Refused (400) once the campaign runs, is cancelled or finished.",
    request_body = CampaignBody,
    responses((status = 200, body = DataCampaign), Refusals), security(("basic" = []), ("token" = [])))]
fn update_campaign() {}

#[utoipa::path(delete, path = "/api/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    description = "Whatever its status; its bounces stay, without a campaign.",
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_campaign() {}

#[utoipa::path(get, path = "/api/campaigns/analytics/{type}", tag = "campaigns",
    description = "listmonk's campaign analytics: counts per campaign and hour (ranges under a week) or day. \
        rebound records bounces only: views and clicks answer `[]`, links (`[{url, count}]`) too.",
    params(("type" = AnalyticsKind, Path),
        ("id" = Vec<i64>, Query, description = "Campaign ids (repeat the parameter)"),
        ("from" = String, Query, description = "A date (2026-03-01) or date and time; UTC unless an offset is given"),
        ("to" = String, Query, description = "Inclusive")),
    responses((status = 200, body = DataCampaignCounts), Refusals), security(("basic" = []), ("token" = [])))]
fn campaign_analytics() {}

#[utoipa::path(post, path = "/api/campaigns/{id}/test", tag = "campaigns",
    description = "listmonk's test send through the live smtp settings; recipients' refusals are recorded as bounces.",
    params(("id" = i64, Path)), request_body = CampaignTestBody,
    responses((status = 200, description = "`{\"data\": true, \"results\": [...]}`", body = Object), Refusals,
        (status = 502, description = "The message could not be handed to an SMTP server", body = ErrorBody)),
    security(("basic" = []), ("token" = [])))]
fn campaign_test() {}

#[utoipa::path(get, path = "/api/settings", tag = "settings",
    responses((status = 200, body = DataSettings), Refusals), security(("basic" = []), ("token" = [])))]
fn get_settings() {}

#[utoipa::path(put, path = "/api/settings", tag = "settings",
    request_body(content = Object, description = "Some or all of the flat settings object"),
    responses((status = 200, body = DataSettings), Refusals), security(("basic" = []), ("token" = [])))]
fn put_settings() {}

#[utoipa::path(put, path = "/api/settings/{key}", tag = "settings",
    description = "listmonk's update of one setting: the body is the key's new value (e.g. `bounce.actions`'s object). Validated and applied live like a whole update; a key neither rebound nor the database has is a 400.",
    params(("key" = String, Path, description = "A settings key, e.g. `bounce.actions`")),
    request_body(content = Object, description = "The key's new value (any JSON)"),
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn put_setting() {}

#[utoipa::path(get, path = "/api/users", tag = "users",
    responses((status = 200, body = DataUsers), Refusals), security(("basic" = []), ("token" = [])))]
fn list_users() {}

#[utoipa::path(post, path = "/api/users", tag = "users", request_body = UserBody,
    responses((status = 200, body = DataUser), Refusals, (status = 409, body = ErrorBody)),
    security(("basic" = []), ("token" = [])))]
fn create_user() {}

#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = DataTrue), Refusals), security(("basic" = []), ("token" = [])))]
fn delete_user() {}

// ----------------------------------------------------------- the document

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "listmonk's `token api_username:access_token`",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "rebound", description = "Bounce processing with listmonk's API. Responses are `{\"data\": ...}`, errors `{\"message\": ...}`."),
    modifiers(&Security),
    paths(
        health, api_health, metrics, openapi_json, post_bounce, provider_webhook, mapped_provider_webhook, provider_webhook_get,
        list_bounces, delete_bounces, export_csv, blocklist, list_unmatched, delete_unmatched, retry_unmatched,
        get_bounce, delete_bounce, reclassify_bounce, provider_status, deliverability_domains, mailboxes, scan_mailbox, mailbox_messages, delete_mailbox_messages,
        mailbox_message, mailbox_message_raw, list_subscribers, create_subscriber, delete_subscribers,
        get_subscriber, update_subscriber, delete_subscriber, subscriber_bounces, delete_subscriber_bounces,
        patch_subscriber, blocklist_subscriber, blocklist_subscribers, manage_subscriber_lists,
        manage_subscriber_lists_of, blocklist_subscribers_by_query, delete_subscribers_by_query,
        manage_subscriber_lists_by_query,
        list_webhook_endpoints, create_webhook_endpoint, get_webhook_endpoint, update_webhook_endpoint,
        delete_webhook_endpoint, list_webhook_deliveries, get_webhook_delivery, redeliver_webhook,
        list_suppressions, add_suppression, export_suppressions, get_suppression, reactivate_suppression,
        list_lists, create_list, get_list, update_list, delete_list, list_campaigns, create_campaign, get_campaign,
        update_campaign, delete_campaign, campaign_analytics, campaign_test, get_settings, put_settings, put_setting,
        list_users, create_user, delete_user,
    ),
    // Path parameters only refer to their schema; utoipa collects the ones of bodies by itself.
    components(schemas(AnalyticsKind, WebhookEvent, DeliveryStatus, BounceEventData, SubscriberActionData,
        SuppressionEventData, EventSubscriber, EventCampaign, ActionRuleRef))
)]
pub struct ApiDoc;

/// The description as JSON.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// GET /api/openapi.json
pub async fn serve() -> impl IntoResponse {
    Json(document())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner) {
                        ("$ref", Value::String(target)) => found.push(target),
                        _ => refs(inner, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
            _ => {}
        }
    }

    /// A reference to a missing component makes every OpenAPI tool refuse the whole document.
    #[test]
    fn every_reference_resolves() {
        let doc = serde_json::to_value(super::document()).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let pointer = target.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
        }
    }
}
