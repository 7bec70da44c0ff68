"""Runs real switchboard daemons for the agent API tests and talks to them.

- `Database`: a fresh database on the server of $SWITCHBOARD_TEST_DATABASE_URL (a role that may
  CREATE DATABASE), made and dropped with psql, queried with psql (rows come back as JSON).
- `Service`: one database, the rules below, a receiver for the API account's reply callbacks,
  and one or more `switchboard serve` processes on it (any free port each, read from the log),
  each ready (/readyz 200) before use; people get passwords through
  `switchboard person set-password`. `stop()` ends them all (SIGTERM, then SIGKILL).
- `Client`: HTTP to /api/v1 as nobody, a bearer token or a session (cookie + CSRF token). Every
  answer it receives is checked against daemon/api/openapi.yaml (openapi_check) before the test
  sees it, and must carry X-Request-Id.
- `Stream`: a WebSocket client of GET /api/v1/stream; every frame is validated as an `Event`.
- Data comes in as customers would send it: POST /api/v1/inbound (the `shop` API account),
  Messenger webhooks and Twilio SMS webhooks, signed as the platforms sign them.

Environment: SWITCHBOARD_TEST_DATABASE_URL (required), SWITCHBOARD_BINARY (default
build/test/daemon/switchboard, or build/test/switchboard), SWITCHBOARD_API_TEST_KEEP=1 keeps the
daemons' folders (config, rules, logs) and databases for a look afterwards.
"""

from __future__ import annotations

import atexit
import base64
import datetime
import hashlib
import hmac
import http.client
import http.server
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Mapping

import openapi_check

try:
    import websocket  # python3-websocket (websocket-client)
except ImportError as e:  # pragma: no cover - a clear message instead of a bare ImportError
    raise ImportError("the API tests need python3-websocket (deploy/install-deps test installs it)") from e

SOURCE_DIR = openapi_check.SOURCE_DIR
API = "/api/v1"

# Secrets the generated config names (given to the daemon and the CLI as environment variables).
ADMIN_TOKEN = "api-test-admin-token"
SHOP_TOKEN = "api-test-shop-token"
OTHER_TOKEN = "api-test-other-token"
CALLBACK_SECRET = "api-test-callback-secret"
META_APP_SECRET = "api-test-meta-app-secret"
META_VERIFY = "api-test-meta-verify"
META_PAGE_TOKEN = "api-test-meta-page-token"
META_PAGE_ID = "104857600099001"
TWILIO_AUTH_TOKEN = "api-test-twilio-token"
TWILIO_ACCOUNT_SID = "AC" + "7e57" * 8
TWILIO_FROM = "+48732100200"
PUBLIC_URL = "http://switchboard.test"

SECRETS_ENV = {
    "SWITCHBOARD_SECRET_ADMIN_TOKEN": ADMIN_TOKEN,
    "SWITCHBOARD_SECRET_SHOP_TOKEN": SHOP_TOKEN,
    "SWITCHBOARD_SECRET_OTHER_TOKEN": OTHER_TOKEN,
    "SWITCHBOARD_SECRET_CALLBACK_SECRET": CALLBACK_SECRET,
    "SWITCHBOARD_SECRET_META_SECRET": META_APP_SECRET,
    "SWITCHBOARD_SECRET_META_VERIFY": META_VERIFY,
    "SWITCHBOARD_SECRET_META_PAGE_TOKEN": META_PAGE_TOKEN,
    "SWITCHBOARD_SECRET_TWILIO_TOKEN": TWILIO_AUTH_TOKEN,
}

# The people of RULES, with their passwords.
PEOPLE = {
    "boss": {"name": "Szefowa Główna", "role": "admin"},
    "anna": {"name": "Anna Nowak", "role": "agent"},
    "piotr": {"name": "Piotr Wiśniewski", "role": "agent"},
    "zofia": {"name": "Zofia Kowalczyk", "role": "agent"},
}
PASSWORDS = {login: f"hasło-{login}-2026!" for login in PEOPLE}

# Queues and who they list: billing only anna, tech only piotr, general nobody (every agent).
QUEUES = {"billing": ["anna"], "tech": ["piotr"], "general": []}

# What a text routes to (a word of the text decides; anything else stays in no queue):
#   "faktura" -> billing, tag money; "awaria" -> tech, priority high; "pytanie" -> general, with
#   an automatic reply (so conversations have outbound messages and delivery events).
RULES = """\
version: 1
timezone: Europe/Warsaw
language: pl

people:
  boss: { name: Szefowa Główna, role: admin }
  anna: { name: Anna Nowak, role: agent, languages: [pl] }
  piotr: { name: Piotr Wiśniewski, role: agent }
  zofia: { name: Zofia Kowalczyk, role: agent }

queues:
  billing: { people: [anna] }
  tech: { people: [piotr] }
  general: {}

templates:
  thanks: "Dziękujemy za pytanie, odpowiemy wkrótce."
  greeting: 'Dzień dobry {{customer.first_name | "Państwo"}}, piszemy przez {{message.channel}} w sprawie #{{conversation.id}}.'

rules:
  - name: billing
    when: { text: { contains_any: [faktura, faktury, billing] } }
    then: [ { enqueue: billing }, { tag: money } ]
  - name: tech
    when: { text: { contains_any: [awaria, tech] } }
    then: [ { enqueue: tech, priority: high } ]
  - name: general
    when: { text: { contains_any: [pytanie, general] } }
    then: [ { reply: thanks }, { enqueue: general } ]
"""

QUEUE_WORD = {"billing": "faktura", "tech": "awaria", "general": "pytanie", None: "dzień dobry"}


def binary_path() -> str:
    configured = os.environ.get("SWITCHBOARD_BINARY")
    if configured:
        return configured
    for candidate in ("build/test/daemon/switchboard", "build/test/switchboard"):
        path = SOURCE_DIR / candidate
        if path.exists():
            return str(path)
    raise RuntimeError("no switchboard binary: build it (build/test/daemon/switchboard) or set SWITCHBOARD_BINARY")


def server_url() -> str:
    url = os.environ.get("SWITCHBOARD_TEST_DATABASE_URL")
    if not url:
        raise RuntimeError("SWITCHBOARD_TEST_DATABASE_URL is not set: start PostgreSQL "
                           "(PG_FSYNC=off deploy/pg-cluster start DIR prints the URL) or run ./tests/run")
    return url


def keep() -> bool:
    return os.environ.get("SWITCHBOARD_API_TEST_KEEP") == "1"


def unique(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:12]


def parse_time(text: str | None) -> datetime.datetime | None:
    """An RFC 3339 UTC time of the API ("...Z", any fraction) as an aware datetime."""
    if text is None:
        return None
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z", text)
    if not m:
        raise AssertionError(f"not an RFC 3339 UTC time: {text!r}")
    micros = int((m.group(2) or "0")[:6].ljust(6, "0"))
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    return base.replace(microsecond=micros, tzinfo=datetime.timezone.utc)


# --- the database ---

_db_counter = itertools.count()


def _with_database(url: str, name: str) -> str:
    """The postgresql:// URL with another database name (the path), query kept."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise RuntimeError("SWITCHBOARD_TEST_DATABASE_URL must be a postgresql:// URL")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _psql(url: str, sql: str) -> str:
    done = subprocess.run(["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
    if done.returncode != 0:
        raise RuntimeError(f"psql failed ({done.returncode}) for {sql!r}: {done.stderr.strip()}")
    return done.stdout


class Database:
    """A fresh database, dropped by drop()."""

    def __init__(self) -> None:
        self.server = server_url()
        self.name = f"sbapi_{os.getpid()}_{next(_db_counter)}_{uuid.uuid4().hex[:6]}"
        _psql(self.server, f"DROP DATABASE IF EXISTS {self.name}")
        _psql(self.server, f"CREATE DATABASE {self.name}")
        self.url = _with_database(self.server, self.name)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """The rows of a query as dicts (through json_agg, so types survive)."""
        out = _psql(self.url, f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) q").strip()
        return json.loads(out)

    def column(self, sql: str) -> list[Any]:
        return [next(iter(r.values())) for r in self.rows(sql)]

    def scalar(self, sql: str) -> Any:
        rows = self.rows(sql)
        return next(iter(rows[0].values())) if rows else None

    def execute(self, sql: str) -> None:
        _psql(self.url, sql)

    def drop(self) -> None:
        if keep():
            print(f"harness: kept database {self.name}")
            return
        try:
            _psql(self.server, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except RuntimeError:
            pass


# --- HTTP ---

class Response:
    def __init__(self, method: str, path: str, status: int, headers: list[tuple[str, str]], body: bytes):
        self.method = method
        self.path = path
        self.status = status
        self.header_list = headers
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self._json: Any = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def json(self) -> Any:
        if self._json is None:
            self._json = json.loads(self.body.decode("utf-8"))
        return self._json

    @property
    def error_code(self) -> str | None:
        try:
            return self.json["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} -> {self.status} {self.text[:300]}>"


def raw_request(host: str, port: int, method: str, target: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None, timeout: float = 30) -> Response:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            conn.request(method, target, body=body, headers=dict(headers or {}))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413) and closed before the whole body was sent: read that answer
        r = conn.getresponse()
        data = r.read()
        return Response(method, target, r.status, r.getheaders(), data)
    finally:
        conn.close()


class Client:
    """Requests to one daemon's /api/v1 as one caller; every answer is checked against the description."""

    def __init__(self, daemon: "Daemon", *, bearer: str | None = None, cookie: str | None = None,
                 csrf: str | None = None, send_csrf: bool = True, login: str | None = None,
                 checker: openapi_check.OpenApi | None = None):
        self.daemon = daemon
        self.bearer = bearer
        self.cookie = cookie
        self.csrf = csrf
        self.send_csrf = send_csrf
        self.login = login
        self.checker = checker or openapi_check.shared()

    def but(self, **changes: Any) -> "Client":
        """A copy with some fields changed (another daemon, no CSRF header, ...)."""
        fields = dict(daemon=self.daemon, bearer=self.bearer, cookie=self.cookie, csrf=self.csrf,
                      send_csrf=self.send_csrf, login=self.login, checker=self.checker)
        fields.update(changes)
        return Client(**fields)

    def auth_headers(self, method: str = "GET") -> dict[str, str]:
        h: dict[str, str] = {}
        if self.bearer is not None:
            h["Authorization"] = f"Bearer {self.bearer}"
        if self.cookie is not None:
            h["Cookie"] = self.cookie
            if self.send_csrf and self.csrf is not None and method in ("POST", "PUT", "PATCH", "DELETE"):
                h["X-CSRF-Token"] = self.csrf
        return h

    def request(self, method: str, path: str, json_body: Any = None, *, data: bytes | None = None,
                params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
                content_type: str | None = None) -> Response:
        """`path` is below /api/v1 ("/conversations/5"). The answer is checked before it is returned."""
        target = API + path
        if params:
            target += ("&" if "?" in target else "?") + urllib.parse.urlencode(
                {k: v for k, v in params.items() if v is not None})
        h = self.auth_headers(method)
        body = data
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            h["Content-Type"] = "application/json"
        if content_type is not None:
            h["Content-Type"] = content_type
        h.update(headers or {})
        r = raw_request("127.0.0.1", self.daemon.port, method, target, body, h)
        if "x-request-id" not in r.headers:
            raise openapi_check.Mismatch(f"{method} {target} -> {r.status}: no X-Request-Id header")
        self.checker.check_response(method, target, r.status, r.headers.get("content-type"), r.body, r.headers)
        return r

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, json_body, **kw)

    def put(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("PUT", path, json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", path, json_body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    # Lists

    def walk(self, path: str, params: Mapping[str, Any] | None = None, limit: int = 3,
             max_pages: int = 1000) -> tuple[list[dict], list[Response]]:
        """Every item of a paged list, following next_cursor; the pages' answers too."""
        items: list[dict] = []
        pages: list[Response] = []
        cursor = None
        for _ in range(max_pages):
            q = dict(params or {})
            q["limit"] = limit
            if cursor is not None:
                q["cursor"] = cursor
            r = self.get(path, params=q)
            if r.status != 200:
                raise AssertionError(f"paging {path} {q}: {r!r}")
            pages.append(r)
            items.extend(r.json["items"])
            cursor = r.json["next_cursor"]
            if cursor is None:
                return items, pages
        raise AssertionError(f"paging {path} did not end after {max_pages} pages")

    # The stream

    def stream(self, since: Any = None, timeout: float = 10) -> "Stream":
        return Stream(self, since=since, timeout=timeout)


# --- the live stream ---

class StreamClosed(Exception):
    def __init__(self, code: int | None, reason: str):
        super().__init__(f"stream closed by the server: {code} {reason}")
        self.code = code
        self.reason = reason


class Stream:
    """GET /api/v1/stream as a WebSocket; every frame is validated against the Event schema."""

    def __init__(self, client: Client, since: Any = None, timeout: float = 10):
        self.client = client
        target = API + "/stream" + ("" if since is None else "?since=" + urllib.parse.quote(str(since)))
        url = f"ws://127.0.0.1:{client.daemon.port}{target}"
        headers = [f"{k}: {v}" for k, v in client.auth_headers("GET").items()]
        self.ws = websocket.create_connection(url, header=headers, timeout=timeout)
        status = self.ws.getstatus()
        resp_headers = dict(self.ws.getheaders() or {})
        client.checker.check_response("GET", target, status, resp_headers.get("content-type"), b"", resp_headers)
        self.frames: list[dict] = []

    def next(self, timeout: float = 10) -> dict | None:
        """The next event, or None when none came within `timeout` seconds."""
        self.ws.settimeout(timeout)
        try:
            opcode, data = self.ws.recv_data()
        except (websocket.WebSocketTimeoutException, socket.timeout):
            return None
        except websocket.WebSocketConnectionClosedException:
            raise StreamClosed(None, "connection closed")
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            raise StreamClosed(code, data[2:].decode("utf-8", "replace"))
        if opcode != websocket.ABNF.OPCODE_TEXT:
            raise AssertionError(f"the stream sent a non-text frame (opcode {opcode})")
        event = json.loads(data.decode("utf-8"))
        self.client.checker.validate("Event", event, "stream frame")
        self.frames.append(event)
        return event

    def take(self, count: int, timeout: float = 15) -> list[dict]:
        """Exactly `count` more events (fails when they do not come within `timeout`)."""
        got: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            event = self.next(max(left, 0.01)) if left > 0 else None
            if event is None:
                raise AssertionError(f"expected {count} events, got {len(got)}: {got}")
            got.append(event)
        return got

    def until(self, predicate, timeout: float = 15) -> list[dict]:
        """Events up to and including the first one for which predicate(event) is true."""
        got: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            event = self.next(left) if left > 0 else None
            if event is None:
                raise AssertionError(f"the awaited event did not come within {timeout}s; got {got}")
            got.append(event)
            if predicate(event):
                return got

    def quiet(self, seconds: float = 0.5) -> list[dict]:
        """Whatever arrives within `seconds` (expected to be nothing, usually)."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            event = self.next(left)
            if event is None:
                break
            got.append(event)
        return got

    def close(self, abrupt: bool = False) -> None:
        try:
            if abrupt:
                self.ws.shutdown()
            else:
                self.ws.close(timeout=1)
        except Exception:
            pass

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


UPGRADE_HEADERS = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": base64.b64encode(b"switchboard-test").decode(),
}


# --- the reply callback receiver ---

class CallbackReceiver:
    """Answers 200 to every reply the daemons POST for the `shop` account, and keeps them."""

    def __init__(self) -> None:
        received = self.received = []
        lock = self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with lock:
                    received.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="callbacks", daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- daemons ---

_live: set["Daemon"] = set()


@atexit.register
def _kill_leftovers() -> None:
    for d in list(_live):
        d.stop(grace=0)


class Daemon:
    """One `switchboard serve` in its own scratch folder."""

    def __init__(self, database_url: str, rules: str, callback_url: str, name: str = "a", extra_config: str = ""):
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"sbapi-{name}-"))
        self.config_path = self.dir / "switchboard.yaml"
        (self.dir / "rules.yaml").write_text(rules, encoding="utf-8")
        self.config_path.write_text(self._config(database_url, callback_url, extra_config), encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("SWITCHBOARD_DATABASE_URL", "CREDENTIALS_DIRECTORY")}
        self.env.update(SECRETS_ENV)
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @staticmethod
    def _config(database_url: str, callback_url: str, extra: str) -> str:
        return f"""\
listen: 127.0.0.1:0
public_url: {PUBLIC_URL}
database:
  url: '{database_url}'
  pool_size: 6
rules: rules.yaml
state_dir: state
http: {{ workers: 6 }}
admin:
  tokens: {{ secret: admin-token }}
auth:
  password_memory: 64KiB
  password_passes: 1
  max_concurrent_hashes: 8
  login_failures: {{ per_login: 10, per_address: 1000 }}
outbox:
  workers: 1
  sweep_interval: 1s
  retry: {{ base: 1s, cap: 1s, max_attempts: 1 }}
channels:
  api:
    accounts:
      shop:
        tokens: {{ secret: shop-token }}
        callback: {{ url: '{callback_url}', secrets: {{ secret: callback-secret }}, timeout: 2s }}
      other:
        tokens: [ {{ secret: other-token }} ]
  meta:
    app_secrets: {{ secret: meta-secret }}
    verify_token: {{ secret: meta-verify }}
    graph_url: http://127.0.0.1:9
    send_timeout: 2s
    pages:
      "{META_PAGE_ID}": {{ access_token: {{ secret: meta-page-token }} }}
  twilio:
    api_url: http://127.0.0.1:9
    send_timeout: 2s
    accounts:
      main:
        account_sid: {TWILIO_ACCOUNT_SID}
        auth_tokens: {{ secret: twilio-token }}
        from: "{TWILIO_FROM}"
{extra}"""

    @property
    def log_path(self) -> Path:
        return self.dir / "daemon.log"

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def start(self, timeout: float = 30) -> None:
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen([binary_path(), "serve", "--config", str(self.config_path)],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env, cwd=self.dir)
        finally:
            log.close()
        _live.add(self)
        deadline = time.monotonic() + timeout
        while not self.port:
            m = re.search(r"event=started\b.*?\bport=(\d+)", self.log())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"switchboard ({self.name}) did not start; log:\n{self.log_tail()}")
            time.sleep(0.02)
        while True:
            try:
                if raw_request("127.0.0.1", self.port, "GET", "/readyz", timeout=5).status == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"switchboard ({self.name}) did not become ready; log:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, grace: float = 15) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if grace > 0 else signal.SIGKILL)
            try:
                self.proc.wait(timeout=grace if grace > 0 else 5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        _live.discard(self)
        if keep():
            print(f"harness: kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def reload_rules(self, rules: str, timeout: float = 10) -> None:
        """Writes a new rules file and sends SIGHUP; returns once the daemon logged the reload."""
        before = self.log().count("event=rules_reloaded")
        (self.dir / "rules.yaml").write_text(rules, encoding="utf-8")
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.log().count("event=rules_reloaded") <= before:
            if time.monotonic() > deadline:
                raise RuntimeError(f"switchboard ({self.name}) did not reload its rules; log:\n{self.log_tail()}")
            time.sleep(0.05)

    def cli(self, *args: str, stdin: str = "") -> tuple[int, str]:
        done = subprocess.run([binary_path(), *args], input=stdin, capture_output=True, text=True,
                              env=self.env, cwd=self.dir, timeout=60)
        return done.returncode, done.stdout + done.stderr

    def set_password(self, login: str, password: str) -> None:
        code, out = self.cli("person", "set-password", login, "--config", str(self.config_path), stdin=password + "\n")
        if code != 0:
            raise RuntimeError(f"person set-password {login} failed ({code}): {out}")


class Service:
    """A database, the rules and `instances` daemons on it, with clients for every kind of caller."""

    def __init__(self, instances: int = 1, rules: str = RULES, extra_config: str = "",
                 daemon_class: type[Daemon] | None = None):
        """`daemon_class`: a subclass of Daemon (to write another config), default Daemon."""
        self.checker = openapi_check.shared()
        self.callbacks = CallbackReceiver()
        self.db = Database()
        self.daemons: list[Daemon] = []
        try:
            for i in range(instances):
                d = (daemon_class or Daemon)(self.db.url, rules, self.callbacks.url,
                                             name="ab"[i] if i < 2 else str(i), extra_config=extra_config)
                self.daemons.append(d)
                d.start()
            for login, password in PASSWORDS.items():
                if re.search(rf"^  {login}:", rules, re.M):
                    self.daemons[0].set_password(login, password)
        except BaseException:
            self.stop()
            raise
        self._sessions: dict[tuple[str, int], Client] = {}
        self._tokens: dict[str, str] = {}

    def stop(self) -> None:
        for d in self.daemons:
            d.stop()
        self.callbacks.stop()
        self.db.drop()

    def daemon(self, instance: int = 0) -> Daemon:
        return self.daemons[instance % len(self.daemons)]

    # Callers

    def anonymous(self, instance: int = 0) -> Client:
        return Client(self.daemon(instance), checker=self.checker)

    def admin(self, instance: int = 0) -> Client:
        """The config admin token."""
        return Client(self.daemon(instance), bearer=ADMIN_TOKEN, login="admin-token", checker=self.checker)

    def bearer(self, token: str, instance: int = 0, login: str | None = None) -> Client:
        return Client(self.daemon(instance), bearer=token, login=login, checker=self.checker)

    def sign_in(self, login: str, instance: int = 0, password: str | None = None) -> Client:
        """A new session of `login` (cookie + CSRF token)."""
        r = self.anonymous(instance).post("/session", {"login": login, "password": password or PASSWORDS[login]})
        if r.status != 200:
            raise AssertionError(f"sign-in of {login} failed: {r!r}")
        cookie = r.headers["set-cookie"].split(";", 1)[0]
        return Client(self.daemon(instance), cookie=cookie, csrf=r.json["csrf_token"], login=login,
                      checker=self.checker)

    def session(self, login: str, instance: int = 0) -> Client:
        """A session of `login`, made once and reused."""
        key = (login, instance)
        if key not in self._sessions:
            self._sessions[key] = self.sign_in(login, instance)
        return self._sessions[key]

    def person_token(self, login: str, instance: int = 0) -> Client:
        """A personal API token of `login` (created once by the admin token)."""
        if login not in self._tokens:
            r = self.admin().post(f"/people/{login}/tokens", {"name": f"tests of {login}"})
            if r.status != 201:
                raise AssertionError(f"creating a token for {login} failed: {r!r}")
            self._tokens[login] = r.json["token"]
        return self.bearer(self._tokens[login], instance, login=login)

    def roles(self) -> dict[str, Client]:
        """The four ways of calling: admin token, admin session, agent session, agent token (anna)."""
        return {
            "admin token": self.admin(),
            "admin session": self.session("boss"),
            "agent session": self.session("anna"),
            "agent token": self.person_token("anna"),
        }

    # Data, as customers send it

    def shop(self, instance: int = 0) -> Client:
        return Client(self.daemon(instance), bearer=SHOP_TOKEN, checker=self.checker)

    def inbound(self, text: str, address: str | None = None, name: str | None = None, instance: int = 0,
                external_id: str | None = None, **fields: Any) -> dict:
        """Posts one message of the `shop` account; the answer's JSON (message_id, conversation_id, ...)."""
        body = {"external_id": external_id or unique("ext-"),
                "from": {"address": address or f"{unique('klient-')}@example.pl"},
                "text": text}
        if name:
            body["from"]["name"] = name
        body.update(fields)
        r = self.shop(instance).post("/inbound", body)
        if r.status != 200:
            raise AssertionError(f"inbound failed: {r!r}")
        return r.json

    def conversation_in(self, queue: str | None, note: str = "", **kw: Any) -> dict:
        """A new customer's conversation that the rules put in `queue` (None: no queue)."""
        return self.inbound(f"{QUEUE_WORD[queue]} {note}".strip(), **kw)

    def messenger(self, text: str, psid: str | None = None, sent_at: float | None = None, instance: int = 0) -> str:
        """A Messenger message through the signed webhook; the sender's PSID."""
        psid = psid or str(random.randint(10**15, 10**16 - 1))
        ms = int((sent_at if sent_at is not None else time.time()) * 1000)
        payload = {"object": "page", "entry": [{
            "id": META_PAGE_ID, "time": ms,
            "messaging": [{"sender": {"id": psid}, "recipient": {"id": META_PAGE_ID}, "timestamp": ms,
                           "message": {"mid": unique("m_"), "text": text}}]}]}
        raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        signature = "sha256=" + hmac.new(META_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        r = raw_request("127.0.0.1", self.daemon(instance).port, "POST", "/webhooks/meta", raw,
                        {"Content-Type": "application/json", "X-Hub-Signature-256": signature})
        if r.status != 200:
            raise AssertionError(f"the Messenger webhook failed: {r!r}")
        return psid

    def sms(self, text: str, phone: str | None = None, instance: int = 0) -> str:
        """An SMS through Twilio's signed webhook; the sender's number."""
        phone = phone or "+48600" + str(random.randint(100000, 999999))
        params = {"AccountSid": TWILIO_ACCOUNT_SID, "MessageSid": "SM" + uuid.uuid4().hex, "From": phone,
                  "To": TWILIO_FROM, "Body": text, "NumMedia": "0", "ApiVersion": "2010-04-01"}
        path = "/webhooks/twilio/sms"
        signed = PUBLIC_URL + path + "".join(k + params[k] for k in sorted(params))
        signature = base64.b64encode(hmac.new(TWILIO_AUTH_TOKEN.encode(), signed.encode("utf-8"),
                                              hashlib.sha1).digest()).decode()
        r = raw_request("127.0.0.1", self.daemon(instance).port, "POST", path,
                        urllib.parse.urlencode(params).encode(),
                        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
        if r.status != 200:
            raise AssertionError(f"the Twilio webhook failed: {r!r}")
        return phone

    # Ground truth, straight from the database

    def conversation_id_of_message(self, message_id: str) -> str:
        return str(self.db.scalar(f"SELECT conversation_id FROM messages WHERE id = {int(message_id)}"))

    def visible_conversations(self, login: str | None, where: str = "true") -> set[str]:
        """Ids of conversations `login` may see (None: an admin) among those matching `where`."""
        if login is None or PEOPLE.get(login, {}).get("role") == "admin":
            rule = "true"
        else:
            mine = [q for q, people in QUEUES.items() if login in people or not people]
            listed = ", ".join(f"'{q}'" for q in mine) or "NULL"
            rule = f"(queue IS NULL OR queue IN ({listed}) OR assignee = '{login}')"
        return {str(i) for i in self.db.column(f"SELECT id FROM conversations WHERE {rule} AND ({where})")}

    # An event's id on the wire, as the daemon writes it (migration 0015).
    EVENT_ID = "switchboard_event_id(xact, seq)"

    def event_ids(self, after: int = 0) -> list[int]:
        return [int(i) for i in self.db.column(
            f"SELECT {self.EVENT_ID} AS id FROM events WHERE {self.EVENT_ID} > {after} ORDER BY xact, seq")]

    def newest_event(self) -> int:
        return int(self.db.scalar(f"SELECT coalesce(max({self.EVENT_ID}), 0) AS id FROM events"))

    def prune_events(self, through: int) -> None:
        """What pruning does: events up to `through` gone, and the horizon says so."""
        xact, seq = divmod(through, 10**9)
        self.db.execute(f"DELETE FROM events WHERE {self.EVENT_ID} <= {through}; "
                        f"UPDATE event_horizon SET pruned_xact = '{xact}', pruned_seq = {seq} "
                        f" WHERE (pruned_xact, pruned_seq) < ('{xact}'::xid8, {seq})")

    def block_database(self) -> None:
        """The database refuses connections and the daemons' open ones are ended (as if it went down)."""
        _psql(self.db.server, f"ALTER DATABASE {self.db.name} ALLOW_CONNECTIONS false")
        _psql(self.db.server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              f"WHERE datname = '{self.db.name}' AND pid <> pg_backend_pid()")

    def unblock_database(self) -> None:
        _psql(self.db.server, f"ALTER DATABASE {self.db.name} ALLOW_CONNECTIONS true")
        for d in self.daemons:
            self.wait_until(lambda: raw_request("127.0.0.1", d.port, "GET", "/readyz").status == 200,
                            what=f"daemon {d.name} to be ready again")

    def outbox_settled(self) -> bool:
        return int(self.db.scalar("SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')")) == 0

    def wait_until(self, predicate, timeout: float = 20, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)


class ServiceTestCase(unittest.TestCase):
    """A test class with its own Service (database and daemons), started once for the class."""

    instances = 1
    rules = RULES
    extra_config = ""
    service: Service

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.service = Service(cls.instances, cls.rules, cls.extra_config)
        cls.addClassCleanup(cls.service.stop)

    def assertError(self, r: Response, status: int, code: str | None = None) -> None:  # noqa: N802
        """An error answer with this status (and code); the schema was checked already."""
        self.assertEqual(r.status, status, r)
        if code is not None:
            self.assertEqual(r.error_code, code, r)
