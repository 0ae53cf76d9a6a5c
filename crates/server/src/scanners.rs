//! The bounce-mailbox scanners inside the server: they write through the
//! server's intake like every other source (so a scan's commit shares fsyncs
//! with webhook traffic).

use std::sync::Arc;

use rebound_intake::Intake;
use rebound_mailbox::{ScanOptions, Scanner, Scanners, SupervisorConfig};
use rebound_store::Store;

use crate::settings::SettingsHandle;

/// Starts the scanners; they follow the live settings until
/// [`Scanners::shutdown`].
pub fn start(store: Arc<dyn Store>, intake: Intake, settings: &SettingsHandle) -> Scanners {
    let scanner = Scanner::new(store, intake, ScanOptions::default());
    Scanners::start(scanner, settings.subscribe(), SupervisorConfig::default())
}
