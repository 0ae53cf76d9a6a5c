//! The live settings. Readers take a cheap snapshot; a PUT validates, saves
//! and publishes the new value, so changes take effect without a restart.
//! Other rebound instances on the same database notice the change by polling
//! the settings' version.

use std::sync::Arc;
use std::time::Duration;

use rebound_core::{ActionSemantics, BounceActions, Settings};
use rebound_store::Store;
use serde_json::{Map, Value};
use tokio::sync::{Mutex, watch};

use crate::error::{ApiError, ApiResult};
use crate::service::{ServiceError, ServiceResult};

#[derive(Clone)]
pub struct SettingsHandle {
    tx: Arc<watch::Sender<Arc<Settings>>>,
    write: Arc<Mutex<()>>,
    /// Companion mode: the actions have listmonk's record-bounce semantics,
    /// always (listmonk's own pages and SQL read the rows they leave).
    companion: bool,
}

/// In companion mode, `bounce.action_semantics` is "listmonk" whatever is stored.
fn constrained(mut settings: Settings, companion: bool) -> Settings {
    if companion {
        settings.action_semantics = ActionSemantics::Listmonk;
    }
    settings
}

/// The intake reads the actions at each commit: a PUT of the settings
/// applies to the next batch.
impl rebound_intake::ActionsSource for SettingsHandle {
    fn current(&self) -> BounceActions {
        self.get().bounce_actions()
    }
}

impl SettingsHandle {
    /// Loads settings, storing the defaults for keys not saved yet. The
    /// first time in companion mode, rebound's settings start as listmonk's
    /// `bounce.*` rows.
    pub async fn load(store: &dyn Store) -> ApiResult<SettingsHandle> {
        let companion = store.listmonk();
        let mut stored = store.load_settings().await?;
        if let (Some(listmonk), true) = (companion, stored.is_empty()) {
            stored = crate::companion::initial_settings(listmonk).await?;
        }
        let settings = Settings::from_map(&stored)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("the stored settings are invalid: {e}")))?;
        let mut settings = constrained(settings, companion.is_some());
        settings.assign_ids();
        let all = settings.to_map();
        let missing: std::collections::BTreeMap<_, _> = all
            .iter()
            .filter(|(k, v)| stored.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !missing.is_empty() {
            store.save_settings(&missing).await?;
        }
        if let Some(listmonk) = companion {
            crate::companion::warn_about_double_scanning(listmonk, &settings).await;
        }
        let (tx, _) = watch::channel(Arc::new(settings));
        Ok(SettingsHandle {
            tx: Arc::new(tx),
            write: Arc::new(Mutex::new(())),
            companion: companion.is_some(),
        })
    }

    pub fn get(&self) -> Arc<Settings> {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Settings>> {
        self.tx.subscribe()
    }

    /// Applies a PUT /api/settings body; only the keys that changed are
    /// written. A refused value is invalid at "settings"; the message names
    /// the setting by its path.
    pub async fn update(
        &self,
        store: &dyn Store,
        update: &Map<String, Value>,
    ) -> ServiceResult<Arc<Settings>> {
        let _guard = self.write.lock().await;
        let current = self.get();
        let next =
            current.apply_update(update).map_err(|e| ServiceError::invalid("settings", e.to_string()))?;
        if self.companion && next.action_semantics != ActionSemantics::Listmonk {
            return Err(ServiceError::invalid(
                "settings",
                "bounce.action_semantics is \"listmonk\" in companion mode: listmonk's pages and queries read \
                 the subscriber rows rebound's actions leave, so they follow listmonk's record-bounce",
            ));
        }
        let before = current.to_map();
        let changed: std::collections::BTreeMap<_, _> =
            next.to_map().into_iter().filter(|(k, v)| before.get(k) != Some(v)).collect();
        if !changed.is_empty() {
            store.save_settings(&changed).await?;
        }
        let next = Arc::new(next);
        self.tx.send_replace(next.clone());
        Ok(next)
    }

    /// Re-reads the database (another instance may have saved).
    pub async fn reload(&self, store: &dyn Store) -> ApiResult<()> {
        let _guard = self.write.lock().await;
        let stored = store.load_settings().await?;
        let next = constrained(Settings::from_map(&stored)?, self.companion);
        if *self.get() != next {
            tracing::info!("settings changed in the database; applying");
            self.tx.send_replace(Arc::new(next));
        }
        Ok(())
    }

    /// Polls the settings version every `every` (the task runs until aborted).
    pub fn watch_database(&self, store: Arc<dyn Store>, every: Duration) -> tokio::task::JoinHandle<()> {
        let handle = self.clone();
        tokio::spawn(async move {
            let mut seen = store.settings_version().await.ok().flatten();
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match store.settings_version().await {
                    Ok(v) if v != seen => {
                        seen = v;
                        if let Err(e) = handle.reload(store.as_ref()).await {
                            tracing::warn!(error = e.to_string(), "could not reload settings");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = e.to_string(), "could not check the settings version"),
                }
            }
        })
    }
}
