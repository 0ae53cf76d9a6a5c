//! `rebound scan`: one scan of every enabled bounce mailbox, one after the
//! other, with a progress bar each; exits 1 when a mailbox failed. Uses the
//! same database as `rebound serve` and the same per-mailbox lease, so it
//! never scans a mailbox a running server is scanning.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rebound_core::Settings;
use rebound_intake::{Intake, IntakeConfig, Unobserved};
use rebound_mailbox::{MailboxConfig, Progress, ScanOptions, ScanReport, Scanner, StopSignal};

use crate::cli::ScanArgs;
use crate::config::{FileConfig, database, open_store};

pub async fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(args.db.config.as_deref())?;
    let db = database(&args.db, &file)?;
    let store = open_store(&db).await?;
    let settings = Settings::from_map(&store.load_settings().await?).context("reading the settings")?;
    if !settings.bounce_enabled && !args.force {
        anyhow::bail!("bounce processing is disabled (bounce.enabled is false); --force scans anyway");
    }
    let mailboxes: Vec<MailboxConfig> = settings
        .mailboxes
        .iter()
        .filter(|m| m.enabled)
        .map(MailboxConfig::new)
        .filter(|m| {
            args.mailbox.is_empty()
                || args.mailbox.iter().any(|u| u.eq_ignore_ascii_case(&m.uuid.to_string()))
        })
        .collect();
    if mailboxes.is_empty() {
        eprintln!("no enabled mailbox to scan (bounce.mailboxes)");
        return Ok(ExitCode::SUCCESS);
    }

    // The same intake as the server's, with one writer and the actions read above.
    let (intake, writers) = Intake::start(
        store.clone(),
        settings.bounce_actions(),
        IntakeConfig::default(),
        Arc::new(Unobserved),
    );
    let scanner = Scanner::new(store, intake, ScanOptions::default());
    let parse = rebound_mailbox::read_options(&settings);
    // Ctrl-C: finish the messages in hand (recorded, then deleted) and stop.
    let (stop_tx, stop) = StopSignal::new();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping after the messages in hand...");
            let _ = stop_tx.send(true);
        }
    });

    let bars = MultiProgress::new();
    let mut failed = 0;
    for mailbox in &mailboxes {
        let bar = bars.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(mailbox.label());
        bar.set_message("connecting");
        let report = scanner.scan(mailbox, &parse, &Bar(bar.clone()), &stop).await;
        bar.finish_with_message(if report.failed() { "failed" } else { "done" });
        println!("{}", summary(&report));
        if report.failed() {
            failed += 1;
        }
        if stop.is_set() {
            break;
        }
    }
    // Every chunk was durable before its messages were deleted; this only
    // lets the writer finish before the process exits.
    drop(scanner);
    for w in writers {
        w.await?;
    }
    if failed > 0 {
        eprintln!("rebound: {failed} of {} mailbox(es) failed", mailboxes.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn listed(&self, n: u64) {
        self.0.set_length(n);
        self.0.set_message("");
    }

    fn advanced(&self, n: u64) {
        self.0.inc(n);
    }
}

/// One line per mailbox for the terminal and for scripts.
fn summary(r: &ScanReport) -> String {
    let c = &r.counts;
    let outcome = match (&r.error, &r.skipped) {
        (Some(e), _) => format!("FAILED: {e}"),
        (None, Some(s)) => format!("skipped: {s}"),
        (None, None) => "ok".to_string(),
    };
    format!(
        "{} {outcome} seen={} recorded={} duplicates={} unmatched={} blocklisted={} not_bounces={} removed={} \
         left={} too_large={} deferred={} errors={} elapsed={:.1}s",
        r.label,
        c.seen,
        c.recorded,
        c.duplicates,
        c.unmatched,
        c.blocklisted,
        c.not_bounces,
        c.removed,
        c.left,
        c.too_large,
        c.deferred,
        c.errors,
        r.elapsed().as_secs_f64()
    )
}
