//! `cargo run --example parse -- PATH...`: what `rebound parse` prints, for
//! trying the parser without the binary crate.

use std::io::Write;

use rebound_dsn::{Classification, ParseOptions, input, output::JsonLine, parse_with};

fn main() {
    let mut opts = ParseOptions::default();
    let mut paths = Vec::new();
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--permanent" => opts.classification = Classification::Permanent,
            "--include-delayed" => opts.report_delays = true,
            _ => paths.push(a),
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for item in input::walk(&paths) {
        match item {
            Ok(m) => {
                let parsed = parse_with(&m.bytes, &opts);
                let _ = writeln!(out, "{}", JsonLine::new(m.path, m.index, &parsed).to_json());
            }
            Err(e) => eprintln!("{e}"),
        }
    }
}
