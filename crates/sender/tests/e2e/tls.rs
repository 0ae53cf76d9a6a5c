//! The sender over TLS to a real Postfix: STARTTLS on one smtpd port,
//! implicit TLS (`smtpd_tls_wrappermode`, SMTPS) on another, with a
//! self-signed certificate. Verified TLS refuses it; tls_skip_verify
//! accepts it, and Postfix logs the TLS session.

use std::time::Duration;

use rebound_core::Settings;
use rebound_core::settings::{SmtpServer, SmtpTls};
use rebound_sender::{CampaignContent, DeliveryResult, Recipient, SendError, Sender, SenderOptions};
use uuid::Uuid;

use crate::postfix::{Postfix, Spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_implicit_tls_reach_postfix() {
    let certs = tempfile::tempdir().unwrap();
    crate::dovecot::certificate(certs.path());
    let spec = Spec {
        ports: 2,
        main: format!(
            "myhostname = mx.tls.test\nrelay_domains = tls.test\ntransport_maps = texthash:{{dir}}/conf/transport\n\
             smtpd_tls_cert_file = {c}/cert.pem\nsmtpd_tls_key_file = {c}/key.pem\nsmtpd_tls_security_level = may\n\
             smtpd_tls_loglevel = 1",
            c = certs.path().display()
        ),
        services: "127.0.0.1:{port0} inet n - n - - smtpd\n\
                   127.0.0.1:{port1} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n\
                   tlsmgr unix - - n 1000? 1 tlsmgr"
            .into(),
        files: vec![("transport", "tls.test discard:\n".into())],
    };
    let mut postfix = Postfix::start("tls", spec);
    let sender =
        Sender::new(SenderOptions { io_timeout: Duration::from_secs(15), retry_delay: Duration::ZERO });
    let campaign = CampaignContent {
        uuid: Uuid::new_v4(),
        subject: "TLS".into(),
        from_email: "news@site.test".into(),
        body: "Hello".into(),
        content_type: "plain".into(),
        headers: vec![],
    };
    let to = Recipient { uuid: Uuid::new_v4(), email: "reader@tls.test".into(), name: String::new() };
    for (tls_type, port) in [(SmtpTls::StartTls, postfix.ports[0]), (SmtpTls::Tls, postfix.ports[1])] {
        let server = |skip| SmtpServer {
            uuid: Some(Uuid::new_v4()),
            host: "127.0.0.1".into(),
            port,
            tls_type,
            tls_skip_verify: skip,
            max_msg_retries: 0,
            ..SmtpServer::default()
        };
        let verified = Settings { smtp: vec![server(false)], ..Settings::default() };
        let d = sender.send(&verified, &campaign, &to).await;
        let DeliveryResult::Failed { error } = &d.result else {
            panic!("{tls_type:?}: a self-signed certificate must not verify: {:?}", d.result)
        };
        assert!(
            matches!(error, SendError::Tls { .. } | SendError::Connect { .. })
                && error.to_string().contains("certificate"),
            "{tls_type:?}: {error}"
        );
        let skipping = Settings { smtp: vec![server(true)], ..Settings::default() };
        let d = sender.send(&skipping, &campaign, &to).await;
        assert!(
            matches!(d.result, DeliveryResult::Accepted { .. }),
            "{tls_type:?}: {:?}\n{}",
            d.result,
            postfix.log()
        );
    }
    let log = postfix.log();
    assert!(log.matches("TLS connection established").count() >= 2, "{log}");
    postfix.stop();
}
