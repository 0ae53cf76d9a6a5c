//! rebound's sending side: campaign test sends over SMTP.
//!
//! * [`compose`]: the message (the SMTP server's and the campaign's custom
//!   headers, `X-Listmonk-Subscriber`, `X-Listmonk-Campaign`,
//!   `List-Unsubscribe`) and its envelope sender: the VERP address when
//!   `bounce.verp` is on, else the `Return-Path` custom header, else From.
//! * [`Sender`]: one transaction per message on pooled connections, one
//!   pool per `smtp` entry (plain, STARTTLS or implicit TLS; AUTH PLAIN or
//!   LOGIN; `max_conns`, `idle_timeout`, `wait_timeout`), following the
//!   live settings; retries as `max_msg_retries` says.
//! * [`send_test`]: listmonk's campaign test send; a refusal of RCPT TO or
//!   DATA is recorded as a bounce with source `smtp`, typed by the bounce
//!   parser's reason rules ([`rebound_dsn::classify_smtp_reply`]); a 4xx
//!   only when it persists through the retries, and then as soft.

pub mod compose;
mod sender;
mod smtp;
mod test_send;

pub use compose::{CampaignContent, ComposeError, Outgoing, Recipient};
pub use sender::{Delivery, DeliveryResult, Sender, SenderOptions};
pub use smtp::{Reply, SendError, Stage};
pub use test_send::{
    BounceRecord, CampaignOverrides, Outcome, RecipientResult, SOURCE, TestReport, TestSend, TestSendError,
    headers_of, rejection, send_test,
};
