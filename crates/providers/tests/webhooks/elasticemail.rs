//! Elastic Email (a mapper preset): the event is the notification URL's
//! parameters, authenticated by a `key` the operator adds to the URL.

use rebound_core::BounceType;

use crate::support::*;

fn query(status: &str, category: &str) -> String {
    format!(
        "key=ee-test-url-secret&transaction=tx-1&messageid=mid-1&to=Reader%40Example.com&from=news%40example.org\
         &date=2027-01-05T10%3A05%3A00Z&subject=Hello&status={status}&category={category}&channel=News&postback={CAMPAIGN}"
    )
}

fn get(q: &str) -> Result<rebound_providers::Outcome, rebound_providers::ProviderError> {
    run_query("elasticemail", &[], Some(q), b"", now(), &settings())
}

#[test]
fn valid_duplicate_and_non_bounce() {
    let ev = events(get(&query("Error", "NoMailbox")));
    assert_event(
        &ev[0],
        "elasticemail",
        BounceType::Hard,
        "reader@example.com",
        Some(CAMPAIGN),
        "tx-1:mid-1:Reader@Example.com:Error",
    );
    assert_eq!(ev[0].meta["diagnostic"], "NoMailbox");
    assert_eq!(events(get(&query("Error", "NoMailbox"))), ev);
    assert_eq!(events(get(&query("Error", "Throttled")))[0].bounce_type, BounceType::Soft);
    assert_eq!(events(get(&query("AbuseReport", "")))[0].bounce_type, BounceType::Complaint);
    assert_ignored(get(&query("Error", "ManualCancel")));
    assert_ignored(get(&query("Opened", "")));
}

#[test]
fn wrong_or_missing_key() {
    let q = query("Error", "NoMailbox");
    assert_unauthorized(get(&q.replace("key=ee-test-url-secret", "key=wrong")));
    assert_unauthorized(get(&q.replace("key=ee-test-url-secret&", "")));
    assert_unauthorized(run_query("elasticemail", &[], None, b"", now(), &settings()));
}
