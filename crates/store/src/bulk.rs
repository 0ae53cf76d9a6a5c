//! What both backends' bulk subscriber operations ([`crate::BulkSubscriberStore`]) share.

use crate::StoreError;

/// The ids sorted and once each: a pair given twice would make
/// PostgreSQL's `ON CONFLICT DO UPDATE` touch a row twice and fail.
pub(crate) fn distinct(ids: &[i64]) -> Vec<i64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Refuses `asked` unless every id is in `found` (both sorted, distinct):
/// listmonk fails on a subscription to a subscriber or list that does not
/// exist, and so does rebound, naming them.
pub(crate) fn require_all(what: &str, asked: &[i64], found: &[i64]) -> Result<(), StoreError> {
    let missing: Vec<String> =
        asked.iter().filter(|id| found.binary_search(id).is_err()).map(i64::to_string).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(StoreError::Invalid(format!("no {what} with id {}", missing.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_missing_id() {
        assert!(require_all("list", &[1, 2], &[1, 2]).is_ok());
        let e = require_all("subscriber", &[1, 2, 5], &[2]).unwrap_err();
        assert_eq!(e.to_string(), "no subscriber with id 1, 5");
        assert_eq!(distinct(&[3, 1, 3]), vec![1, 3]);
    }
}
