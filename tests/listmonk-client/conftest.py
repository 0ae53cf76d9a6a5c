"""A live `rebound serve` per backend for the listmonk client tests.

Each backend gets its own server process (a SQLite file in a temporary
directory; a PostgreSQL database made for the run on
REBOUND_TEST_POSTGRES_URL and dropped after) with the admin user from
REBOUND_ADMIN_USER / REBOUND_ADMIN_PASSWORD, and an SMTP sink on 127.0.0.1
that the `smtp` settings point to, for the campaign test send.

REBOUND_BIN is the rebound binary (scripts/listmonk-client builds it).
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import listmonk
import pytest
from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parents[2]
ADMIN_USER = 'admin'
ADMIN_PASSWORD = f'listmonk-client-{uuid.uuid4().hex}'
BACKENDS = ['sqlite', 'postgres']


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@dataclass
class Message:
    mail_from: str
    rcpt_tos: list[str]
    data: str


@dataclass
class SmtpSink:
    """Accepts every message and keeps it (aiosmtpd's handler interface)."""

    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.messages.append(
                Message(envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode('utf-8', 'replace'))
            )
        return '250 OK'

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]


@dataclass
class Rebound:
    backend: str
    url: str
    smtp: SmtpSink
    log: Path

    def api(self, method: str, path: str, body=None):
        """A request with the admin's credentials, beside the client (setup only)."""
        req = urllib.request.Request(f'{self.url}{path}', method=method)
        token = base64.b64encode(f'{ADMIN_USER}:{ADMIN_PASSWORD}'.encode()).decode()
        req.add_header('Authorization', f'Basic {token}')
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            req.add_header('Content-Type', 'application/json')
        with urllib.request.urlopen(req, data=data, timeout=10) as resp:
            return json.loads(resp.read())


class PostgresDatabase:
    """A database of its own on REBOUND_TEST_POSTGRES_URL, made with psql."""

    def __init__(self):
        self.admin_url = os.environ.get(
            'REBOUND_TEST_POSTGRES_URL', 'postgres://postgres@127.0.0.1:5432/postgres'
        )
        self.name = f'rebound_listmonk_client_{os.getpid()}_{uuid.uuid4().hex[:8]}'
        self.psql(f'CREATE DATABASE "{self.name}"')
        parts = urllib.parse.urlsplit(self.admin_url)
        self.url = urllib.parse.urlunsplit(parts._replace(path=f'/{self.name}'))

    def psql(self, sql: str):
        subprocess.run(
            ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', self.admin_url, '-c', sql],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def drop(self):
        self.psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def wait_for_health(url: str, proc: subprocess.Popen, log: Path):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f'rebound serve exited with {proc.returncode}:\n{log.read_text()}')
        try:
            with urllib.request.urlopen(f'{url}/health', timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f'rebound serve did not answer /health within 30s:\n{log.read_text()}')


@pytest.fixture(scope='session', params=BACKENDS)
def rebound(request):
    backend = request.param
    binary = os.environ.get('REBOUND_BIN', str(REPO / 'target' / 'debug' / 'rebound'))
    work = Path(tempfile.mkdtemp(prefix=f'rebound-listmonk-client-{backend}-'))
    database = None
    if backend == 'sqlite':
        database_url = f'sqlite://{work}/rebound.db'
    else:
        database = PostgresDatabase()
        database_url = database.url

    sink = SmtpSink()
    smtp = Controller(sink, hostname='127.0.0.1', port=free_port())
    smtp.start()

    port = free_port()
    url = f'http://127.0.0.1:{port}'
    log = work / 'server.log'
    env = dict(
        os.environ,
        REBOUND_ADMIN_USER=ADMIN_USER,
        REBOUND_ADMIN_PASSWORD=ADMIN_PASSWORD,
        RUST_LOG='warn',
    )
    with open(log, 'wb') as out:
        proc = subprocess.Popen(
            [binary, 'serve', '--listen', f'127.0.0.1:{port}', '--database', database_url],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work,
        )
    server = Rebound(backend, url, sink, log)
    try:
        wait_for_health(url, proc, log)
        # The SMTP server as listmonk's settings page saves it: the test send goes to the sink.
        server.api(
            'PUT',
            '/api/settings',
            {
                'smtp': [
                    {
                        'enabled': True,
                        'host': '127.0.0.1',
                        'hello_hostname': '',
                        'port': smtp.port,
                        'auth_protocol': 'none',
                        'username': '',
                        'password': '',
                        'email_headers': [],
                        'max_conns': 1,
                        'max_msg_retries': 0,
                        'idle_timeout': '15s',
                        'wait_timeout': '5s',
                        'tls_type': 'none',
                        'tls_skip_verify': False,
                    }
                ],
            },
        )
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        smtp.stop()
        if request.session.testsfailed:
            tail = log.read_text(errors='replace').splitlines()[-50:]
            print(f'\n--- rebound serve ({backend}) log, last 50 lines ---', file=sys.stderr)
            print('\n'.join(tail), file=sys.stderr)
        if database is not None:
            database.drop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def client(rebound):
    """The listmonk module, pointed at `rebound` and logged in as a listmonk user does."""
    listmonk.set_url_base(rebound.url)
    assert listmonk.login(ADMIN_USER, ADMIN_PASSWORD)
    return listmonk


@pytest.fixture
def unique():
    """A name no other test uses (the server is shared by a backend's tests)."""
    return lambda prefix: f'{prefix}-{uuid.uuid4().hex[:10]}'
