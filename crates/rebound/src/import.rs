//! `rebound import subscribers.csv --list NAME`: listmonk's subscriber CSV
//! (a header row naming the columns `email`, `name`, `attributes`; the
//! attributes a JSON object). Bad rows are reported with their line number
//! and skipped; the good ones go in ONE transaction, so a database error
//! leaves nothing half-imported.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rebound_core::EmailAddress;
use rebound_store::ImportRow;
use serde_json::Value;

use crate::cli::ImportArgs;
use crate::config::{FileConfig, database, open_store};

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(args.db.config.as_deref())?;
    let db = database(&args.db, &file)?;
    anyhow::ensure!(
        db.mode == rebound_store::Mode::Own,
        "rebound runs as listmonk's companion on this database, and listmonk owns its subscribers: \
         import them with listmonk (Subscribers → Import)"
    );
    let text = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let (rows, bad) = read_csv(&text)?;
    for b in &bad {
        eprintln!("{}:{}: skipped: {}", args.file.display(), b.line, b.reason);
    }
    let store = open_store(&db).await?;

    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(rows.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} subscribers {per_sec} {eta}") {
        bar.set_style(style);
    }
    let b = bar.clone();
    let report = store
        .import_subscribers(&args.list, &rows, &move |n| b.set_position(n))
        .await
        .context("the import failed and was rolled back: nothing was imported")?;
    bar.finish_and_clear();
    println!(
        "imported into list {:?} (id {}{}): {} new subscribers, {} already there, {} rows skipped",
        args.list,
        report.list_id,
        if report.list_created { ", created" } else { "" },
        report.created,
        report.existing,
        bad.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads the CSV: the valid rows, and the bad ones with their line numbers.
/// A file that cannot be read as CSV at all (no header) is an error.
pub fn read_csv(input: &[u8]) -> anyhow::Result<(Vec<ImportRow>, Vec<BadRow>)> {
    let mut r = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let headers = r.headers().context("reading the CSV header")?.clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let email_col = col("email")
        .context("the CSV header has no \"email\" column (listmonk's columns: email, name, attributes)")?;
    let (name_col, attr_col) = (col("name"), col("attributes"));
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = r.position().line();
        match r.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                bad.push(BadRow { line, reason: format!("not valid CSV: {e}") });
                continue;
            }
        }
        let line = record.position().map(|p| start_line(input, p)).unwrap_or(line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() > headers.len() {
            bad.push(BadRow {
                line,
                reason: format!("{} fields, the header has {}", record.len(), headers.len()),
            });
            continue;
        }
        let email = match EmailAddress::parse(record.get(email_col).unwrap_or("")) {
            Ok(e) => e,
            Err(e) => {
                bad.push(BadRow { line, reason: format!("invalid email: {e}") });
                continue;
            }
        };
        let attribs = match attr_col.and_then(|c| record.get(c)).filter(|a| !a.is_empty()) {
            None => Value::Object(Default::default()),
            Some(a) => match serde_json::from_str::<Value>(a) {
                Ok(v @ Value::Object(_)) => v,
                _ => {
                    bad.push(BadRow { line, reason: "attributes is not a JSON object".into() });
                    continue;
                }
            },
        };
        let key = email.as_str().to_ascii_lowercase();
        if let Some(first) = seen.get(&key) {
            bad.push(BadRow { line, reason: format!("{email} is already on line {first}") });
            continue;
        }
        seen.insert(key, line);
        let name = name_col.and_then(|c| record.get(c)).unwrap_or("").to_string();
        rows.push(ImportRow { email, name, attribs });
    }
    Ok((rows, bad))
}

/// The line a record starts on: the reader counts from the end of the
/// previous record, so blank lines before it are stepped over here.
fn start_line(input: &[u8], p: &csv::Position) -> u64 {
    let at = usize::try_from(p.byte()).unwrap_or(usize::MAX).min(input.len());
    let skipped =
        input[at..].iter().take_while(|b| matches!(b, b'\r' | b'\n')).filter(|b| **b == b'\n').count();
    p.line() + skipped as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_reported_with_their_line_and_skipped() {
        let csv = "email,name,attributes\n\
                   a@example.com,Ann,\"{\"\"city\"\": \"\"Oslo\"\"}\"\n\
                   not-an-address,Bob,{}\n\
                   \n\
                   c@example.com,Cy,[1]\n\
                   A@Example.com,Ann again,{}\n\
                   d@example.com,Di,{},extra\n\
                   e@example.com\n";
        let (rows, bad) = read_csv(csv.as_bytes()).unwrap();
        let emails: Vec<&str> = rows.iter().map(|r| r.email.as_str()).collect();
        assert_eq!(emails, ["a@example.com", "e@example.com"]);
        assert_eq!(rows[0].attribs["city"], "Oslo");
        assert_eq!(rows[1].name, "");
        let lines: Vec<u64> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [3, 5, 6, 7], "{bad:?}");
        assert!(bad[0].reason.contains("invalid email"), "{bad:?}");
        assert!(bad[1].reason.contains("JSON object"), "{bad:?}");
        assert!(bad[2].reason.contains("already on line 2"), "{bad:?}");
        assert!(bad[3].reason.contains("4 fields"), "{bad:?}");
    }

    #[test]
    fn a_file_without_an_email_column_is_refused() {
        assert!(read_csv("name\nx\n".as_bytes()).is_err());
    }
}
