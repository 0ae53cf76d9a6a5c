//! listmonk's campaign analytics (GET /api/campaigns/analytics/{type}):
//! counts per campaign and hour or day. rebound records bounces, not views
//! or clicks, so views, clicks and links answer what listmonk answers for a
//! campaign nobody opened: nothing.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rebound_store::{CampaignCount, CampaignCountQuery, CountInterval};
use serde::Serialize;

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// What one analytics type answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Analytics {
    /// views, clicks, bounces: `[{"campaign_id", "count", "timestamp"}]`.
    Counts(Vec<CampaignCount>),
    /// links: `[{"url", "count"}]`; always empty here.
    Links(Vec<LinkCount>),
}

#[derive(Debug, Serialize)]
pub struct LinkCount {
    pub url: String,
    pub count: i64,
}

/// The request as listmonk reads it: `id` (repeatable), `from` and `to`.
pub struct AnalyticsQuery<'a> {
    pub kind: &'a str,
    pub ids: Vec<i64>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
}

pub async fn get(state: &AppState, p: &Principal, q: AnalyticsQuery<'_>) -> ServiceResult<Analytics> {
    p.require(perm::CAMPAIGNS_GET_ANALYTICS)?;
    if q.ids.is_empty() {
        return Err(ServiceError::invalid("id", "id is required: one or more campaign ids"));
    }
    if let Some(bad) = q.ids.iter().find(|id| **id < 1) {
        return Err(ServiceError::invalid("id", format!("invalid id {bad}")));
    }
    let (from, to) = (date("from", q.from)?, date("to", q.to)?);
    match q.kind {
        "bounces" => {
            let query = CampaignCountQuery {
                campaign_ids: q.ids,
                from,
                to,
                interval: CountInterval::for_range(from, to),
            };
            Ok(Analytics::Counts(state.store.campaign_bounce_counts(&query).await?))
        }
        "views" | "clicks" => Ok(Analytics::Counts(vec![])),
        "links" => Ok(Analytics::Links(vec![])),
        other => Err(ServiceError::invalid(
            "type",
            format!("unknown analytics {other:?}: expected views, clicks, bounces or links"),
        )),
    }
}

/// listmonk passes `from` and `to` (10 to 30 characters) to PostgreSQL as
/// timestamps: a date ("2026-03-01", its midnight), a date and time, with
/// or without an offset. Without one it is UTC.
fn date(name: &'static str, given: Option<&str>) -> ServiceResult<DateTime<Utc>> {
    let invalid = || {
        ServiceError::invalid(
            name,
            format!(
                "invalid {name} {:?}: expected a date (2026-03-01) or a date and time",
                given.unwrap_or("")
            ),
        )
    };
    let s = given.map(str::trim).filter(|s| (10..=30).contains(&s.len())).ok_or_else(invalid)?;
    if let Ok(t) =
        DateTime::parse_from_rfc3339(s).or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z"))
    {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn dates_as_listmonk_takes_them() {
        let midnight = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(date("from", Some("2026-03-01")).unwrap(), midnight);
        assert_eq!(date("from", Some("2026-03-01T00:00:00Z")).unwrap(), midnight);
        assert_eq!(date("from", Some("2026-03-01 02:00:00+02:00")).unwrap(), midnight);
        assert_eq!(date("from", Some("2026-03-01 00:00:00")).unwrap(), midnight);
        for bad in [
            None,
            Some(""),
            Some("2026-3-1"),
            Some("yesterday!"),
            Some("2026-03-01T00:00:00.000000000000000Z"),
        ] {
            assert!(date("from", bad).is_err(), "{bad:?}");
        }
    }
}
