#!/usr/bin/env python3
"""Generates the parser's conformance notices with real mail servers.

Run through scripts/conformance/generate, which puts this process in its own
network namespace (loopback only) and mount namespace first. Inside:

* dnsmasq answers for *.test only: nx.test does not exist (NXDOMAIN) and
  nullmx.test has a null MX (RFC 7505); nothing else is ever looked up,
  every other route is an IP literal;
* a receiving Postfix (mx, 127.0.0.20) refuses each subscriber address in
  its own way (access table, virtual mailbox table, size limit, body and
  header checks, relay control, recipient verification), and a second
  Postfix (127.0.0.21) answers its verification probes;
* Dovecot (127.0.0.30) takes the notices over LMTP into one mailbox and
  serves it over IMAP;
* each sending MTA under test (Postfix 127.0.0.11, Exim 127.0.0.12,
  OpenSMTPD 127.0.0.13) gets the originals over SMTP, each with
  X-Listmonk headers and a VERP return path naming its subscriber, relays
  them to the mx by IP literal, and sends its notices to the return path.

The label of each notice is known by construction: the VERP address it was
sent to names the original, the original names the failure it was sent to
meet, and a notice that arrives before the queue lifetime ran out can only
be a delay warning. Nothing is read from the notices to label them.

Writes <out>/<family>/<scenario>[.<n>].eml and <out>/labels.jsonl.
"""

import argparse
import base64
import email.utils
import imaplib
import json
import os
import pathlib
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid

LIFETIME = 90  # seconds a message may stay queued before it bounces
WARN_AFTER = 30  # seconds before a delay warning
NS = uuid.UUID("6f1c0d9e-3a52-4b7e-9c1d-2e4f5a6b7c8d")
CAMPAIGN = uuid.uuid5(NS, "campaign")
VERP = "bounces+{subscriber_uuid}.{campaign_uuid}@lists.test"

DNS_IP = "127.0.0.53"
MX_IP = "127.0.0.20"
NEXT_HOP_IP = "127.0.0.21"
DOVECOT_IP = "127.0.0.30"
SENDERS = {"postfix": "127.0.0.11", "exim": "127.0.0.12", "opensmtpd": "127.0.0.13"}

# The mx's refusals: (address, access-table action). Postfix words every
# access-table refusal as "<code> <status> <addr>: Recipient address
# rejected: <text>", the shape the parser must read by its last words.
MX_ACCESS = [
    ("full@example.test", "552 5.2.2 Mailbox full"),
    ("full2@example.test", "552 5.2.2 Mailbox full"),
    ("full3@example.test", "552 5.2.2 Mailbox full"),
    ("disabled@example.test", "550 5.2.1 Mailbox disabled, not accepting messages"),
    ("denied@example.test", "554 5.7.1 Access denied"),
    ("denied2@example.test", "554 5.7.1 Access denied"),
    ("localpolicy@example.test", "550 5.7.1 Rejected by local policy"),
    ("greylist@example.test", "450 4.7.1 Greylisted, please try again later"),
    ("overquota@example.test", "452 4.2.2 Mailbox over quota, try again later"),
    ("tempfail@example.test", "451 4.3.0 Temporary lookup failure"),
    ("verify.test", "verify_recipient"),
]
# Mailboxes that exist on the mx (all others are unknown users).
MX_MAILBOXES = [
    "ok", "ok2", "ok-success", "full", "full2", "full3", "disabled", "denied", "denied2", "localpolicy",
    "greylist", "overquota", "tempfail", "big", "content", "policydata",
]
NEXT_HOP_ACCESS = [("greylisted@verify.test", "450 4.7.1 Greylisted, please try again later")]
NEXT_HOP_MAILBOXES = ["greylisted"]


def S(addr, kind, bounce_type=None, status=None, reason=None, **families):
    """One recipient of an original and what must become of it: the same
    verdict for every family unless `families` names another for one."""
    verdict = per_family((bounce_type, status, reason), **families)
    return {"address": addr, "kind": kind, "verdict": verdict}


# Each original: its recipients (with the verdict the parser must reach),
# the DSN parameters, and what the text of the message carries. `status` is
# the code the refusing server put in its answer; where the sending MTA
# decides itself (DNS, its own size check) it is that MTA's code for the
# failure, per family.
#
# OpenSMTPD keeps no remote answer once a message expires: its expiry
# notice says only "Envelope expired" (status 4.4.7, sent as "delayed"), so
# for it every expiry is soft with 4.4.7, whatever the remote said before;
# it also retries a null-MX domain as a temporary failure until expiry.
EXPIRED_OPENSMTPD = {"opensmtpd": ("soft", "4.4.7", "expired")}


def per_family(default, **families):
    """(type, status, reason) for each family, `default` unless named."""
    return {f: families.get(f, default) for f in SENDERS}
SCENARIOS = [
    {"name": "unknown-user", "rcpts": [S("nosuchuser@example.test", "failed", "hard", "5.1.1", "userunknown")]},
    {"name": "unknown-user-ret-hdrs", "ret": "HDRS",
     "rcpts": [S("nosuchuser-hdrs@example.test", "failed", "hard", "5.1.1", "userunknown")]},
    {"name": "unknown-user-ret-full", "ret": "FULL",
     "rcpts": [S("nosuchuser-full@example.test", "failed", "hard", "5.1.1", "userunknown")]},
    {"name": "unknown-domain",
     "rcpts": [S("someone@nx.test", "failed", "hard", "5.0.0", "hostunknown",
                 postfix=("hard", "5.4.4", "hostunknown"))]},
    {"name": "null-mx", "expires": {"opensmtpd"},
     "rcpts": [S("someone@nullmx.test", "failed", "hard", "5.0.0", "notaccept",
                 postfix=("hard", "5.1.0", "notaccept"), **EXPIRED_OPENSMTPD)]},
    {"name": "mailbox-full", "rcpts": [S("full@example.test", "failed", "soft", "5.2.2", "mailboxfull")]},
    {"name": "mailbox-disabled", "rcpts": [S("disabled@example.test", "failed", "soft", "5.2.1", "suspend")]},
    {"name": "message-too-big", "size": 60000,
     "rcpts": [S("big@example.test", "failed", "soft", "5.3.4", "emailtoolarge",
                 opensmtpd=("soft", "5.0.0", "emailtoolarge"))]},
    {"name": "content-rejected", "body": "FORBIDDEN-CONTENT",
     "rcpts": [S("content@example.test", "failed", "soft", "5.7.1", "contenterror")]},
    {"name": "policy-rcpt-access-denied",
     "rcpts": [S("denied@example.test", "failed", "soft", "5.7.1", "blocked")]},
    {"name": "policy-rcpt-local-policy",
     "rcpts": [S("localpolicy@example.test", "failed", "soft", "5.7.1", "policyviolation")]},
    {"name": "policy-after-data", "subject": "POLICY-AFTER-DATA",
     "rcpts": [S("policydata@example.test", "failed", "soft", "5.7.1", "policyviolation")]},
    {"name": "relay-denied", "rcpts": [S("someone@other.test", "failed", "soft", "5.7.1", "norelaying")]},
    {"name": "greylisted-until-expiry", "expires": True,
     "rcpts": [S("greylist@example.test", "failed", "soft", "4.7.1", "expired", **EXPIRED_OPENSMTPD)]},
    {"name": "over-quota-until-expiry", "expires": True,
     "rcpts": [S("overquota@example.test", "failed", "soft", "4.2.2", "mailboxfull", **EXPIRED_OPENSMTPD)]},
    {"name": "tempfail-until-expiry", "expires": True,
     "rcpts": [S("tempfail@example.test", "failed", "soft", "4.3.0", "expired", **EXPIRED_OPENSMTPD)]},
    {"name": "unverified-greylisted", "expires": True,
     "rcpts": [S("greylisted@verify.test", "failed", "soft", "4.7.1", "expired", **EXPIRED_OPENSMTPD)]},
    {"name": "unverified-unknown", "expires": True,
     "rcpts": [S("nosuchuser@verify.test", "failed", "hard", "5.1.1", "userunknown", **EXPIRED_OPENSMTPD)]},
    {"name": "several-recipients", "subscriber": False,
     "rcpts": [S("nosuchuser2@example.test", "failed", "hard", "5.1.1", "userunknown"),
               S("full2@example.test", "failed", "soft", "5.2.2", "mailboxfull"),
               S("ok@example.test", "delivered"),
               S("denied2@example.test", "failed", "soft", "5.7.1", "blocked")]},
    # Failures of different kinds in one notice: a domain that does not
    # exist has no remote answer, so the notice's text is its only account.
    {"name": "several-recipients-mixed", "subscriber": False,
     "rcpts": [S("someone2@nx.test", "failed", "hard", "5.0.0", "hostunknown",
                 postfix=("hard", "5.4.4", "hostunknown")),
               S("nosuchuser3@example.test", "failed", "hard", "5.1.1", "userunknown"),
               S("full3@example.test", "failed", "soft", "5.2.2", "mailboxfull")]},
    {"name": "success-notice", "notify": "SUCCESS,FAILURE", "optional": True,
     "rcpts": [S("ok-success@example.test", "delivered")]},
]


def expires(sc, family):
    """The original waits in the queue until its lifetime ends (`expires`
    is True, or the families that retry this failure)."""
    e = sc.get("expires", False)
    return e is True or (isinstance(e, set) and family in e)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, **kw)


def base32(u):
    return base64.b32encode(u.bytes).decode().rstrip("=").lower()


def subscriber_of(family, scenario):
    return uuid.uuid5(NS, f"{family}/{scenario}")


def verp(subscriber):
    return VERP.format(subscriber_uuid=base32(subscriber), campaign_uuid=base32(CAMPAIGN))


def wait_port(ip, port, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((ip, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on {ip}:{port}")


class Lab:
    def __init__(self, work, root):
        self.work = pathlib.Path(work)
        self.root = pathlib.Path(root)
        self.procs = []
        self.postfixes = []

    def path(self, *p):
        d = self.work.joinpath(*p)
        d.parent.mkdir(parents=True, exist_ok=True)
        return d

    # --- the namespace -------------------------------------------------
    def namespace(self):
        run("ip", "link", "set", "lo", "up")
        # Postfix binds only addresses an interface has, not the whole /8.
        for ip in [DNS_IP, MX_IP, NEXT_HOP_IP, DOVECOT_IP, *SENDERS.values()]:
            run("ip", "addr", "add", f"{ip}/32", "dev", "lo")
        # Only this namespace sees these: the resolver, a host name for the
        # notices, and the spool OpenSMTPD insists on.
        resolv = self.path("etc", "resolv.conf")
        resolv.write_text(f"nameserver {DNS_IP}\noptions attempts:1 timeout:2\n")
        run("mount", "--bind", str(resolv), "/etc/resolv.conf")
        hosts = self.path("etc", "hosts")
        hosts.write_text("127.0.0.1 localhost\n127.0.0.13 opensmtpd.sender.test\n")
        run("mount", "--bind", str(hosts), "/etc/hosts")
        run("hostname", "opensmtpd.sender.test")
        run("mount", "-t", "tmpfs", "tmpfs", "/var/spool")

    # --- DNS -------------------------------------------------------------
    def dns(self):
        conf = self.path("dns", "dnsmasq.conf")
        conf.write_text(
            f"""listen-address={DNS_IP}
bind-interfaces
port=53
no-resolv
no-hosts
no-poll
log-queries
log-facility={self.path('dns', 'dnsmasq.log')}
pid-file={self.path('dns', 'dnsmasq.pid')}
# Everything under .test is answered here; what is not listed does not exist.
local=/test/
# RFC 7505 null MX.
mx-host=nullmx.test,.,0
"""
        )
        run("dnsmasq", f"--conf-file={conf}")
        time.sleep(0.5)

    # --- Dovecot ---------------------------------------------------------
    def dovecot(self):
        d = self.path("dovecot")
        d.mkdir(parents=True, exist_ok=True)
        (d / "mail").mkdir(exist_ok=True)
        os.chown(d / "mail", 65534, 65534)
        conf = d / "dovecot.conf"
        conf.write_text(
            f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = conformance
hostname = mail.lists.test
protocols = imap lmtp
listen = {DOVECOT_IP}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_uid = 65534
mail_gid = 65534
first_valid_uid = 0
mail_location = maildir:{d}/mail/Maildir
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no
passdb {{
  driver = static
  args = password=conformance
}}
userdb {{
  driver = static
  args = home={d}/mail
}}
service imap-login {{
  inet_listener imap {{
    address = {DOVECOT_IP}
    port = 143
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {DOVECOT_IP}
    port = 24
  }}
}}
"""
        )
        run("dovecot", "-c", str(conf))
        wait_port(DOVECOT_IP, 143, "dovecot imap")
        wait_port(DOVECOT_IP, 24, "dovecot lmtp")

    # --- Postfix ---------------------------------------------------------
    def postfix(self, name, ip, main, files):
        d = self.path(f"postfix-{name}")
        for sub in ["conf", "queue", "data"]:
            (d / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)
        shutil.chown(d / "data", "postfix")
        common = f"""compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = {d}
maillog_file = {d}/maillog
inet_interfaces = {ip}
inet_protocols = ipv4
smtp_bind_address = {ip}
mynetworks = 127.0.0.0/8
mydestination =
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
"""
        master = """smtp      inet  n - n -    - smtpd
pickup    unix  n - n 60   1 pickup
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
lmtp      unix  - - n -    - lmtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
virtual   unix  - n n -    - virtual
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
"""
        (d / "conf" / "main.cf").write_text(common + main.replace("{conf}", str(d / "conf")))
        (d / "conf" / "master.cf").write_text(master)
        for fname, text in files.items():
            (d / "conf" / fname).write_text(text)
        r = subprocess.run(["postfix", "-c", str(d / "conf"), "start"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"postfix {name} did not start: {r.stdout}{r.stderr}")
        self.postfixes.append(d / "conf")
        wait_port(ip, 25, f"postfix {name}")

    def mx(self):
        access = "".join(f"{a} {v}\n" for a, v in MX_ACCESS)
        self.postfix(
            "mx",
            MX_IP,
            f"""myhostname = mx.example.test
virtual_mailbox_domains = example.test
virtual_mailbox_maps = texthash:{{conf}}/mailboxes
virtual_transport = discard:accepted
relay_domains = verify.test
transport_maps = texthash:{{conf}}/transport
smtpd_restriction_classes = verify_recipient
verify_recipient = reject_unverified_recipient
smtpd_recipient_restrictions = check_recipient_access texthash:{{conf}}/access, reject_unauth_destination
smtpd_relay_restrictions =
message_size_limit = 40000
body_checks = regexp:{{conf}}/body_checks
header_checks = regexp:{{conf}}/header_checks
# Not DSN-aware: the sender itself must report success as "relayed".
smtpd_discard_ehlo_keywords = dsn
address_verify_poll_count = 5
address_verify_poll_delay = 1s
""",
            {
                "mailboxes": "".join(f"{m}@example.test ok\n" for m in MX_MAILBOXES),
                "access": access,
                "transport": f"verify.test smtp:[{NEXT_HOP_IP}]:25\n",
                "body_checks": "/FORBIDDEN-CONTENT/ REJECT 5.7.1 Message content rejected\n",
                "header_checks": "/^Subject:.*POLICY-AFTER-DATA/ REJECT 5.7.1 Delivery not authorized, "
                "message refused by local policy\n",
            },
        )

    def next_hop(self):
        self.postfix(
            "next-hop",
            NEXT_HOP_IP,
            """myhostname = next-hop.verify.test
virtual_mailbox_domains = verify.test
virtual_mailbox_maps = texthash:{conf}/mailboxes
virtual_transport = discard:accepted
smtpd_recipient_restrictions = check_recipient_access texthash:{conf}/access, reject_unauth_destination
""",
            {
                "mailboxes": "".join(f"{m}@verify.test ok\n" for m in NEXT_HOP_MAILBOXES),
                "access": "".join(f"{a} {v}\n" for a, v in NEXT_HOP_ACCESS),
            },
        )

    def sender_postfix(self):
        ip = SENDERS["postfix"]
        self.postfix(
            "sender",
            ip,
            f"""myhostname = postfix.sender.test
transport_maps = texthash:{{conf}}/transport
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
maximal_queue_lifetime = {LIFETIME}s
bounce_queue_lifetime = {LIFETIME}s
delay_warning_time = {WARN_AFTER}s
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 15s
""",
            {
                "transport": f"""example.test smtp:[{MX_IP}]:25
other.test smtp:[{MX_IP}]:25
verify.test smtp:[{MX_IP}]:25
lists.test lmtp:inet:[{DOVECOT_IP}]:24
"""
            },
        )

    def sender_exim(self):
        ip = SENDERS["exim"]
        d = self.path("exim")
        for sub in ["spool", "log"]:
            (d / sub).mkdir(parents=True, exist_ok=True)
            shutil.chown(d / sub, "Debian-exim", "Debian-exim")
        conf = d / "exim.conf"
        conf.write_text(
            f"""primary_hostname = exim.sender.test
exim_path = {self.root}/usr/sbin/exim4
qualify_domain = exim.sender.test
spool_directory = {d}/spool
log_file_path = {d}/log/%slog
local_interfaces = {ip}
daemon_smtp_ports = 25
acl_smtp_rcpt = acl_rcpt
dsn_advertise_hosts = *
host_lookup =
rfc1413_hosts =
delay_warning = {WARN_AFTER}s
timeout_frozen_after = {LIFETIME}s
ignore_bounce_errors_after = 0s
never_users =

begin acl
acl_rcpt:
  accept hosts = 127.0.0.0/8
  deny

begin routers
bounces:
  driver = manualroute
  domains = lists.test
  route_list = * {DOVECOT_IP}
  transport = dovecot_lmtp
  self = send
mx:
  driver = manualroute
  domains = example.test : other.test : verify.test
  route_list = * {MX_IP}
  transport = remote_smtp
  self = send
dns:
  driver = dnslookup
  transport = remote_smtp
  no_more

begin transports
remote_smtp:
  driver = smtp
  interface = {ip}
dovecot_lmtp:
  driver = smtp
  protocol = lmtp
  port = 24
  interface = {ip}

begin retry
* * F,{LIFETIME}s,10s
"""
        )
        exim = self.root / "usr/sbin/exim4"
        p = subprocess.Popen(
            [str(exim), "-C", str(conf), "-bdf", "-q10s"],
            stdout=open(d / "daemon.out", "w"), stderr=subprocess.STDOUT,
        )
        self.procs.append(p)
        self.exim_conf = conf
        wait_port(ip, 25, "exim")

    def sender_opensmtpd(self):
        ip = SENDERS["opensmtpd"]
        d = self.path("opensmtpd")
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "smtpd.conf"
        conf.write_text(
            f"""queue ttl {LIFETIME}s
bounce warn-interval {WARN_AFTER}s
listen on {ip} port 25 hostname opensmtpd.sender.test
action "mx" relay host smtp://{MX_IP}:25 src {ip}
action "bounces" relay host lmtp://{DOVECOT_IP}:24 src {ip}
action "dns" relay src {ip}
match from any for domain "lists.test" action "bounces"
match from any for domain {{ "example.test", "other.test", "verify.test" }} action "mx"
match from any for any action "dns"
"""
        )
        os.chmod(conf, 0o644)
        smtpd = self.root / "usr/sbin/smtpd"
        p = subprocess.Popen(
            [str(smtpd), "-d", "-f", str(conf)],
            stdout=open(d / "smtpd.log", "w"), stderr=subprocess.STDOUT,
        )
        self.procs.append(p)
        self.smtpctl = self.root / "usr/sbin/smtpctl"
        wait_port(ip, 25, "opensmtpd")

    def kick_queues(self, families):
        """OpenSMTPD backs off for minutes between tries: ask it to retry now."""
        if "opensmtpd" in families:
            run(str(self.smtpctl), "schedule", "all", check=False,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        for conf in self.postfixes:
            run("postfix", "-c", str(conf), "abort", check=False,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        run("dovecot", "-c", str(self.work / "dovecot" / "dovecot.conf"), "stop", check=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pid = self.work / "dns" / "dnsmasq.pid"
        if pid.exists():
            try:
                os.kill(int(pid.read_text().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass


def original(family, sc, sub):
    to = ", ".join(f"<{r['address']}>" for r in sc["rcpts"])
    headers = [
        "From: Conformance News <news@lists.test>",
        f"To: {to}",
        f"Subject: {sc.get('subject', 'Conformance')} {sc['name']}",
        f"Message-ID: <{family}.{sc['name']}@lists.test>",
        f"Date: {email.utils.formatdate(localtime=False)}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        f"X-Listmonk-Campaign: {CAMPAIGN}",
    ]
    if sc.get("subscriber", True):
        headers.append(f"X-Listmonk-Subscriber: {sub}")
    body = f"Hello from the {family} conformance run ({sc['name']}).\n"
    if "body" in sc:
        body += sc["body"] + "\n"
    while len(body) < sc.get("size", 0):
        body += "Filler line to make the message big enough to be refused for its size.\n"
    return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def send(family, sc):
    sub = subscriber_of(family, sc["name"])
    mail_opts = [f"RET={sc['ret']}"] if "ret" in sc else []
    rcpt_opts = [f"NOTIFY={sc.get('notify', 'FAILURE,DELAY')}"]
    with smtplib.SMTP(SENDERS[family], 25, local_hostname="lists.test", timeout=30) as s:
        s.ehlo("lists.test")
        refused = s.sendmail(verp(sub), [r["address"] for r in sc["rcpts"]], original(family, sc, sub),
                             mail_options=mail_opts, rcpt_options=rcpt_opts)
        if refused:
            raise SystemExit(f"{family} refused {refused} for {sc['name']}")
    return sub


def fetch_all():
    """Every message in the mailbox, over IMAP, by UID."""
    m = imaplib.IMAP4(DOVECOT_IP, 143)
    m.login("bounces@lists.test", "conformance")
    m.select("INBOX")
    _, data = m.uid("search", None, "ALL")
    out = {}
    for uid in data[0].split():
        _, msg = m.uid("fetch", uid, "(RFC822)")
        out[int(uid)] = msg[0][1]
    m.logout()
    return out


def recipient_of_notice(raw):
    """The VERP address the notice was delivered to (Delivered-To, by Dovecot)."""
    msg = email.message_from_bytes(raw)
    for h in ("Delivered-To", "To"):
        v = msg.get(h, "")
        for _, addr in email.utils.getaddresses([v]):
            if addr.lower().startswith("bounces+"):
                return addr.lower()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--root", required=True, help="where scripts/conformance/install unpacked Exim and OpenSMTPD")
    ap.add_argument("--families", default="postfix,exim,opensmtpd")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, queues)")
    args = ap.parse_args()
    families = args.families.split(",")
    work = tempfile.mkdtemp(prefix="rebound-conformance-")
    os.chmod(work, 0o755)
    lab = Lab(work, args.root)
    try:
        lab.namespace()
        lab.dns()
        lab.dovecot()
        lab.next_hop()
        lab.mx()
        starts = {"postfix": lab.sender_postfix, "exim": lab.sender_exim, "opensmtpd": lab.sender_opensmtpd}
        for f in families:
            starts[f]()
        by_verp = {}
        sent_at = {}
        for f in families:
            for sc in SCENARIOS:
                sub = send(f, sc)
                by_verp[verp(sub)] = (f, sc)
                sent_at[(f, sc["name"])] = time.time()
        log(f"sent {len(by_verp)} originals; waiting for the notices (up to {LIFETIME + 150} s)")
        expected_final = {v for v, (f, sc) in by_verp.items() if not sc.get("optional")}
        seen = {}
        first_seen = {}
        deadline = time.time() + LIFETIME + 150
        while time.time() < deadline:
            lab.kick_queues(families)
            for uid, raw in fetch_all().items():
                if uid not in seen:
                    seen[uid] = raw
                    first_seen[uid] = time.time()
            finals = set()
            for uid, raw in seen.items():
                v = recipient_of_notice(raw)
                if v in by_verp:
                    f, sc = by_verp[v]
                    if first_seen[uid] - sent_at[(f, sc["name"])] >= LIFETIME or not expires(sc, f):
                        finals.add(v)
            missing = expected_final - finals
            log(f"{len(seen)} notices, {len(missing)} originals without a final notice")
            if not missing:
                break
            time.sleep(10)
        write(args.out, families, by_verp, sent_at, seen, first_seen)
    finally:
        lab.stop()
        if args.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def write(out, families, by_verp, sent_at, seen, first_seen):
    out = pathlib.Path(out)
    for f in families:
        shutil.rmtree(out / f, ignore_errors=True)
    labels = []
    counts = {}
    answered = set()
    for uid in sorted(seen):
        raw = seen[uid]
        v = recipient_of_notice(raw)
        if v not in by_verp:
            log(f"notice {uid} to {v!r} matches no original: skipped")
            continue
        family, sc = by_verp[v]
        age = first_seen[uid] - sent_at[(family, sc["name"])]
        delayed = expires(sc, family) and age < LIFETIME
        stem = f"{sc['name']}.delayed" if delayed else sc["name"]
        n = counts.get((family, stem), 0)
        counts[(family, stem)] = n + 1
        answered.add((family, sc["name"]))
        rel = f"{family}/{stem}.eml" if n == 0 else f"{family}/{stem}.{n + 1}.eml"
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        sub = subscriber_of(family, sc["name"])
        label = {"file": rel, "family": family, "scenario": sc["name"]}
        if delayed:
            label["bounce"] = False
            label["why"] = "delayed"
            label["recipients"] = []
        elif all(r["kind"] == "delivered" for r in sc["rcpts"]):
            label["bounce"] = False
            label["why"] = "delivered"
            label["recipients"] = []
        else:
            label["bounce"] = True
            label["recipients"] = [
                {
                    "address": r["address"],
                    "type": r["verdict"][family][0],
                    "status": r["verdict"][family][1],
                    "reason": r["verdict"][family][2],
                    "subscriber_uuid": str(sub) if sc.get("subscriber", True) else None,
                    "campaign_uuid": str(CAMPAIGN),
                }
                for r in sc["rcpts"]
                if r["kind"] == "failed"
            ]
        labels.append(label)
    missing = [(f, sc["name"]) for f in families for sc in SCENARIOS
               if (f, sc["name"]) not in answered and not sc.get("optional")]
    for f, name in missing:
        log(f"no notice came back for {f}/{name}")
    labels_path = out / "labels.jsonl"
    old = []
    if labels_path.exists():
        old = [json.loads(line) for line in labels_path.read_text().splitlines() if line.strip()]
        old = [o for o in old if o["family"] not in families]
    rows = sorted(old + labels, key=lambda x: x["file"])
    labels_path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    log(f"wrote {len(labels)} notices and {labels_path}")


if __name__ == "__main__":
    main()
