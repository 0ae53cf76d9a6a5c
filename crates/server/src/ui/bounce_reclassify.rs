//! The verdict on a bounce's page: why it got its type (the parser's or the
//! provider's explanation, `meta.explanation`), the operators' corrections,
//! and the form that corrects it (POST /admin/bounces/{id}/reclassify,
//! through the API's own path).

use axum::extract::{Path, State};
use axum::response::Response;
use rebound_core::{Action, BounceType, SubscriberStatus};
use rebound_store::{Bounce, Correction, reclassify};

use super::form::{ask_first, redirect_done};
use super::page::{iso, when};
use super::session::UiForm;
use super::{BASE, UiError};
use crate::auth::perm;
use crate::service::bounce_reclassify::{reclassify as apply, requested_type};
use crate::state::AppState;

/// What the bounce's page shows about its type.
pub struct Verdict {
    /// "status 5.1.1 → userunknown → hard"; `None` when the source gave none.
    pub why: Option<String>,
    pub corrections: Vec<CorrectionRow>,
    /// The types it can be corrected to.
    pub other_types: Vec<&'static str>,
}

pub struct CorrectionRow {
    pub at: String,
    pub at_iso: String,
    pub by: String,
    pub from: &'static str,
    pub to: &'static str,
    pub note: String,
    /// What re-evaluating the rule did.
    pub result: String,
}

impl Verdict {
    pub fn of(b: &Bounce) -> Verdict {
        let why = b.meta.get("explanation").and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty());
        Verdict {
            why: why.map(str::to_string),
            corrections: reclassify::corrections(&b.meta).iter().map(row).collect(),
            other_types: BounceType::ALL
                .iter()
                .filter(|t| **t != b.bounce_type)
                .map(|t| t.as_str())
                .collect(),
        }
    }
}

fn row(c: &Correction) -> CorrectionRow {
    let mut result = match c.action {
        Some(a) => format!("{} {} bounce(s): {}", c.count, c.to, a.as_str()),
        None => format!("{} {} bounce(s): no action", c.count, c.to),
    };
    if c.kept == Some(SubscriberStatus::Blocklisted) {
        result.push_str("; the subscriber stays blocklisted (a correction never lifts a blocklist)");
    }
    CorrectionRow {
        at: when(c.at),
        at_iso: iso(c.at),
        by: c.by.clone(),
        from: c.from.as_str(),
        to: c.to.as_str(),
        note: c.note.clone().unwrap_or_default(),
        result,
    }
}

/// POST /admin/bounces/{id}/reclassify
pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: UiForm,
) -> Result<Response, UiError> {
    f.ui.principal.require(perm::BOUNCES_MANAGE)?;
    let to = requested_type(f.form.get("type"))?;
    let b = crate::service::bounces::get(&state, &f.ui.principal, id).await?;
    let rule = state.settings.get().actions.rule(to).clone();
    let n = rule.count;
    let consequence = match rule.action {
        Action::None => format!("{to} bounces only count."),
        Action::Unsubscribe => {
            format!("at {n} {to} bounce(s) the subscriber is unsubscribed from its lists.")
        }
        Action::Blocklist => format!("at {n} {to} bounce(s) the subscriber is blocklisted."),
        Action::Delete => format!("at {n} {to} bounce(s) the subscriber is deleted with all its bounces."),
    };
    let message = format!(
        "Reclassify the {} bounce of {} as {to}? Its rule is evaluated again: {consequence} \
         A correction never lifts a blocklist.",
        b.bounce_type, b.email
    );
    let action = format!("{BASE}/bounces/{id}/reclassify");
    if let Some(ask) = ask_first(&f, "bounces", &action, message, "Reclassify") {
        return ask;
    }
    let note = f.form.get("note").map(str::to_string);
    let done = apply(&state, &f.ui.principal, id, to, note).await?;
    Ok(match done.bounce {
        Some(_) => redirect_done(&format!("{BASE}/bounces/{id}"), "reclassified", &[]),
        // The rule deleted the subscriber, and this bounce with it.
        None => redirect_done(&format!("{BASE}/bounces"), "reclassified-deleted", &[]),
    })
}
