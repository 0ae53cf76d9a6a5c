//! Bounces: the listing listmonk users know, one bounce, deletion,
//! "blocklist every bounced subscriber", a subscriber's bounces, and the
//! unmatched bounces (recorded without a subscriber) with "match again".
//! The streamed exports are in [`super::bounce_export`].

use rebound_store::{
    Bounce, BounceFilter, BounceQuery, Campaign, Paged, Pagination, PerPage, RecordOutcome, Selection,
    SourceCount, Subscriber, UnmatchedBounce,
};

use rebound_core::SubscriberStatus;

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

pub async fn list(state: &AppState, p: &Principal, query: &BounceQuery) -> ServiceResult<Paged<Bounce>> {
    p.require(perm::BOUNCES_GET)?;
    Ok(state.store.query_bounces(query).await?)
}

pub async fn get(state: &AppState, p: &Principal, id: i64) -> ServiceResult<Bounce> {
    p.require(perm::BOUNCES_GET)?;
    Ok(state.store.get_bounce(id).await?)
}

/// Every campaign, for the listing's campaign filter: with bounces:get
/// alone, since campaign names show in the bounces anyway.
pub async fn campaign_choices(state: &AppState, p: &Principal) -> ServiceResult<Vec<Campaign>> {
    p.require(perm::BOUNCES_GET)?;
    Ok(state.store.query_campaigns(Pagination { page: 1, per_page: PerPage::All }).await?.results)
}

/// Every source with its bounce count, most bounces first.
pub async fn sources(state: &AppState, p: &Principal) -> ServiceResult<Vec<SourceCount>> {
    p.require(perm::BOUNCES_GET)?;
    Ok(state.store.bounces_by_source().await?)
}

/// Every parser reason with its bounce count, most bounces first.
pub async fn reasons(state: &AppState, p: &Principal) -> ServiceResult<Vec<SourceCount>> {
    p.require(perm::BOUNCES_GET)?;
    Ok(state.store.bounces_by_reason().await?)
}

/// Deletes the selected bounces; returns how many there were.
pub async fn delete(state: &AppState, p: &Principal, sel: &Selection) -> ServiceResult<u64> {
    p.require(perm::BOUNCES_MANAGE)?;
    let n = state.store.delete_bounces(sel).await?;
    tracing::info!(deleted = n, by = ?p.username, "bounces deleted");
    Ok(n)
}

/// Deletes bounce `id`; not found when there is none.
pub async fn delete_one(state: &AppState, p: &Principal, id: i64) -> ServiceResult<()> {
    p.require(perm::BOUNCES_MANAGE)?;
    if state.store.delete_bounces(&Selection::Ids(vec![id])).await? == 0 {
        return Err(ServiceError::NotFound(format!("bounce {id} not found")));
    }
    tracing::info!(id, by = ?p.username, "bounce deleted");
    Ok(())
}

/// Blocklists every subscriber that has bounces; returns how many.
pub async fn blocklist(state: &AppState, p: &Principal) -> ServiceResult<u64> {
    p.require(perm::BOUNCES_MANAGE)?;
    let n = state.store.blocklist_bounced_subscribers().await?;
    tracing::info!(blocklisted = n, by = ?p.username, "bounced subscribers blocklisted");
    Ok(n)
}

/// Whether a filter selects every bounce.
fn selects_everything(f: &BounceFilter) -> bool {
    *f == BounceFilter::default()
}

/// Deletes every bounce `filter` selects (all pages of a filtered view);
/// returns how many there were.
pub async fn delete_matching(state: &AppState, p: &Principal, filter: &BounceFilter) -> ServiceResult<u64> {
    p.require(perm::BOUNCES_MANAGE)?;
    let sel = if selects_everything(filter) {
        Selection::All
    } else {
        let q = BounceQuery {
            filter: filter.clone(),
            pagination: Pagination { page: 1, per_page: PerPage::All },
            ..Default::default()
        };
        Selection::Ids(state.store.bounce_ids(&q).await?)
    };
    if matches!(&sel, Selection::Ids(ids) if ids.is_empty()) {
        return Ok(0);
    }
    let n = state.store.delete_bounces(&sel).await?;
    tracing::info!(deleted = n, by = ?p.username, filter = ?filter, "bounces deleted");
    Ok(n)
}

/// The subscribers of the bounces `filter` selects that are not blocklisted
/// yet, in id order (read page by page: a filter may select millions).
pub async fn subscribers_to_blocklist(
    state: &AppState,
    p: &Principal,
    filter: &BounceFilter,
) -> ServiceResult<Vec<i64>> {
    p.require(perm::BOUNCES_MANAGE)?;
    let mut ids = std::collections::BTreeSet::new();
    let mut after = 0;
    loop {
        let page = state.store.bounces_after(filter, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        ids.extend(
            page.iter()
                .filter(|b| b.subscriber_status != SubscriberStatus::Blocklisted)
                .map(|b| b.subscriber_id),
        );
    }
    Ok(ids.into_iter().collect())
}

/// Blocklists the subscribers of the bounces `filter` selects (and
/// unsubscribes their lists, as listmonk's blocklisting does); returns how many.
pub async fn blocklist_matching(
    state: &AppState,
    p: &Principal,
    filter: &BounceFilter,
) -> ServiceResult<u64> {
    let ids = subscribers_to_blocklist(state, p, filter).await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let n = state.store.blocklist_subscribers(&ids).await?;
    tracing::info!(blocklisted = n, by = ?p.username, filter = ?filter, "subscribers of bounces blocklisted");
    Ok(n)
}

/// Every bounce of subscriber `id`, newest first (not found without the subscriber).
pub async fn of_subscriber(state: &AppState, p: &Principal, id: i64) -> ServiceResult<Vec<Bounce>> {
    p.require(perm::BOUNCES_GET)?;
    state.store.get_subscriber(id).await?;
    let query = BounceQuery {
        filter: BounceFilter { subscriber_id: Some(id), ..Default::default() },
        pagination: Pagination { page: 1, per_page: PerPage::All },
        desc: true,
        ..Default::default()
    };
    Ok(state.store.query_bounces(&query).await?.results)
}

/// Subscriber `id` and how many bounces it has: what deleting them all
/// would delete (the question asked first).
pub async fn before_delete_of_subscriber(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> ServiceResult<(Subscriber, i64)> {
    p.require(perm::BOUNCES_MANAGE)?;
    let s = state.store.get_subscriber(id).await?;
    let query = BounceQuery {
        filter: BounceFilter { subscriber_id: Some(id), ..Default::default() },
        ..Default::default()
    };
    Ok((s, state.store.query_bounces(&query).await?.total))
}

/// Deletes every bounce of subscriber `id`; returns how many.
pub async fn delete_of_subscriber(state: &AppState, p: &Principal, id: i64) -> ServiceResult<u64> {
    p.require(perm::BOUNCES_MANAGE)?;
    state.store.get_subscriber(id).await?;
    Ok(state.store.delete_subscriber_bounces(id).await?)
}

pub async fn unmatched(
    state: &AppState,
    p: &Principal,
    page: Pagination,
) -> ServiceResult<Paged<UnmatchedBounce>> {
    p.require(perm::BOUNCES_GET)?;
    Ok(state.store.query_unmatched(page).await?)
}

pub async fn delete_unmatched(state: &AppState, p: &Principal, sel: &Selection) -> ServiceResult<u64> {
    p.require(perm::BOUNCES_MANAGE)?;
    Ok(state.store.delete_unmatched(sel).await?)
}

/// What "match again" did.
pub struct Retried {
    /// Now recorded against a subscriber.
    pub matched: u64,
    pub still_unmatched: u64,
}

/// Matches the selected unmatched bounces again (e.g. after the
/// subscriber was imported), with the current rules.
pub async fn retry_unmatched(state: &AppState, p: &Principal, sel: &Selection) -> ServiceResult<Retried> {
    p.require(perm::BOUNCES_MANAGE)?;
    let outcomes = state.intake.retry_unmatched(sel).await?;
    let matched = outcomes.iter().filter(|o| !matches!(o, RecordOutcome::Unmatched)).count() as u64;
    Ok(Retried { matched, still_unmatched: outcomes.len() as u64 - matched })
}
