//! Bounces (the table listmonk users know), one bounce's detail, deletion,
//! "blocklist all bounced subscribers", CSV export, and unmatched bounces.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use rebound_core::BounceType;
use rebound_store::{BounceFilter, BounceOrder, BounceQuery, Pagination, PerPage, Selection};
use serde_json::Value;

use super::bounce_reclassify::Verdict;
use super::form::{ask_first, back, redirect_done, selection};
use super::page::{Chrome, Pager, count, html, iso, link, source_name, when};
use super::session::{Ui, UiForm};
use super::{BASE, UiError};
use crate::auth::perm;
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::service::{bounce_export, bounces};
use crate::state::AppState;

pub struct Row {
    pub id: i64,
    pub email: String,
    pub subscriber_href: Option<String>,
    pub subscriber_status: String,
    pub campaign: Option<(String, String)>,
    pub source: String,
    pub source_href: String,
    pub kind: &'static str,
    /// The parser's reason, with the link that filters by it.
    pub reason: Option<(String, String)>,
    /// Why: the parser's explanation, else the server's diagnostic.
    pub why: Option<String>,
    pub created: String,
    pub created_iso: String,
    pub href: String,
}

pub struct SortHeader {
    pub label: &'static str,
    pub href: String,
    /// "ascending", "descending" or "none" (aria-sort).
    pub sort: &'static str,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "bounces.html")]
struct BouncesPage {
    chrome: Chrome,
    rows: Vec<Row>,
    headers: Vec<SortHeader>,
    campaigns: Vec<Choice>,
    sources: Vec<Choice>,
    reasons: Vec<Choice>,
    types: Vec<Choice>,
    per_pages: Vec<Choice>,
    order_by: &'static str,
    order: &'static str,
    filtered: bool,
    pager: Pager,
    can_manage: bool,
    export_href: String,
    here: String,
    total: i64,
    /// The active filters, carried by the bulk forms so "all" means "all shown".
    filter_fields: Vec<(&'static str, String)>,
}

/// The listing's query: filters, order and page, as both the store and links need them.
struct Listing {
    filter: BounceFilter,
    order_by: BounceOrder,
    desc: bool,
    pagination: Pagination,
}

impl Listing {
    fn parse(q: &QueryPairs) -> Result<Listing, UiError> {
        let order_by = match q.get("order_by") {
            None => BounceOrder::CreatedAt,
            Some(o) => BounceOrder::parse(o)
                .ok_or_else(|| ApiError::bad_request(format!("invalid order_by {o:?}")))?,
        };
        let desc = match q.get("order") {
            None => order_by == BounceOrder::CreatedAt,
            Some(o) => o.eq_ignore_ascii_case("desc"),
        };
        Ok(Listing {
            filter: BounceFilter {
                campaign_id: q.int("campaign_id")?,
                subscriber_id: None,
                source: q.get("source").map(str::to_string),
                bounce_type: q.get("type").map(str::parse::<BounceType>).transpose()?,
                reason: q.get("reason").map(str::to_string),
            },
            order_by,
            desc,
            pagination: q.pagination()?,
        })
    }

    fn filter_params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("campaign_id", self.filter.campaign_id.map(|c| c.to_string()).unwrap_or_default()),
            ("source", self.filter.source.clone().unwrap_or_default()),
            ("type", self.filter.bounce_type.map(|t| t.as_str().to_string()).unwrap_or_default()),
            ("reason", self.filter.reason.clone().unwrap_or_default()),
        ]
    }

    fn per_page(&self) -> u32 {
        match self.pagination.per_page {
            PerPage::Count(n) => n,
            PerPage::All => 0,
        }
    }

    /// A link to this listing with some parameters changed.
    fn href(&self, order_by: BounceOrder, desc: bool, page: u32) -> String {
        let mut p = self.filter_params();
        p.push(("order_by", order_name(order_by).to_string()));
        p.push(("order", if desc { "desc" } else { "asc" }.to_string()));
        if self.per_page() != 20 {
            p.push(("per_page", self.per_page().to_string()));
        }
        if page > 1 {
            p.push(("page", page.to_string()));
        }
        link("/bounces", &p)
    }
}

fn order_name(o: BounceOrder) -> &'static str {
    match o {
        BounceOrder::Email => "email",
        BounceOrder::CampaignName => "campaign_name",
        BounceOrder::Source => "source",
        BounceOrder::CreatedAt => "created_at",
        BounceOrder::Type => "type",
    }
}

const COLUMNS: [(BounceOrder, &str); 5] = [
    (BounceOrder::Email, "E-mail"),
    (BounceOrder::CampaignName, "Campaign"),
    (BounceOrder::Source, "Source"),
    (BounceOrder::Type, "Type"),
    (BounceOrder::CreatedAt, "Created"),
];

/// A reason id in words: "mailboxfull" → "mailbox full". The ids are the
/// parser's (Sisimai's vocabulary, docs/parser.md), run together.
pub(super) fn reason_words(id: &str) -> String {
    const WORDS: [(&str, &str); 33] = [
        ("userunknown", "user unknown"),
        ("hostunknown", "host unknown"),
        ("hasmoved", "has moved"),
        ("mailboxfull", "mailbox full"),
        ("suspend", "suspended"),
        ("expired", "expired (gave up)"),
        ("filtered", "filtered"),
        ("rejected", "sender rejected"),
        ("blocked", "blocked (sending IP)"),
        ("spamdetected", "spam detected"),
        ("virusdetected", "virus detected"),
        ("policyviolation", "policy violation"),
        ("authfailure", "authentication failure (SPF/DKIM/DMARC)"),
        ("badreputation", "bad reputation"),
        ("requireptr", "PTR record required"),
        ("securityerror", "security error"),
        ("contenterror", "content error"),
        ("notcompliantrfc", "not RFC compliant"),
        ("emailtoolarge", "message too large"),
        ("exceedlimit", "over a size limit"),
        ("norelaying", "relaying denied"),
        ("notaccept", "does not accept mail"),
        ("networkerror", "network error"),
        ("systemerror", "system error"),
        ("systemfull", "system full"),
        ("mailererror", "mailer error"),
        ("ratelimited", "rate limited"),
        ("speeding", "recipient over its rate"),
        ("suppressed", "on the provider's suppression list"),
        ("failedstarttls", "TLS required, failed"),
        ("syntaxerror", "syntax error"),
        ("feedback", "complaint (feedback report)"),
        ("undefined", "undefined"),
    ];
    WORDS.iter().find(|(k, _)| *k == id).map_or_else(|| id.to_string(), |(_, w)| (*w).to_string())
}

/// A bounce's reason (linked to the listing filtered by it, keeping
/// `filters`) and its explanation, for a table row.
pub(super) fn reason_cells(
    meta: &Value,
    filters: &[(&'static str, String)],
) -> (Option<(String, String)>, Option<String>) {
    let reason = meta.get("reason").and_then(Value::as_str).filter(|r| !r.is_empty()).map(|r| {
        let mut p: Vec<(&str, String)> = filters.iter().filter(|(k, _)| *k != "reason").cloned().collect();
        p.push(("reason", r.to_string()));
        (reason_words(r), link("/bounces", &p))
    });
    (reason, explanation(meta))
}

/// Why a bounce bounced, shortened for a table cell: the parser's
/// explanation, else the server's diagnostic (as providers name it).
pub(super) fn explanation(meta: &Value) -> Option<String> {
    ["explanation", "diagnostic", "Details", "description"]
        .iter()
        .find_map(|k| meta.get(*k).and_then(Value::as_str).filter(|t| !t.trim().is_empty()))
        .map(|t| shorten(t, 140))
}

/// At most `max` characters, with "…" when cut.
fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// GET /admin/bounces
pub async fn list(State(state): State<AppState>, ui: Ui, q: QueryPairs) -> Result<Response, UiError> {
    ui.principal.require(perm::BOUNCES_GET)?;
    let l = Listing::parse(&q)?;
    let query = BounceQuery {
        filter: l.filter.clone(),
        order_by: l.order_by,
        desc: l.desc,
        pagination: l.pagination,
    };
    let page = bounces::list(&state, &ui.principal, &query).await?;
    let campaigns = bounces::campaign_choices(&state, &ui.principal).await?;
    let sources = bounces::sources(&state, &ui.principal).await?;
    let reasons = bounces::reasons(&state, &ui.principal).await?;
    let can_subscribers = ui.principal.can(perm::SUBSCRIBERS_GET);

    let rows = page
        .results
        .iter()
        .map(|b| Row {
            id: b.id,
            email: b.email.clone(),
            subscriber_href: can_subscribers.then(|| format!("{BASE}/subscribers/{}", b.subscriber_id)),
            subscriber_status: b.subscriber_status.as_str().to_string(),
            campaign: b.campaign.as_ref().map(|c| {
                let mut p = l.filter_params();
                p[0].1 = c.id.to_string();
                (c.name.clone(), link("/bounces", &p))
            }),
            source: source_name(&b.source),
            source_href: {
                let mut p = l.filter_params();
                p[1].1 = b.source.clone();
                link("/bounces", &p)
            },
            kind: b.bounce_type.as_str(),
            reason: reason_cells(&b.meta, &l.filter_params()).0,
            why: explanation(&b.meta),
            created: when(b.created_at),
            created_iso: iso(b.created_at),
            href: format!("{BASE}/bounces/{}", b.id),
        })
        .collect();
    let headers = COLUMNS
        .iter()
        .map(|&(col, label)| {
            let current = col == l.order_by;
            let next_desc = if current { !l.desc } else { col == BounceOrder::CreatedAt };
            SortHeader {
                label,
                href: l.href(col, next_desc, 1),
                sort: match (current, l.desc) {
                    (false, _) => "none",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
            }
        })
        .collect();
    let per_page = l.per_page();
    let pager = Pager::new(page.page, per_page.max(1), page.total, |n| l.href(l.order_by, l.desc, n));
    let choice = |value: String, label: String, selected: bool| Choice { value, label, selected };
    let page_view = BouncesPage {
        chrome: ui.chrome("Bounces", "bounces", Some(&q)),
        rows,
        headers,
        campaigns: campaigns
            .iter()
            .map(|c| choice(c.id.to_string(), c.name.clone(), l.filter.campaign_id == Some(c.id)))
            .collect(),
        sources: sources
            .iter()
            .map(|s| {
                choice(
                    s.source.clone(),
                    source_name(&s.source),
                    l.filter.source.as_deref() == Some(&s.source),
                )
            })
            .collect(),
        reasons: reasons
            .iter()
            .map(|r| {
                let label = format!("{} ({})", reason_words(&r.source), r.count);
                choice(r.source.clone(), label, l.filter.reason.as_deref() == Some(&r.source))
            })
            .collect(),
        types: BounceType::ALL
            .iter()
            .map(|t| choice(t.as_str().into(), t.as_str().into(), l.filter.bounce_type == Some(*t)))
            .collect(),
        per_pages: [20u32, 50, 100]
            .iter()
            .map(|n| choice(n.to_string(), n.to_string(), per_page == *n))
            .collect(),
        order_by: order_name(l.order_by),
        order: if l.desc { "desc" } else { "asc" },
        filtered: l.filter != BounceFilter::default(),
        pager,
        can_manage: ui.principal.can(perm::BOUNCES_MANAGE),
        export_href: link("/bounces/export.csv", &l.filter_params()),
        filter_fields: l.filter_params().into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        here: l.href(l.order_by, l.desc, page.page),
        total: page.total,
    };
    html(&page_view)
}

#[derive(Template)]
#[template(path = "bounce.html")]
struct BouncePage {
    chrome: Chrome,
    row: Row,
    meta: String,
    verdict: Verdict,
    can_manage: bool,
}

/// GET /admin/bounces/{id}
pub async fn detail(
    State(state): State<AppState>,
    ui: Ui,
    Path(id): Path<i64>,
    q: QueryPairs,
) -> Result<Response, UiError> {
    ui.principal.require(perm::BOUNCES_GET)?;
    let b = bounces::get(&state, &ui.principal, id).await?;
    let can_subscribers = ui.principal.can(perm::SUBSCRIBERS_GET);
    let page = BouncePage {
        chrome: ui.chrome(format!("Bounce {id}"), "bounces", Some(&q)),
        verdict: Verdict::of(&b),
        meta: serde_json::to_string_pretty(&b.meta).unwrap_or_else(|_| b.meta.to_string()),
        row: Row {
            id: b.id,
            reason: reason_cells(&b.meta, &[]).0,
            why: explanation(&b.meta),
            subscriber_href: can_subscribers.then(|| format!("{BASE}/subscribers/{}", b.subscriber_id)),
            subscriber_status: b.subscriber_status.as_str().to_string(),
            campaign: b
                .campaign
                .as_ref()
                .map(|c| (c.name.clone(), link("/bounces", &[("campaign_id", c.id.to_string())]))),
            source_href: link("/bounces", &[("source", b.source.clone())]),
            source: b.source,
            kind: b.bounce_type.as_str(),
            created: when(b.created_at),
            created_iso: iso(b.created_at),
            href: format!("{BASE}/bounces/{id}"),
            email: b.email,
        },
        can_manage: ui.principal.can(perm::BOUNCES_MANAGE),
    };
    html(&page)
}

/// POST /admin/bounces/delete: the checked bounces, or all of them.
pub async fn delete_many(State(state): State<AppState>, f: UiForm) -> Result<Response, UiError> {
    f.ui.principal.require(perm::BOUNCES_MANAGE)?;
    let to = back(&f, "/bounces");
    let Some(sel) = selection(&f)? else { return Ok(redirect_done(&to, "none-selected", &[])) };
    // "Delete all" acts on what the filter shows (every page of it), never more.
    let filter = f.form.bounce_filter()?;
    let scoped = filter != BounceFilter::default();
    let message = match &sel {
        Selection::All => {
            let q = BounceQuery { filter: filter.clone(), ..BounceQuery::default() };
            let total = bounces::list(&state, &f.ui.principal, &q).await?.total;
            if scoped {
                format!(
                    "Delete the {} this filter shows (on every page; bounces outside the filter stay)? \
                     This cannot be undone.",
                    count(total, "bounce", "bounces")
                )
            } else {
                format!("Delete all {}? This cannot be undone.", count(total, "bounce", "bounces"))
            }
        }
        Selection::Ids(ids) => format!(
            "Delete the {} selected? This cannot be undone.",
            count(ids.len() as i64, "bounce", "bounces")
        ),
    };
    if let Some(ask) = ask_first(&f, "bounces", &format!("{BASE}/bounces/delete"), message, "Delete") {
        return ask;
    }
    let n = match &sel {
        Selection::All => bounces::delete_matching(&state, &f.ui.principal, &filter).await?,
        ids => bounces::delete(&state, &f.ui.principal, ids).await?,
    };
    Ok(redirect_done(&to, "deleted", &[("n", n)]))
}

/// POST /admin/bounces/{id}/delete
pub async fn delete_one(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: UiForm,
) -> Result<Response, UiError> {
    f.ui.principal.require(perm::BOUNCES_MANAGE)?;
    let b = bounces::get(&state, &f.ui.principal, id).await?;
    let message = format!(
        "Delete the {} bounce of {} from {}? This cannot be undone.",
        b.bounce_type,
        b.email,
        when(b.created_at)
    );
    if let Some(ask) = ask_first(&f, "bounces", &format!("{BASE}/bounces/{id}/delete"), message, "Delete") {
        return ask;
    }
    bounces::delete_one(&state, &f.ui.principal, id).await?;
    // Its own page is gone: go back to the listing instead.
    let to = back(&f, "/bounces");
    let to = if to.starts_with(&format!("{BASE}/bounces/{id}")) { format!("{BASE}/bounces") } else { to };
    Ok(redirect_done(&to, "deleted", &[("n", 1)]))
}

/// POST /admin/bounces/blocklist
pub async fn blocklist(State(state): State<AppState>, f: UiForm) -> Result<Response, UiError> {
    f.ui.principal.require(perm::BOUNCES_MANAGE)?;
    // The subscribers of the bounces shown (every page of the filter), not
    // everyone who ever bounced once.
    let filter = f.form.bounce_filter()?;
    let n = bounces::subscribers_to_blocklist(&state, &f.ui.principal, &filter).await?.len();
    if n == 0 {
        return Ok(redirect_done(&back(&f, "/bounces"), "blocklisted", &[("n", 0)]));
    }
    let message = format!(
        "Blocklist the {} of the bounces this filter shows? They are unsubscribed from all their lists \
         and receive no more e-mail.",
        count(n as i64, "subscriber", "subscribers")
    );
    if let Some(ask) = ask_first(&f, "bounces", &format!("{BASE}/bounces/blocklist"), message, "Blocklist") {
        return ask;
    }
    let n = bounces::blocklist_matching(&state, &f.ui.principal, &filter).await?;
    Ok(redirect_done(&back(&f, "/bounces"), "blocklisted", &[("n", n)]))
}

/// GET /admin/bounces/export.csv: the API's streaming export, same filters.
pub async fn export_csv(State(state): State<AppState>, ui: Ui, q: QueryPairs) -> Result<Response, UiError> {
    ui.principal.require(perm::BOUNCES_GET)?;
    let export = bounce_export::csv(&state, &ui.principal, q.bounce_filter()?)?;
    Ok(axum::response::IntoResponse::into_response(export))
}

pub struct UnmatchedRow {
    pub id: i64,
    pub email: String,
    pub subscriber_uuid: String,
    pub campaign_uuid: String,
    pub kind: &'static str,
    pub source: String,
    pub reason: String,
    /// No evidence of a real send (strict attribution): shown flagged.
    pub unverified: bool,
    pub created: String,
    pub created_iso: String,
    pub meta: String,
}

#[derive(Template)]
#[template(path = "unmatched.html")]
struct UnmatchedPage {
    chrome: Chrome,
    rows: Vec<UnmatchedRow>,
    pager: Pager,
    can_manage: bool,
    here: String,
}

/// GET /admin/bounces/unmatched
pub async fn unmatched(State(state): State<AppState>, ui: Ui, q: QueryPairs) -> Result<Response, UiError> {
    ui.principal.require(perm::BOUNCES_GET)?;
    let p = q.pagination()?;
    let page = bounces::unmatched(&state, &ui.principal, p).await?;
    let per_page = match p.per_page {
        PerPage::Count(n) => n,
        PerPage::All => page.total.max(1) as u32,
    };
    let at =
        |n: u32| link("/bounces/unmatched", &[("page", if n > 1 { n.to_string() } else { String::new() })]);
    let rows = page
        .results
        .into_iter()
        .map(|u| UnmatchedRow {
            id: u.id,
            email: u.email,
            subscriber_uuid: u.subscriber_uuid.unwrap_or_default(),
            campaign_uuid: u.campaign_uuid.unwrap_or_default(),
            kind: u.bounce_type.as_str(),
            source: u.source,
            reason: u.reason,
            unverified: u.unverified,
            created: when(u.created_at),
            created_iso: iso(u.created_at),
            meta: serde_json::to_string_pretty(&u.meta).unwrap_or_default(),
        })
        .collect();
    let pager = Pager::new(page.page, per_page, page.total, at);
    let view = UnmatchedPage {
        chrome: ui.chrome("Unmatched bounces", "unmatched", Some(&q)),
        rows,
        here: at(pager.page),
        pager,
        can_manage: ui.principal.can(perm::BOUNCES_MANAGE),
    };
    html(&view)
}

/// POST /admin/bounces/unmatched/delete
pub async fn delete_unmatched(State(state): State<AppState>, f: UiForm) -> Result<Response, UiError> {
    f.ui.principal.require(perm::BOUNCES_MANAGE)?;
    let to = back(&f, "/bounces/unmatched");
    let Some(sel) = selection(&f)? else { return Ok(redirect_done(&to, "none-selected", &[])) };
    let message = match &sel {
        Selection::All => "Delete every unmatched bounce? This cannot be undone.".to_string(),
        Selection::Ids(ids) => format!(
            "Delete the {} selected? This cannot be undone.",
            count(ids.len() as i64, "unmatched bounce", "unmatched bounces")
        ),
    };
    let action = format!("{BASE}/bounces/unmatched/delete");
    if let Some(ask) = ask_first(&f, "unmatched", &action, message, "Delete") {
        return ask;
    }
    let n = bounces::delete_unmatched(&state, &f.ui.principal, &sel).await?;
    Ok(redirect_done(&to, "deleted-unmatched", &[("n", n)]))
}

/// POST /admin/bounces/unmatched/retry: match again (e.g. after an import),
/// with the current rules, as the API's retry does.
pub async fn retry_unmatched(State(state): State<AppState>, f: UiForm) -> Result<Response, UiError> {
    f.ui.principal.require(perm::BOUNCES_MANAGE)?;
    let to = back(&f, "/bounces/unmatched");
    let Some(sel) = selection(&f)? else { return Ok(redirect_done(&to, "none-selected", &[])) };
    let r = bounces::retry_unmatched(&state, &f.ui.principal, &sel).await?;
    Ok(redirect_done(&to, "retried", &[("n", r.matched), ("left", r.still_unmatched)]))
}
