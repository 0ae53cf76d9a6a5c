//! Header names rebound writes into outgoing mail and looks for in bounces.
//! They are listmonk's, so bounces of mail sent by listmonk are attributed too.

pub const X_LISTMONK_SUBSCRIBER: &str = "X-Listmonk-Subscriber";
pub const X_LISTMONK_CAMPAIGN: &str = "X-Listmonk-Campaign";
