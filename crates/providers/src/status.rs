//! What the status API and the settings page say about each provider: is
//! it on, and would its settings refuse every request (no topic allowed, no
//! credentials), so an operator sees why a provider's webhooks all fail
//! without reading the logs.

use rebound_core::Settings;
use serde::Serialize;

use crate::{NAMES, ses};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderStatus {
    /// As in `/webhooks/service/{name}` (`custom/{name}` for a mapped provider).
    pub name: String,
    pub enabled: bool,
    /// The webhook's path (the host is the operator's).
    pub path: String,
    /// Why every request to the webhook is refused with these settings, when
    /// it is enabled and would be.
    pub problem: Option<String>,
}

/// Every provider, in the order of [`crate::Providers::names`], then the
/// mapped providers (`bounce.mapped_providers`, whose settings were
/// validated when saved).
pub fn statuses(settings: &Settings) -> Vec<ProviderStatus> {
    let built_in = NAMES.iter().map(|&name| {
        let (enabled, problem) = check(name, settings);
        ProviderStatus {
            name: name.to_string(),
            enabled,
            path: format!("/webhooks/service/{name}"),
            problem: problem.filter(|_| enabled),
        }
    });
    let mapped = settings.mapped_providers.iter().map(|p| ProviderStatus {
        name: format!("custom/{}", p.name),
        enabled: p.enabled,
        path: format!("/webhooks/service/custom/{}", p.name),
        problem: None,
    });
    built_in.chain(mapped).collect()
}

/// Whether `name` is enabled, and what its settings lack.
fn check(name: &str, s: &Settings) -> (bool, Option<String>) {
    let missing =
        |what: &str| Some(format!("{name} is enabled but has no {what}: every request is refused."));
    let basic = |p: &rebound_core::settings::BasicAuthProvider| {
        let none = p.password.expose().is_empty() && p.token.expose().is_empty();
        (p.enabled, if none { missing("password or token") } else { None })
    };
    let key = |p: &rebound_core::settings::KeyProvider| {
        (p.enabled, if p.key.expose().trim().is_empty() { missing("signing key") } else { None })
    };
    match name {
        "ses" => (s.ses_enabled, ses::topics_problem(&s.ses_topic_arns).map(str::to_string)),
        "sendgrid" => (
            s.sendgrid_enabled,
            s.sendgrid_key.expose().trim().is_empty().then(|| missing("verification key")).flatten(),
        ),
        "postmark" => basic(&s.postmark),
        "brevo" => basic(&s.brevo),
        "mailjet" => basic(&s.mailjet),
        "sparkpost" => basic(&s.sparkpost),
        "forwardemail" => key(&s.forwardemail),
        "lettermint" => key(&s.lettermint),
        "mailgun" => key(&s.mailgun),
        "resend" => key(&s.resend),
        "azure" => (
            s.azure.enabled,
            s.azure.shared_secret.expose().is_empty().then(|| missing("shared secret")).flatten(),
        ),
        "mailersend" => key(&s.mailersend),
        "zeptomail" => key(&s.zeptomail),
        "elasticemail" => key(&s.elasticemail),
        "smtp2go" => basic(&s.smtp2go),
        "mandrill" => (
            s.mandrill.enabled,
            if s.mandrill.key.expose().trim().is_empty() {
                missing("webhook key")
            } else if s.mandrill.url.trim().is_empty() {
                missing("webhook URL (the URL as entered in Mandrill, which it signs)")
            } else {
                None
            },
        ),
        "ses_eventbridge" => (
            s.ses_eventbridge.enabled,
            s.ses_eventbridge.key.expose().is_empty().then(|| missing("API key")).flatten(),
        ),
        "postal" => {
            (s.postal.enabled, s.postal.public_key.trim().is_empty().then(|| missing("public key")).flatten())
        }
        _ => (false, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: &Settings, name: &str) -> ProviderStatus {
        statuses(s).into_iter().find(|p| p.name == name).unwrap()
    }

    #[test]
    fn ses_without_a_topic_says_everything_is_refused() {
        let mut s = Settings { ses_enabled: true, ..Settings::default() };
        let p = status(&s, "ses");
        let problem = p.problem.unwrap();
        assert!(
            problem.contains("no topic ARN is allowed") && problem.contains("every notification"),
            "{problem}"
        );
        s.ses_topic_arns = vec!["arn:aws:sns:eu-west-1:111122223333:bounces".into()];
        assert_eq!(status(&s, "ses").problem, None);
        // Disabled: nothing to warn about.
        assert_eq!(status(&Settings::default(), "ses").problem, None);
    }

    #[test]
    fn providers_without_credentials_say_so() {
        let mut s = Settings::default();
        s.postmark.enabled = true;
        s.mailgun.enabled = true;
        assert!(status(&s, "postmark").problem.unwrap().contains("password or token"));
        assert!(status(&s, "mailgun").problem.unwrap().contains("signing key"));
        assert_eq!(statuses(&s).len(), NAMES.len());
    }
}
