//! Why a recipient got its reason and its type: the evidence that decided
//! each, kept with the verdict so that a person can check it ("status 5.1.1
//! → userunknown → hard") and a program can store or show it.

use serde::{Deserialize, Serialize};

use crate::{BounceType, Reason};

/// The kind of evidence that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The recipient's enhanced status code (RFC 3463).
    Status,
    /// The recipient's SMTP reply code (RFC 5321 §4.2).
    ReplyCode,
    /// A phrase of the recipient's own diagnostic (the innermost answer
    /// when a server relayed another's).
    Diagnostic,
    /// A phrase of the notice around the recipients, when the recipient's
    /// own evidence names no cause.
    Notice,
    /// A phrase of the notice's Subject.
    Subject,
    /// A sending MTA's own classification field (PowerMTA's bounce category).
    VendorCategory,
    /// A provider's documented error code inside the diagnostic.
    VendorCode,
    /// The SMTP command that was refused (a refusal of MAIL FROM is about
    /// the sender).
    Command,
    /// The reporting service's own verdict (Amazon SES's bounceType).
    Provider,
    /// The delivery was given up after temporary failures.
    Expiry,
    /// A delay warning: the message is still queued.
    Delay,
    /// An abuse report (RFC 5965).
    Feedback,
    /// The type follows from the reason: hard only when the address itself
    /// can never work.
    Reason,
    /// listmonk's rule (`bounce.classification = permanent`): the status
    /// class decides, 5 is hard.
    PermanentRule,
    /// Nothing said anything.
    Nothing,
}

/// One decision and what it rested on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub by: Basis,
    /// The evidence itself: "5.1.1", "550", the phrase that matched.
    pub evidence: String,
}

impl Step {
    pub fn new(by: Basis, evidence: impl Into<String>) -> Self {
        Step { by, evidence: evidence.into() }
    }

    /// "status 5.1.1", "text 'mailbox full'".
    pub fn describe(&self) -> String {
        let e = &self.evidence;
        match self.by {
            Basis::Status => format!("status {e}"),
            Basis::ReplyCode => format!("reply {e}"),
            Basis::Diagnostic => format!("text '{e}'"),
            Basis::Notice => format!("notice text '{e}'"),
            Basis::Subject => format!("subject '{e}'"),
            Basis::VendorCategory => format!("bounce category {e}"),
            Basis::VendorCode => format!("provider code '{e}'"),
            Basis::Command => format!("refused at {e}"),
            Basis::Provider => e.clone(),
            Basis::Expiry => format!("given up after temporary failures ({e})"),
            Basis::Delay => format!("delay warning ({e})"),
            Basis::Feedback => format!("feedback report ({e})"),
            Basis::Reason => e.clone(),
            Basis::PermanentRule => format!("status class {e} (classification = permanent)"),
            Basis::Nothing => "no evidence".to_string(),
        }
    }
}

/// The explanation of one recipient's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// What decided the reason.
    pub reason: Step,
    /// What decided the type.
    #[serde(rename = "type")]
    pub bounce_type: Step,
    /// Both in one line, e.g. "status 5.1.1 → userunknown → hard" or
    /// "text 'greylisted' → expired; status 4.7.1 is temporary → soft".
    pub summary: String,
}

impl Explanation {
    pub fn new(reason: Reason, reason_step: Step, bounce_type: BounceType, type_step: Step) -> Self {
        let summary = match type_step.by {
            Basis::Reason => format!("{} → {reason} → {bounce_type}", reason_step.describe()),
            _ if type_step == reason_step => format!("{} → {reason} → {bounce_type}", reason_step.describe()),
            _ => format!("{} → {reason}; {} → {bounce_type}", reason_step.describe(), type_step.describe()),
        };
        Explanation { reason: reason_step, bounce_type: type_step, summary }
    }
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}
