//! `rebound parse PATH...`: one JSON line per message, the format the
//! Sisimai corpus scorer reads (docs/parser.md). Each result says why it
//! got its reason and type: `"why": "status 5.1.1 → userunknown → hard"`,
//! and the same as data under `"explanation"`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use rebound_dsn::output::JsonLine;
use rebound_dsn::{Classification, ParseOptions, input, parse_with};

use crate::cli::ParseArgs;

/// Below this many files a progress bar is noise.
const PROGRESS_MIN_FILES: u64 = 20;

pub fn run(args: ParseArgs) -> anyhow::Result<ExitCode> {
    let opts = ParseOptions {
        classification: if args.permanent { Classification::Permanent } else { Classification::Reason },
        report_delays: args.include_delayed,
        verp_template: args.verp_template.clone(),
        ..ParseOptions::default()
    };
    let progress = progress_bar(&args.paths);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut failed, mut last_file) = (false, String::new());
    for item in input::walk(&args.paths) {
        match item {
            Ok(m) => {
                if m.path != last_file {
                    progress.inc(1);
                    last_file.clone_from(&m.path);
                }
                let parsed = parse_with(&m.bytes, &opts);
                writeln!(out, "{}", JsonLine::new(m.path, m.index, &parsed).to_json())?;
            }
            Err(e) => {
                failed = true;
                progress.suspend(|| eprintln!("rebound parse: {e}"));
            }
        }
    }
    out.flush()?;
    progress.finish_and_clear();
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// A bar over the files to read, when stderr is a terminal and there are many.
fn progress_bar(paths: &[std::path::PathBuf]) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let total: u64 = paths.iter().map(|p| count_files(p)).sum();
    if total < PROGRESS_MIN_FILES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec} {eta}") {
        bar.set_style(style);
    }
    bar
}

fn count_files(path: &Path) -> u64 {
    match std::fs::read_dir(path) {
        Ok(entries) => entries.flatten().map(|e| count_files(&e.path())).sum(),
        Err(_) => u64::from(path.is_file()),
    }
}
