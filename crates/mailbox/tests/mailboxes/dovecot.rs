//! A real Dovecot (Debian's dovecot-core, dovecot-pop3d, dovecot-imapd) per
//! test: a throwaway config, passwd-file and Maildir in a temp dir, a
//! self-signed certificate made with openssl, POP3, POP3S, IMAP and IMAPS on
//! ephemeral loopback ports. A missing Dovecot FAILS the test (scripts/test-deps
//! installs it); it never skips.

use std::net::TcpStream;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rebound_core::Secret;
use rebound_core::settings::{AfterProcessing, MailboxAuth, MailboxKind, MailboxSettings};

pub const USER: &str = "bounces";
pub const PASSWORD: &str = "bounce-secret";
/// Dovecot refuses to give mail access to root; the Maildir belongs to nobody.
const MAIL_UID: u32 = 65534;

#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub pop3: u16,
    pub pop3s: u16,
    pub imap: u16,
    pub imaps: u16,
}

/// How a test connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    StartTls,
    Tls,
}

pub struct Dovecot {
    dir: tempfile::TempDir,
    pub ports: Ports,
    child: Option<Child>,
    /// OAuth2 logins only (XOAUTH2, OAUTHBEARER), the tokens checked at
    /// this RFC 7662 introspection URL.
    oauth2_introspection: Option<String>,
}

impl Dovecot {
    pub fn start() -> Dovecot {
        Self::start_with(None)
    }

    /// A Dovecot whose logins are OAuth2 bearer tokens (SASL XOAUTH2 and
    /// OAUTHBEARER), each checked by POSTing it to `introspection_url`
    /// (Dovecot's oauth2 passdb; the answer must say `"active": true` and
    /// `"username": "bounces"`).
    pub fn start_oauth2(introspection_url: &str) -> Dovecot {
        Self::start_with(Some(introspection_url.to_string()))
    }

    fn start_with(oauth2_introspection: Option<String>) -> Dovecot {
        let binary = Command::new("dovecot").arg("--version").output();
        match binary {
            Ok(o) if o.status.success() => {}
            _ => panic!(
                "Dovecot is required for the mailbox tests and was not found: \
                 install dovecot-core dovecot-pop3d dovecot-imapd (scripts/test-deps does)"
            ),
        }
        let dir = tempfile::Builder::new().prefix("rebound-dovecot-").tempdir().expect("temp dir");
        // Dovecot's unprivileged login processes must reach the sockets.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let maildir = dir.path().join("mail").join(USER).join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
        }
        for p in [dir.path().join("mail"), dir.path().join("mail").join(USER), maildir.clone()] {
            chown(&p, Some(MAIL_UID), Some(MAIL_UID)).expect("chown maildir");
        }
        for sub in ["cur", "new", "tmp"] {
            chown(maildir.join(sub), Some(MAIL_UID), Some(MAIL_UID)).expect("chown maildir");
        }
        std::fs::write(dir.path().join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).expect("passwd");
        certificate(dir.path());
        let mut d = Dovecot {
            dir,
            ports: Ports { pop3: 0, pop3s: 0, imap: 0, imaps: 0 },
            child: None,
            oauth2_introspection,
        };
        // Ephemeral ports are picked by binding port 0; another process may
        // take one before Dovecot binds it, so try a few times.
        for attempt in 1..=3 {
            d.ports = free_ports();
            d.write_config();
            match d.spawn() {
                Ok(()) => return d,
                Err(e) if attempt < 3 => eprintln!("dovecot did not start ({e}); retrying with other ports"),
                Err(e) => panic!("dovecot did not start: {e}\n{}", d.log()),
            }
        }
        unreachable!()
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    fn write_config(&self) {
        let d = self.dir.path().display();
        let Ports { pop3, pop3s, imap, imaps } = self.ports;
        let (mechanisms, passdb) = match &self.oauth2_introspection {
            None => {
                ("plain login".to_string(), format!("driver = passwd-file\n  args = scheme=PLAIN {d}/passwd"))
            }
            Some(url) => {
                let ext = self.dir.path().join("oauth2.conf.ext");
                std::fs::write(
                    &ext,
                    format!(
                        "introspection_mode = post\nintrospection_url = {url}\nusername_attribute = username\n\
                         active_attribute = active\nactive_value = true\n"
                    ),
                )
                .expect("oauth2.conf.ext");
                (
                    "xoauth2 oauthbearer".to_string(),
                    format!(
                        "driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}",
                        ext.display()
                    ),
                )
            }
        };
        let conf = format!(
            r#"# Throwaway Dovecot for rebound's tests.
base_dir = {d}/run
state_dir = {d}/state
instance_name = rebound-test-{pop3}
log_path = {d}/dovecot.log
protocols = pop3 imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
mail_uid = {MAIL_UID}
mail_gid = {MAIL_UID}
mail_location = maildir:{d}/mail/%u/Maildir
mail_max_userip_connections = 50
passdb {{
  {passdb}
}}
userdb {{
  driver = static
  args = home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
"#
        );
        std::fs::write(self.config_path(), conf).expect("dovecot.conf");
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("stderr.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(self.config_path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run dovecot: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                return Err(format!("dovecot exited with {status}: {}", self.stderr()));
            }
            let p = self.ports;
            if [p.pop3, p.pop3s, p.imap, p.imaps]
                .iter()
                .all(|port| TcpStream::connect(("127.0.0.1", *port)).is_ok())
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err("dovecot did not listen within 15 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops Dovecot at once, as a crash or a cut network would: the master
    /// and every process it started (logins, the POP3/IMAP sessions) are
    /// killed, so open connections drop in the middle of whatever they do.
    /// (`dovecot stop` leaves running sessions alone until they log out.)
    pub fn stop(&mut self) {
        let Some(mut master) = self.child.take() else { return };
        let family = descendants(master.id());
        let _ = master.kill();
        let _ = master.wait();
        if !family.is_empty() {
            let _ = Command::new("kill").arg("-KILL").args(family.iter().map(|p| p.to_string())).output();
        }
        // The ports are free once the processes are gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while family.iter().any(|p| Path::new(&format!("/proc/{p}")).exists()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts Dovecot again on the same ports and Maildir.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("dovecot restart: {e}; retrying");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("dovecot did not restart: {e}\n{}", self.log()),
            }
        }
    }

    fn kill(&mut self) {
        self.stop();
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail").join(USER).join("Maildir")
    }

    /// Delivers a message as an MTA does: written in tmp/, renamed into new/.
    pub fn deliver(&self, raw: &[u8]) -> PathBuf {
        self.deliver_to(&self.maildir(), raw)
    }

    fn deliver_to(&self, maildir: &Path, raw: &[u8]) -> PathBuf {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{}.M{}P{}.rebound-test",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            std::process::id()
        );
        let tmp = maildir.join("tmp").join(&name);
        std::fs::write(&tmp, raw).expect("write message");
        chown(&tmp, Some(MAIL_UID), Some(MAIL_UID)).expect("chown message");
        let dest = maildir.join("new").join(&name);
        std::fs::rename(&tmp, &dest).expect("deliver message");
        dest
    }

    /// The messages in the folder (`None`: INBOX; else e.g. ".Processed").
    pub fn messages_in(&self, folder: Option<&str>) -> Vec<Vec<u8>> {
        let base = match folder {
            None => self.maildir(),
            Some(f) => self.maildir().join(f),
        };
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(base.join(sub)) else { continue };
            let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            paths.sort();
            for p in paths {
                out.push(std::fs::read(&p).expect("read message"));
            }
        }
        out
    }

    pub fn message_count(&self) -> usize {
        self.messages_in(None).len()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// A mailbox entry pointing at this Dovecot.
    pub fn mailbox(&self, kind: MailboxKind, mode: Mode) -> MailboxSettings {
        let port = match (kind, mode) {
            (MailboxKind::Pop, Mode::Tls) => self.ports.pop3s,
            (MailboxKind::Pop, _) => self.ports.pop3,
            (MailboxKind::Imap, Mode::Tls) => self.ports.imaps,
            (MailboxKind::Imap, _) => self.ports.imap,
        };
        MailboxSettings {
            uuid: Some(uuid::Uuid::new_v4()),
            enabled: true,
            kind,
            host: "127.0.0.1".into(),
            port,
            auth_protocol: MailboxAuth::Userpass,
            username: USER.into(),
            password: Secret::new(PASSWORD),
            oauth2: Default::default(),
            return_path: "bounces@site.test".into(),
            scan_interval: Duration::from_secs(3600),
            tls_enabled: mode == Mode::Tls,
            starttls: mode == Mode::StartTls,
            // The certificate is self-signed.
            tls_skip_verify: mode != Mode::Plain,
            folder: "INBOX".into(),
            after_processing: AfterProcessing::Delete,
            move_to: String::new(),
            max_messages: 1000,
            max_message_size: 10 * 1024 * 1024,
            parse_timeout: Duration::from_secs(10),
            other: Default::default(),
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // Kill the master and its children: nothing may outlive the test.
        self.kill();
    }
}

/// Every process below `root`, from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
            // "pid (comm) state ppid ...": comm may hold spaces; read after the last ')'.
            let ppid =
                stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok());
            if let Some(ppid) = ppid {
                parents.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (child, _) in parents.iter().filter(|(_, pp)| *pp == p) {
            out.push(*child);
            frontier.push(*child);
        }
    }
    out
}

fn free_ports() -> Ports {
    let listeners: Vec<_> =
        (0..4).map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port")).collect();
    let ports: Vec<u16> = listeners.iter().map(|l| l.local_addr().expect("addr").port()).collect();
    Ports { pop3: ports[0], pop3s: ports[1], imap: ports[2], imaps: ports[3] }
}

/// A self-signed certificate for localhost / 127.0.0.1 (EC, quick to make),
/// key.pem and cert.pem in `dir` (the sender's TLS test uses it too).
pub fn certificate(dir: &Path) {
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap_or_else(|e| panic!("openssl is required to make the test certificate: {e}"));
    assert!(out.status.success(), "openssl failed: {}", String::from_utf8_lossy(&out.stderr));
}
