//! One campaign's page: what it is, its bounces by type and, once something
//! is known to have been sent (listmonk's `campaigns.sent`), its bounce and
//! complaint rates — the figures a provider judges a sender by.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::page::{Chrome, html, link, when};
use super::session::Ui;
use super::{BASE, UiError};
use crate::auth::perm;
use crate::extract::QueryPairs;
use crate::service::campaign_report::{self, BounceRates};
use crate::state::AppState;

/// One bounce type's line: its count, its rate, and where to see them.
pub struct TypeRow {
    pub kind: &'static str,
    pub count: i64,
    /// "0.25 %", or None when nothing is known to have been sent.
    pub rate: Option<String>,
    pub href: String,
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct CampaignPage {
    chrome: Chrome,
    name: String,
    subject: String,
    status: String,
    created: String,
    sent: i64,
    to_send: i64,
    rows: Vec<TypeRow>,
    /// Hard and soft bounces over sent, as Amazon SES counts it.
    bounce_rate: Option<String>,
    bounces_href: String,
    test_href: Option<String>,
}

/// "0.25 %": two decimals, because the thresholds that matter are 0.1 % and 0.3 %.
fn percent(fraction: f64) -> String {
    format!("{:.2} %", fraction * 100.0)
}

/// GET /admin/campaigns/{id}
pub async fn show(
    State(state): State<AppState>,
    ui: Ui,
    Path(id): Path<i64>,
    q: QueryPairs,
) -> Result<Response, UiError> {
    let report = campaign_report::report(&state, &ui.principal, id).await?;
    let c = &report.campaign;
    let rates = report.rates;
    let pick = |f: fn(&BounceRates) -> f64| rates.as_ref().map(|r| percent(f(r)));
    let of_type =
        |kind: &str| link("/bounces", &[("campaign_id", id.to_string()), ("type", kind.to_string())]);
    let rows = vec![
        TypeRow { kind: "hard", count: report.bounces.hard, rate: pick(|r| r.hard), href: of_type("hard") },
        TypeRow { kind: "soft", count: report.bounces.soft, rate: pick(|r| r.soft), href: of_type("soft") },
        TypeRow {
            kind: "complaint",
            count: report.bounces.complaint,
            rate: pick(|r| r.complaint),
            href: of_type("complaint"),
        },
    ];
    let page = CampaignPage {
        chrome: ui.chrome(c.name.clone(), "campaigns", Some(&q)),
        name: c.name.clone(),
        subject: c.subject.clone(),
        status: c.status.clone(),
        created: when(c.created_at),
        sent: c.sent,
        to_send: c.to_send,
        rows,
        bounce_rate: pick(|r| r.bounce),
        bounces_href: link("/bounces", &[("campaign_id", id.to_string())]),
        test_href: ui.principal.can(perm::CAMPAIGNS_MANAGE).then(|| format!("{BASE}/campaigns/{id}/test")),
    };
    html(&page)
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent_has_two_decimals() {
        assert_eq!(super::percent(0.0025), "0.25 %");
        assert_eq!(super::percent(0.05), "5.00 %");
    }
}
