//! `rebound export --format csv|json [--since DATE] [--campaign ID] [--output FILE]`:
//! bounces streamed page by page (keyset on id, as the API's CSV export), so
//! memory stays flat however many there are; a progress bar on a terminal.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rebound_store::{Bounce, BounceFilter, BounceQuery, Pagination, PerPage};

use crate::cli::{ExportArgs, ExportFormat};
use crate::config::{FileConfig, database, open_store};

/// Rows per page read from the database.
const PAGE: u32 = 1000;

pub async fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let file = FileConfig::load(args.db.config.as_deref())?;
    let db = database(&args.db, &file)?;
    let store = open_store(&db).await?;
    let filter = BounceFilter { campaign_id: args.campaign, ..Default::default() };

    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(out);
    let bar = progress(&store, &filter, args.output.is_some()).await?;
    let mut writer = Writer::new(args.format, &mut out)?;
    let mut after = 0i64;
    let mut written = 0u64;
    loop {
        let rows = store.bounces_after(&filter, after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        bar.inc(rows.len() as u64);
        for b in rows.iter().filter(|b| since.is_none_or(|s| b.created_at >= s)) {
            writer.row(b)?;
            written += 1;
        }
        if rows.len() < PAGE as usize {
            break;
        }
    }
    writer.finish()?;
    out.flush()?;
    bar.finish_and_clear();
    if let Some(p) = &args.output {
        eprintln!("exported {written} bounces to {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A date (`2026-01-31`, midnight UTC) or an RFC 3339 time.
fn parse_since(s: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("--since {s:?}: expected YYYY-MM-DD or an RFC 3339 time"))?;
    Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default())
}

/// A bar over the matching rows, on stderr, when stderr is a terminal (or
/// the output is a file and stderr a terminal: stdout output keeps stderr free).
async fn progress(
    store: &std::sync::Arc<dyn rebound_store::Store>,
    filter: &BounceFilter,
    to_file: bool,
) -> anyhow::Result<ProgressBar> {
    if !std::io::stderr().is_terminal() || (!to_file && std::io::stdout().is_terminal()) {
        return Ok(ProgressBar::hidden());
    }
    let q = BounceQuery {
        filter: filter.clone(),
        pagination: Pagination { page: 1, per_page: PerPage::Count(1) },
        ..Default::default()
    };
    let total = store.query_bounces(&q).await?.total.max(0) as u64;
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} bounces {per_sec} {eta}") {
        bar.set_style(style);
    }
    Ok(bar)
}

enum Writer<'a, W: Write> {
    Csv(Box<csv::Writer<&'a mut W>>),
    Json { out: &'a mut W, first: bool },
}

impl<'a, W: Write> Writer<'a, W> {
    fn new(format: ExportFormat, out: &'a mut W) -> anyhow::Result<Self> {
        Ok(match format {
            ExportFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(Bounce::CSV_HEADER)?;
                Writer::Csv(Box::new(w))
            }
            ExportFormat::Json => {
                out.write_all(b"[")?;
                Writer::Json { out, first: true }
            }
        })
    }

    fn row(&mut self, b: &Bounce) -> anyhow::Result<()> {
        match self {
            Writer::Csv(w) => w.write_record(b.csv_record())?,
            // One object per line inside the array, the shape of GET /api/bounces results.
            Writer::Json { out, first } => {
                out.write_all(if *first { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut **out, b)?;
                *first = false;
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Writer::Csv(mut w) => w.flush()?,
            Writer::Json { out, .. } => out.write_all(b"\n]\n")?,
        }
        Ok(())
    }
}
