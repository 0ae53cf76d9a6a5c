//! Messages per second over the whole Sisimai corpus ($REBOUND_CORPUS, else
//! ../shared/corpus beside the checkout), one core:
//! `CARGO_TARGET_DIR=... cargo bench -p rebound-dsn --bench parse`.
//! Falls back to the hand-written test messages when the corpus is absent.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rebound_dsn::{ParseOptions, input, parse_with};

fn messages() -> Vec<Vec<u8>> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("REBOUND_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| here.join("../../../shared/corpus"))
        .join("set-of-emails");
    let roots = if corpus.is_dir() {
        vec![corpus.join("bsd"), corpus.join("not")]
    } else {
        vec![here.join("tests/data")]
    };
    input::walk(&roots).filter_map(Result::ok).map(|m| m.bytes).collect()
}

fn bench(c: &mut Criterion) {
    let msgs = messages();
    let opts = ParseOptions::default();
    let mut g = c.benchmark_group("corpus");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.sample_size(30);
    g.bench_function("parse", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for m in &msgs {
                if parse_with(std::hint::black_box(m), &opts).report().is_some() {
                    n += 1;
                }
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
