//! A real Postfix (Debian's postfix package) per test: its own
//! config_directory, queue_directory and data_directory in a temp dir,
//! `postfix -c DIR start`, smtpd on ephemeral 127.0.0.1 ports, logging to a
//! file there. Mail never leaves loopback: the default and relay transports
//! are `error:`, DNS is off, and only the domains a test routes exist.
//! Queue lifetimes are short so nothing a test provokes waits for long.
//!
//! Postfix runs as root here (as CI does) with mail_owner `postfix` and
//! setgid_group `postdrop`, which the package creates. A missing Postfix
//! FAILS the test (scripts/test-deps installs it); it never skips.

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Postfix's commands live in /usr/sbin, which a non-login PATH may lack.
fn command(name: &str) -> Command {
    let sbin = Path::new("/usr/sbin").join(name);
    Command::new(if sbin.exists() { sbin } else { PathBuf::from(name) })
}

/// What one instance needs beyond the common settings. `{dir}` in any text
/// is the instance's directory, `{port0}`, `{port1}`, ... its ports.
pub struct Spec {
    pub ports: usize,
    /// Extra main.cf lines.
    pub main: String,
    /// Extra master.cf lines (the inet services, with their ports).
    pub services: String,
    /// Files written into the config directory (lookup tables).
    pub files: Vec<(&'static str, String)>,
}

pub struct Postfix {
    dir: tempfile::TempDir,
    pub ports: Vec<u16>,
    running: bool,
}

impl Postfix {
    pub fn start(name: &str, spec: Spec) -> Postfix {
        match command("postconf").arg("-d").arg("mail_version").output() {
            Ok(o) if o.status.success() => {}
            _ => panic!(
                "Postfix is required for the end-to-end test and was not found: install postfix \
                 (scripts/test-deps does)"
            ),
        }
        let dir =
            tempfile::Builder::new().prefix(&format!("rebound-postfix-{name}-")).tempdir().expect("temp dir");
        // Postfix's unprivileged daemons must reach the queue inside.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        for sub in ["conf", "queue", "data"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        run(Command::new("chown").arg("postfix").arg(dir.path().join("data")));
        let mut p = Postfix { dir, ports: Vec::new(), running: false };
        // Ephemeral ports are picked by binding port 0; another process may
        // take one before Postfix binds it, so try a few times.
        for attempt in 1..=3 {
            p.ports = free_ports(spec.ports);
            p.write_config(&spec);
            match p.spawn() {
                Ok(()) => return p,
                Err(e) if attempt < 3 => eprintln!("postfix {name} did not start ({e}); retrying"),
                Err(e) => panic!("postfix {name} did not start: {e}\n{}", p.log()),
            }
        }
        unreachable!()
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    fn fill(&self, text: &str) -> String {
        let mut t = text.replace("{dir}", &self.dir.path().display().to_string());
        for (i, port) in self.ports.iter().enumerate() {
            t = t.replace(&format!("{{port{i}}}"), &port.to_string());
        }
        t
    }

    fn write_config(&self, spec: &Spec) {
        let common = r#"# Throwaway Postfix for rebound's end-to-end test.
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = {dir}
maillog_file = {dir}/maillog
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
# Nothing leaves loopback: only the domains a test routes are delivered.
relayhost =
default_transport = error:rebound test: mail does not leave loopback
relay_transport = error:rebound test: mail does not leave loopback
smtp_dns_support_level = disabled
smtp_host_lookup = native
# Short lifetimes: a deferred message bounces within a minute.
maximal_queue_lifetime = 1m
bounce_queue_lifetime = 1m
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
"#;
        let master = r#"pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
proxymap  unix  - - n -    - proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
virtual   unix  - n n -    - virtual
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
"#;
        let conf = self.conf();
        std::fs::write(conf.join("main.cf"), self.fill(&format!("{common}{}\n", spec.main)))
            .expect("main.cf");
        std::fs::write(conf.join("master.cf"), self.fill(&format!("{master}{}\n", spec.services)))
            .expect("master.cf");
        for (name, text) in &spec.files {
            std::fs::write(conf.join(name), self.fill(text)).expect("lookup table");
        }
    }

    fn spawn(&mut self) -> Result<(), String> {
        let out = std::fs::File::create(self.dir.path().join("start.log")).map_err(|e| e.to_string())?;
        // The master daemonises and keeps its inherited descriptors: give it
        // a file, never a pipe this process would wait on.
        let status = command("postfix")
            .arg("-c")
            .arg(self.conf())
            .arg("start")
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out)
            .status()
            .map_err(|e| format!("cannot run postfix: {e}"))?;
        if !status.success() {
            return Err(format!("postfix start exited with {status}"));
        }
        self.running = true;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.ports.iter().all(|port| TcpStream::connect(("127.0.0.1", *port)).is_ok()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err("postfix did not listen within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops Postfix at once (`postfix abort`) and waits for the master to go.
    pub fn stop(&mut self) {
        if let Some(pid) = self.abort() {
            wait_gone(pid);
        }
    }

    /// Stops several at once: the masters take a second or two each to exit.
    pub fn stop_all(all: &mut [&mut Postfix]) {
        let pids: Vec<u32> = all.iter_mut().filter_map(|p| p.abort()).collect();
        pids.into_iter().for_each(wait_gone);
    }

    /// `postfix abort` (SIGTERM to the master); the master's pid.
    fn abort(&mut self) -> Option<u32> {
        if !self.running {
            return None;
        }
        self.running = false;
        let pid = std::fs::read_to_string(self.dir.path().join("queue/pid/master.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        let _ = command("postfix")
            .arg("-c")
            .arg(self.conf())
            .arg("abort")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        pid
    }

    /// The mail log (every delivery, deferral and bounce).
    pub fn log(&self) -> String {
        let start = std::fs::read_to_string(self.dir.path().join("start.log")).unwrap_or_default();
        let log = std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default();
        format!("{start}{log}")
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_gone(pid: u32) {
    let proc = format!("/proc/{pid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&proc).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if Path::new(&proc).exists() {
        let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> =
        (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port")).collect();
    listeners.iter().map(|l| l.local_addr().expect("addr").port()).collect()
}
