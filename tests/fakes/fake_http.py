"""Plumbing shared by the local platform fakes (graph_fake.py, twilio_fake.py): the HTTP server,
request journal with filters, failure injection, fixture loading and outbound POSTs.

Standard library only (Debian 12 python3). Nothing here knows about Meta or Twilio.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# <repo>/../shared/protocols/fixtures, the repository being two levels above tests/fakes.
DEFAULT_FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "protocols" / "fixtures"
_name = "fake"  # log prefix, set by serve()


class ControlError(Exception):
    """Bad input to the control API: answered 400 {"error": message}."""


def log(line):
    sys.stderr.write(f"{_name}: {line}\n")
    sys.stderr.flush()


def norm(value):
    """Match/filter comparison form: phone numbers compare with or without '+' (and an
    unencoded '+' in a query string arrives as a space)."""
    return str(value).strip().lstrip("+") if value is not None else ""


def matches(entry, wanted):
    return all(norm(entry.get(k)) == norm(v) for k, v in wanted.items())


def check_keys(given, allowed, what):
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ControlError(f"unknown {what} key(s) {unknown}; known: {list(allowed)}")


def compact_json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def load_fixture(root, subdir, name):
    """A fixture's exact bytes: a bare name is looked up in the fake's own subfolder (meta/, twilio/),
    a name with a '/' relative to the fixtures root."""
    if not isinstance(name, str) or not name or ".." in name.split("/"):
        raise ControlError(f"bad fixture name {name!r}")
    path = root / (name if "/" in name else f"{subdir}/{name}")
    try:
        return path.read_bytes()
    except OSError as e:
        raise ControlError(f"cannot read fixture {path}: {e.strerror}") from None


def http_post(url, payload, headers, timeout):
    """POSTs as the platform would; returns the receiver's answer (status 0 = transport error)."""
    # No proxies: an http_proxy in the environment must not capture loopback test traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=timeout) as answer:
            return {"status": answer.status, "body": answer.read().decode("utf-8", "replace"),
                    "content_type": answer.headers.get("Content-Type", "")}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read().decode("utf-8", "replace"),
                "content_type": e.headers.get("Content-Type", "")}
    except (urllib.error.URLError, OSError, ValueError) as e:
        return {"status": 0, "body": "", "content_type": "", "error": str(getattr(e, "reason", e))}


class Journal:
    """Thread-safe records of API requests, failure rules and webhooks sent, with filters."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests, self.failures, self.sent = [], [], []
        self.seq = 0

    def clear(self, scope=None):
        """Forgets everything, or only what belongs to scope (e.g. {"id": X})."""
        with self.lock:
            if not scope:
                self.requests, self.failures, self.sent = [], [], []
                return
            self.requests = [r for r in self.requests if not matches(r, scope)]
            self.sent = [w for w in self.sent if not matches(w, scope)]
            self.failures = [f for f in self.failures if not matches(f["match"], scope)]

    def _stamp(self, entry):
        self.seq += 1
        entry["seq"], entry["at"] = self.seq, round(time.time(), 3)
        return entry

    def add_request(self, entry):
        with self.lock:
            self.requests.append(self._stamp(entry))
        return entry

    def add_sent(self, entry):
        with self.lock:
            self.sent.append(self._stamp(entry))

    def list(self, which, filters):
        with self.lock:
            items = self.requests if which == "requests" else self.sent
            return [dict(e) for e in items if matches(e, filters)]

    def add_failure(self, spec, match_keys, fixture):
        """fixture(name) -> bytes reads a fixture of this fake."""
        check_keys(spec, ("match", "times", "status", "body", "fixture", "delay_ms", "after_ms"), "fail")
        match = spec.get("match", {})
        if not isinstance(match, dict):
            raise ControlError("match must be an object")
        check_keys(match, match_keys, "match")
        rule = {"match": match, "times": int(spec.get("times", 1)),
                "delay_ms": int(spec.get("delay_ms", 0)), "after_ms": int(spec.get("after_ms", 0)),
                "status": spec.get("status")}
        if rule["times"] < 1 and rule["times"] != -1:
            raise ControlError("times must be >= 1, or -1 for every matching request until reset")
        if rule["status"] is None and not rule["delay_ms"] and not rule["after_ms"]:
            raise ControlError("fail needs a status (with body or fixture), delay_ms and/or after_ms")
        if "fixture" in spec:
            rule["payload"] = fixture(spec["fixture"])
        elif isinstance(spec.get("body"), (dict, list)):
            rule["payload"] = compact_json(spec["body"])
        elif isinstance(spec.get("body"), str):
            rule["payload"], rule["text"] = spec["body"].encode("utf-8"), True
        else:
            rule["payload"] = b"{}"
        with self.lock:
            self.failures.append(rule)
        return {"ok": True, "rules": len(self.failures)}

    def take_failure(self, keys):
        """The first rule matching this request, consumed once (times -1 = until reset)."""
        with self.lock:
            for rule in self.failures:
                if matches(keys, rule["match"]):
                    if rule["times"] > 0:
                        rule["times"] -= 1
                    if rule["times"] == 0:
                        self.failures.remove(rule)
                    return dict(rule)
        return None


class Answer:
    """One HTTP answer, plus optional work to start once it has been written."""

    def __init__(self, status, payload, content_type="application/json", headers=None, after=None):
        self.status = status
        self.payload = payload if isinstance(payload, bytes) else compact_json(payload)
        self.content_type = content_type
        self.headers = headers or {}
        self.after = after


def make_handler(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive for the daemon's pooled clients

        def do_GET(self):
            self.dispatch()

        do_POST = do_PUT = do_DELETE = do_GET

        def read_body(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def dispatch(self):
            split = urllib.parse.urlsplit(self.path)
            request = {
                "method": self.command,
                "path": split.path,
                "query": dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "raw": self.read_body(),
            }
            try:
                if split.path.startswith("/_fake/"):
                    answer = fake.control(request)
                else:
                    answer = fake.api(request)
            except ControlError as e:
                answer = Answer(400, {"error": str(e)})
            except Exception as e:  # a fake bug must still answer, and say so
                log(f"internal error: {e!r}")
                answer = Answer(500, {"error": f"fake internal error: {e!r}"})
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.payload)
                self.wfile.flush()
            except OSError:
                pass  # the client gave up (e.g. its timeout during delay_ms)
            if answer.after:
                threading.Thread(target=answer.after, daemon=True).start()

        def log_message(self, fmt, *args):
            log(f"{self.address_string()} {fmt % args}")

    return Handler


class FakeBase:
    """What both fakes' control sides share: routing a control request, filtered journal lists."""

    def dispatch(self, routes, request):
        route = routes.get((request["method"], request["path"]))
        if route is None:
            return Answer(404, {"error": f"no control endpoint {request['method']} {request['path']}",
                                "endpoints": [f"{m} {p}" for m, p in routes]})
        return Answer(200, route(request))

    def filtered(self, which, request, allowed):
        check_keys(request["query"], allowed, "filter")
        return self.journal.list(which, request["query"])


def parse_body(request):
    """Body views for the record: raw text always, then json or form by Content-Type."""
    content_type = request["headers"].get("content-type", "").split(";")[0].strip().lower()
    view = {"body": request["raw"].decode("utf-8", "replace")}
    if content_type == "application/json":
        try:
            view["json"] = json.loads(request["raw"].decode("utf-8"))
        except ValueError:
            pass
    elif content_type == "application/x-www-form-urlencoded":
        view["form"] = urllib.parse.parse_qsl(view["body"], keep_blank_values=True)
    return view


def control_json(request):
    if not request["raw"].strip():
        return {}
    try:
        value = json.loads(request["raw"].decode("utf-8"))
    except ValueError as e:
        raise ControlError(f"control body is not JSON: {e}") from None
    if not isinstance(value, dict):
        raise ControlError("control body must be a JSON object")
    return value


def required(spec, key, kind=str):
    value = spec.get(key)
    if not isinstance(value, kind) or value in ("", [], {}):
        raise ControlError(f"{key} is required (a non-empty {getattr(kind, '__name__', 'string or number')})")
    return value


def serve(fake, name, argv):
    """Runs fake (an object with .fixtures, .control(request) and .api(request) -> Answer) until
    SIGTERM/SIGINT. request = {method, path, query (dict), headers (lower-case), raw (bytes)}."""
    global _name
    _name = name
    parser = argparse.ArgumentParser(prog=name)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="written (atomically) with the bound port once listening")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when the parent process is gone (a test binary that crashed)")
    args = parser.parse_args(argv)
    fake.fixtures = args.fixtures
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(fake))
    port = server.server_address[1]
    if args.port_file:
        # Readers poll for the file: a rename makes it appear complete or not at all.
        tmp = f"{args.port_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    def stop(*_):
        # The handler runs in the main thread, inside serve_forever; shutdown() waits for that
        # loop to end, so it has to be called from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_parent:
        threading.Thread(target=watch_parent, args=(os.getppid(), stop), daemon=True).start()
    log(f"listening on http://127.0.0.1:{port} (fixtures {args.fixtures})")
    server.serve_forever()
    server.server_close()
    log("stopped")


def watch_parent(parent, stop):
    # Polling getppid() works whichever thread of the parent forked us, unlike PR_SET_PDEATHSIG.
    while os.getppid() == parent:
        time.sleep(0.5)
    log("parent process gone")
    stop()


def record_of(request, view):
    """The recorded form of an API request (the fake adds its match keys and the response)."""
    return {"method": request["method"], "path": request["path"], "query": request["query"],
            "headers": request["headers"], **view}
