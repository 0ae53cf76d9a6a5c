//! One campaign's bounce report: its bounces by type and, once the sender
//! has said how many messages went out (listmonk's `campaigns.sent`), the
//! rates a provider judges a sender by.

use rebound_store::{BounceTypeCounts, Campaign};

use super::ServiceResult;
use crate::auth::{Principal, perm};
use crate::state::AppState;

pub struct CampaignReport {
    pub campaign: Campaign,
    pub bounces: BounceTypeCounts,
    /// None while nothing is known to have been sent: a rate over zero
    /// messages would be a made-up number.
    pub rates: Option<BounceRates>,
}

/// Fractions of the messages sent (0.05 is 5 %).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BounceRates {
    pub hard: f64,
    pub soft: f64,
    pub complaint: f64,
    /// Hard and soft together: what Amazon SES calls the bounce rate.
    pub bounce: f64,
}

impl BounceRates {
    pub fn of(bounces: BounceTypeCounts, sent: i64) -> Option<BounceRates> {
        if sent <= 0 {
            return None;
        }
        let rate = |n: i64| n as f64 / sent as f64;
        Some(BounceRates {
            hard: rate(bounces.hard),
            soft: rate(bounces.soft),
            complaint: rate(bounces.complaint),
            bounce: rate(bounces.hard + bounces.soft),
        })
    }
}

pub async fn report(state: &AppState, p: &Principal, id: i64) -> ServiceResult<CampaignReport> {
    p.require(perm::CAMPAIGNS_GET)?;
    let campaign = state.store.get_campaign(id).await?;
    let bounces = state.store.bounce_counts_of_campaign(id).await?;
    let rates = BounceRates::of(bounces, campaign.sent);
    Ok(CampaignReport { campaign, bounces, rates })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_fractions_of_what_was_sent() {
        let counts = BounceTypeCounts { soft: 3, hard: 2, complaint: 1 };
        let r = BounceRates::of(counts, 1000).unwrap();
        assert_eq!((r.hard, r.soft, r.complaint, r.bounce), (0.002, 0.003, 0.001, 0.005));
    }

    #[test]
    fn no_rate_before_anything_was_sent() {
        assert_eq!(BounceRates::of(BounceTypeCounts { soft: 0, hard: 4, complaint: 0 }, 0), None);
    }
}
