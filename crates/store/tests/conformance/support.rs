//! A migrated store on a fresh database, and the rows most tests start from,
//! created through the `Store` itself.

use std::sync::Arc;

use rebound_core::{Action, ActionRule, BounceActions, EmailAddress, SubscriberStatus};
use rebound_store::{
    Campaign, CampaignFields, List, NewList, NewSubscriber, NewUser, Store, Subscriber, User, UserType,
};
use rebound_testkit_db::{Backend, TestDb};
use serde_json::json;

pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub db: TestDb,
}

impl std::ops::Deref for Fixture {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        self.store.as_ref()
    }
}

impl Fixture {
    pub async fn new(backend: Backend) -> Fixture {
        let db = TestDb::new(backend).await;
        let store = rebound_store::connect(&db.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        assert_eq!(
            store.backend(),
            match backend {
                Backend::Sqlite => rebound_store::Backend::Sqlite,
                Backend::Postgres => rebound_store::Backend::Postgres,
            }
        );
        Fixture { store, db }
    }

    pub async fn subscriber(&self, email: &str, lists: &[i64]) -> Subscriber {
        self.subscriber_with(email, SubscriberStatus::Enabled, lists).await
    }

    /// A subscriber with confirmed (pre-confirmed) subscriptions to `lists`;
    /// a blocklisted one's are unsubscribed.
    pub async fn subscriber_with(&self, email: &str, status: SubscriberStatus, lists: &[i64]) -> Subscriber {
        self.store
            .create_subscriber(NewSubscriber {
                email: EmailAddress::parse(email).unwrap(),
                name: format!("Name of {email}"),
                attribs: json!({}),
                status,
                lists: lists.to_vec(),
                preconfirm: true,
            })
            .await
            .unwrap_or_else(|e| panic!("create subscriber {email}: {e}"))
    }

    /// A public single opt-in list.
    pub async fn list(&self, name: &str) -> List {
        self.list_with(name, "single").await
    }

    pub async fn list_with(&self, name: &str, optin: &str) -> List {
        self.store
            .create_list(NewList {
                name: name.to_string(),
                list_type: "public".into(),
                optin: optin.into(),
                status: "active".into(),
                tags: vec![],
                description: String::new(),
            })
            .await
            .unwrap_or_else(|e| panic!("create list {name}: {e}"))
    }

    pub async fn campaign(&self, name: &str) -> Campaign {
        self.campaign_on(name, &[]).await
    }

    pub async fn campaign_on(&self, name: &str, lists: &[i64]) -> Campaign {
        self.store
            .create_campaign(CampaignFields {
                name: name.to_string(),
                subject: name.to_string(),
                from_email: "news@example.com".into(),
                lists: lists.to_vec(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("create campaign {name}: {e}"))
    }

    pub async fn user(&self, username: &str, permissions: &[&str]) -> User {
        self.store
            .create_user(NewUser {
                username: username.to_string(),
                name: username.to_string(),
                user_type: UserType::User,
                password_hash: format!("$argon2id$not-a-real-hash-of-{username}"),
                permissions: permissions.iter().map(|p| p.to_string()).collect(),
            })
            .await
            .unwrap_or_else(|e| panic!("create user {username}: {e}"))
    }
}

/// Rules that never act, so a test can count freely.
pub fn counting_only() -> BounceActions {
    let rule = ActionRule::new(1000, Action::None);
    BounceActions { soft: rule.clone(), hard: rule.clone(), complaint: rule, semantics: Default::default() }
}

/// `rule` for hard bounces, counting only for the other types.
pub fn hard(rule: ActionRule) -> BounceActions {
    BounceActions { hard: rule, ..counting_only() }
}
