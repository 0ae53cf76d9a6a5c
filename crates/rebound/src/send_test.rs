//! `rebound send-test --campaign ID --to EMAIL...`: POST
//! /api/campaigns/{id}/test from the command line, on the same database
//! and live settings (`smtp`, `bounce.verp`, `bounce.actions`). Each
//! refusal of a recipient is recorded as a bounce (source "smtp") while
//! bounce.enabled is on. Prints one line per recipient (`--json`: the
//! whole report); exits 1 when a message could not be handed over at all.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use rebound_core::Settings;
use rebound_intake::{Intake, IntakeConfig, Unobserved};
use rebound_sender::{
    CampaignOverrides, DeliveryResult, Outcome, RecipientResult, Sender, SenderOptions, TestSend, send_test,
};

use crate::cli::SendTestArgs;
use crate::config::{FileConfig, database, open_store};

pub async fn run(args: SendTestArgs) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(args.db.config.as_deref())?;
    let db = database(&args.db, &file)?;
    let store = open_store(&db).await?;
    let settings = Settings::from_map(&store.load_settings().await?).context("reading the settings")?;
    if !settings.bounce_enabled {
        eprintln!("note: bounce.enabled is false; refusals are reported but not recorded");
    }

    let sender = Sender::new(SenderOptions::default());
    // The same intake as the server's, with one writer and the actions read above.
    let (intake, writers) = Intake::start(
        store.clone(),
        settings.bounce_actions(),
        IntakeConfig::default(),
        Arc::new(Unobserved),
    );
    let req = TestSend {
        campaign_id: args.campaign,
        emails: args.to,
        overrides: CampaignOverrides { subject: args.subject, from_email: args.from, ..Default::default() },
    };
    let report = send_test(store.as_ref(), &sender, &settings, &intake, req).await;
    drop(intake);
    for w in writers {
        w.await?;
    }
    let report = report?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for r in &report.results {
            println!("{}", line(r));
        }
    }
    let failed = report.failures().count();
    if failed > 0 {
        eprintln!("rebound: {failed} of {} message(s) could not be sent", report.results.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per recipient, for the terminal and for scripts.
fn line(r: &RecipientResult) -> String {
    let d = &r.delivery;
    let how = format!(
        "via {} from <{}>, {} tr{}",
        d.server,
        d.envelope_from,
        d.attempts,
        if d.attempts == 1 { "y" } else { "ies" }
    );
    match (&r.outcome, &d.result, &r.bounce) {
        (Outcome::Sent, DeliveryResult::Accepted { reply }, _) => format!("{} sent {how}: {reply}", r.email),
        (Outcome::Bounced, DeliveryResult::Rejected { stage, reply }, Some(b)) => format!(
            "{} bounced {} ({}{}) at {} {how}: {reply}; {}",
            r.email,
            b.bounce_type,
            b.reason,
            b.status.as_deref().map(|s| format!(" {s}")).unwrap_or_default(),
            stage.as_str(),
            b.recorded
        ),
        (_, DeliveryResult::Failed { error }, _) => format!("{} FAILED: {error}", r.email),
        _ => format!("{} {:?}", r.email, r.outcome),
    }
}
