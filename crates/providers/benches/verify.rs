//! Requests per second of `Providers::handle` for each provider: one valid,
//! signed request carrying one bounce, verified and parsed. The signature
//! scheme dominates: RSA (SES, Postal) and ECDSA (SendGrid) cost far more than
//! HMAC or basic auth. Run on one core: `taskset -c 0 cargo bench --bench verify`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rebound_core::Settings;
use rebound_providers::{HttpFetch, Outcome, Providers, WebhookRequest};

#[path = "support/signed.rs"]
mod signed;
use signed::{Signer, test_data};

/// Serves the test certificate for every URL (after the first request it is cached anyway).
struct MemFetch(bytes::Bytes);

#[async_trait::async_trait]
impl HttpFetch for MemFetch {
    async fn get(&self, _url: &url::Url) -> Result<bytes::Bytes, String> {
        Ok(self.0.clone())
    }
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2027, 1, 5, 10, 15, 30).unwrap();
    let mut settings = Settings::default();
    let signer = Signer::new(&mut settings);
    let cases: Vec<_> =
        Providers::names().iter().map(|&p| signer.request(p, 1, "user@example.com", now)).collect();

    let providers = Providers::new(Arc::new(MemFetch(test_data("rsa_a.cert.pem").into())));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut group = c.benchmark_group("handle");
    group.throughput(Throughput::Elements(1));
    for case in &cases {
        let req = WebhookRequest { headers: &case.headers, query: case.query.as_deref(), body: &case.body };
        // Sanity: every case records exactly one bounce.
        match rt.block_on(providers.handle(case.provider, &req, now, &settings)) {
            Ok(Outcome::Events(e)) if e.len() == 1 => {}
            other => panic!("{}: {other:?}", case.provider),
        }
        group.bench_function(case.provider, |b| {
            b.iter(|| rt.block_on(providers.handle(case.provider, &req, now, &settings)).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
