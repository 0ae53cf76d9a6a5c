//! Adapter tests, one module per provider, sharing the helpers in `support`.
//! Every test builds its own signed payloads with its own keys; fixed test
//! vectors (payloads with known-good signatures) are checked in each
//! provider's module. The schemes are described in docs/providers.md.

mod support;

mod azure;
mod brevo;
mod elasticemail;
mod forwardemail;
mod lettermint;
mod mailersend;
mod mailgun;
mod mailjet;
mod mandrill;
mod mapper;
mod postal;
mod postmark;
mod resend;
mod sendgrid;
mod ses;
mod ses_eventbridge;
mod smtp2go;
mod sparkpost;
mod zeptomail;

#[test]
fn names_cover_every_module() {
    assert_eq!(
        rebound_providers::Providers::names(),
        &[
            "ses",
            "sendgrid",
            "postmark",
            "forwardemail",
            "azure",
            "lettermint",
            "mailgun",
            "resend",
            "brevo",
            "mailjet",
            "sparkpost",
            "postal",
            "mailersend",
            "smtp2go",
            "zeptomail",
            "elasticemail",
            "mandrill",
            "ses_eventbridge"
        ]
    );
}

/// Every built-in name is reserved: no mapped provider can record under it.
#[test]
fn built_in_names_are_reserved_for_mapped_providers() {
    for name in rebound_providers::Providers::names() {
        assert!(rebound_core::mapped::RESERVED_NAMES.contains(name), "{name}");
    }
}

#[test]
fn unknown_provider_is_404() {
    let r = support::run("mandrillx", &[], b"{}", support::now(), &support::settings());
    assert_eq!(r, Err(rebound_providers::ProviderError::UnknownProvider("mandrillx".into())));
}

#[test]
fn reqwest_fetch_builds_and_refuses_plain_http() {
    use rebound_providers::HttpFetch;
    let f = rebound_providers::ReqwestFetch::new().expect("client builds without a default crypto provider");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // https_only: refused before any connection is attempted.
    let err = rt.block_on(f.get(&url::Url::parse("http://127.0.0.1:9/x").unwrap())).unwrap_err();
    assert!(err.contains("127.0.0.1"), "{err}");
}
