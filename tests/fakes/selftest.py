#!/usr/bin/env python3
"""Self-test of the platform fakes: starts graph_fake.py and twilio_fake.py on ephemeral ports,
stands in for the daemon with a local receiver, and checks every control endpoint, every error
path and the signature vectors of fixtures/*/SIGNATURES.md. Prints one line per failed check and a
summary; exit status 0 when everything passed.

    python3 tests/fakes/selftest.py [--fixtures DIR] [-v]
"""

import argparse
import base64
import hashlib
import hmac
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree (not git-ignored)
import fake_http  # noqa: E402
import graph_fake  # noqa: E402
import twilio_fake  # noqa: E402

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
PUBLIC = "https://switchboard.example.com"


class Checks:
    def __init__(self, verbose):
        self.verbose, self.passed, self.failed, self.section = verbose, 0, [], ""

    def __call__(self, name, condition, detail=""):
        label = f"{self.section}: {name}"
        if condition:
            self.passed += 1
            if self.verbose:
                print(f"ok   {label}")
        else:
            self.failed.append(label)
            print(f"FAIL {label}" + (f" -- {detail}" if detail else ""))
        return condition


class Receiver:
    """Plays the daemon: records every request and answers 200 unless told otherwise per path."""

    def __init__(self):
        self.received, self.answers, self.lock = [], {}, threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.lock:
                    outer.received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                           "raw": raw})
                    queue = outer.answers.get(urllib.parse.urlsplit(self.path).path, [])
                    status = queue.pop(0) if queue else 200
                body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>" if status == 200 else b"no"
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def on(self, path):
        with self.lock:
            return [r for r in self.received if urllib.parse.urlsplit(r["path"]).path == path]

    def wait(self, path, count, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.on(path)) < count:
            time.sleep(0.02)
        return self.on(path)


def start_fake(script, directory, fixtures):
    port_file = Path(directory) / f"{script}.port"
    log = open(Path(directory) / f"{script}.log", "wb")
    process = subprocess.Popen([sys.executable, str(HERE / script), "--port", "0", "--port-file", str(port_file),
                                "--fixtures", str(fixtures)], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.time() + 10
    while not port_file.exists():
        if time.time() > deadline or process.poll() is not None:
            raise SystemExit(f"{script} did not start; see {log.name}")
        time.sleep(0.02)
    return process, f"http://127.0.0.1:{int(port_file.read_text())}", port_file


def call(base, method, path, body=None, headers=None, timeout=10):
    """-> (status, headers, raw bytes, parsed JSON or None)."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        hdrs.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(base + path, data=data, headers=hdrs, method=method)
    try:
        with OPENER.open(request, timeout=timeout) as answer:
            status, answer_headers, raw = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        status, answer_headers, raw = e.code, e.headers, e.read()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return status, answer_headers, raw, parsed


def control(base, path, body=None):
    status, _, raw, parsed = call(base, "POST" if body is not None else "GET", path, body)
    if status != 200:
        raise AssertionError(f"{path}: {status} {raw[:300]!r}")
    return parsed


def hub256(secret, raw):
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def twilio_sig(token, url, pairs):
    """Written independently of twilio_fake.py so that a broken fake signer cannot verify itself."""
    data = url + "".join(k + v for k, v in sorted(pairs))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def with_port_443(url):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc + ":443"))


# ---------------------------------------------------------------------------------------------


def test_graph(check, base, receiver, fixtures):
    check.section = "graph"
    secret, page, phone, psid = "test_app_secret", "104857600012345", "106540352242922", "7012345678901234"
    meta_fixture = lambda name: (fixtures / "meta" / name).read_bytes()

    def send(object_id, body, token, content_type="application/json", query=""):
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return call(base, "POST", f"/v25.0/{object_id}/messages{query}", raw, headers)

    def code_of(answer):
        return (answer[3] or {}).get("error", {}).get("code")

    check("health", control(base, "/_fake/health")["fake"] == "graph")
    control(base, "/_fake/reset", {})
    control(base, "/_fake/tokens", {"id": page, "token": "page-token", "kind": "page"})
    control(base, "/_fake/tokens", {"id": phone, "token": "wa-token", "kind": "whatsapp"})
    check("tokens: kind is required", call(base, "POST", "/_fake/tokens", {"id": "x", "token": "y"})[0] == 400)
    check("unknown control path is 404", call(base, "GET", "/_fake/nope")[0] == 404)

    # Messenger send API
    text = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": "Dzień dobry"}}
    status, _, _, body = send(page, text, "page-token")
    check("messenger: send 200", status == 200 and body["recipient_id"] == psid
          and body["message_id"].startswith("m_"), body)
    check("messenger: access_token query accepted", send(page, text, None, query="?access_token=page-token")[0] == 200)
    check("messenger: /me/messages resolves the page", send("me", text, "page-token")[0] == 200)
    answer = send(page, text, "wrong")
    check("auth: wrong token -> 401 fixture (190)", answer[0] == 401 and answer[2] == meta_fixture(
        "graph_error_invalid_token.json"), answer[2])
    check("auth: missing token -> 401", send(page, text, None)[0] == 401)
    check("auth: unknown id -> 400 code 100", code_of(send("999", text, "page-token")) == 100)
    check("Content-Type must be JSON", code_of(send(page, text, "page-token", "text/plain")) == 100)
    check("bad version path -> 404", send_path_status(base, "/v25/123/messages") == 404)
    invalid = {
        "no recipient": {"messaging_type": "RESPONSE", "message": {"text": "x"}},
        "no messaging_type": {"recipient": {"id": psid}, "message": {"text": "x"}},
        "MESSAGE_TAG without tag": {**text, "messaging_type": "MESSAGE_TAG"},
        "tag with RESPONSE": {**text, "tag": "HUMAN_AGENT"},
        "deprecated tag": {**text, "messaging_type": "MESSAGE_TAG", "tag": "ACCOUNT_UPDATE"},
        "text over 2000": {**text, "message": {"text": "ą" * 2001}},
        "text and attachment": {**text, "message": {"text": "x", "attachment": {"type": "image", "payload": {}}}},
    }
    for name, body in invalid.items():
        answer = send(page, body, "page-token")
        check(f"messenger invalid: {name} -> 400 code 100", answer[0] == 400 and code_of(answer) == 100, answer[2])
    answer = send(page, {**text, "messaging_type": "MESSAGE_TAG", "tag": "ACCOUNT_UPDATE"}, "page-token")
    check("deprecated tag message says so", "deprecated" in answer[3]["error"]["message"])
    check("messenger: 2000 code points accepted", send(page, {**text, "message": {"text": "ą" * 2000}},
                                                        "page-token")[0] == 200)
    check("messenger: HUMAN_AGENT accepted", send(page, {**text, "messaging_type": "MESSAGE_TAG",
                                                         "tag": "HUMAN_AGENT"}, "page-token")[0] == 200)
    check("messenger: sender_action", send(page, {"recipient": {"id": psid}, "sender_action": "typing_on"},
                                           "page-token")[3] == {"recipient_id": psid})

    # WhatsApp Cloud API
    wa = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+48601234567", "type": "text",
          "text": {"preview_url": False, "body": "Paczka wysłana"}}
    status, _, _, body = send(phone, wa, "wa-token")
    check("whatsapp: send 200 shaped like whatsapp_send_response.json",
          status == 200 and body["messaging_product"] == "whatsapp"
          and body["contacts"] == [{"input": "+48601234567", "wa_id": "48601234567"}]
          and re.fullmatch(r"wamid\.[A-Za-z0-9+/=]+", body["messages"][0]["id"]), body)
    check("whatsapp: fresh wamid per send", send(phone, wa, "wa-token")[3]["messages"][0]["id"]
          != body["messages"][0]["id"])
    check("whatsapp: access_token query refused", send(phone, wa, None, query="?access_token=wa-token")[0] == 401)
    template = {"messaging_product": "whatsapp", "to": "+48601234567", "type": "template",
                "template": {"name": "order_shipped", "language": {"code": "pl"}}}
    check("whatsapp: template 200", send(phone, template, "wa-token")[0] == 200)
    check("whatsapp: BSUID recipient 200", send(phone, {**{k: v for k, v in wa.items() if k != "to"},
                                                        "recipient": "PL.13491208655302741918"}, "wa-token")[0] == 200)
    check("whatsapp: 4096 characters accepted", send(phone, {**wa, "text": {"body": "😀" * 4096}}, "wa-token")[0] == 200)
    check("whatsapp: mark read", send(phone, {"messaging_product": "whatsapp", "status": "read",
                                              "message_id": "wamid.X"}, "wa-token")[3] == {"success": True})
    invalid = {
        "to without +": {**wa, "to": "48601234567"},
        "to and recipient": {**wa, "recipient": "PL.1"},
        "neither to nor recipient": {k: v for k, v in wa.items() if k != "to"},
        "wrong messaging_product": {**wa, "messaging_product": "sms"},
        "body over 4096": {**wa, "text": {"body": "x" * 4097}},
        "empty body": {**wa, "text": {"body": ""}},
        "template without language": {**template, "template": {"name": "x"}},
        "unsupported type": {**wa, "type": "image"},
    }
    for name, body in invalid.items():
        answer = send(phone, body, "wa-token")
        check(f"whatsapp invalid: {name} -> 400 code 100", answer[0] == 400 and code_of(answer) == 100, answer[2])

    # 24 h windows
    control(base, "/_fake/window", {"id": phone, "recipient": "+48601234567", "open": False})
    answer = send(phone, wa, "wa-token")
    check("window: WhatsApp free-form -> 131047 fixture", answer[0] == 400
          and answer[2] == meta_fixture("graph_error_whatsapp_reengagement.json"), answer[2])
    check("window: WhatsApp template still allowed", send(phone, template, "wa-token")[0] == 200)
    control(base, "/_fake/window", {"id": phone, "recipient": "48601234567", "open": True})
    check("window: reopened", send(phone, wa, "wa-token")[0] == 200)
    control(base, "/_fake/window", {"id": page, "recipient": psid, "open": False})
    answer = send(page, text, "page-token")
    check("window: Messenger RESPONSE -> outside-window fixture", answer[0] == 400
          and answer[2] == meta_fixture("graph_error_messenger_outside_window.json"), answer[2])
    human = {**text, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    check("window: Messenger HUMAN_AGENT allowed", send(page, human, "page-token")[0] == 200)
    control(base, "/_fake/window", {"id": page, "recipient": psid, "open": False, "human_agent": False})
    check("window: past 7 days HUMAN_AGENT refused", send(page, human, "page-token")[0] == 400)
    control(base, "/_fake/window", {"id": page, "recipient": psid, "open": True})

    # failure injection
    control(base, "/_fake/fail", {"match": {"id": phone, "recipient": "+48600000001"}, "times": 2, "status": 429,
                                  "fixture": "graph_error_rate_limit_whatsapp.json"})
    other = {**wa, "to": "+48600000001"}
    statuses = [send(phone, other, "wa-token") for _ in range(3)]
    check("fail: two 429 with the fixture, then 200",
          [s[0] for s in statuses] == [429, 429, 200] and statuses[0][2] == meta_fixture(
              "graph_error_rate_limit_whatsapp.json"), [s[0] for s in statuses])
    check("fail: other recipients unaffected", send(phone, wa, "wa-token")[0] == 200)
    control(base, "/_fake/fail", {"match": {"id": page}, "status": 500, "body": {"error": {"code": 2}}})
    answer = send(page, text, "page-token")
    check("fail: JSON body", answer[0] == 500 and answer[3] == {"error": {"code": 2}}, answer)
    control(base, "/_fake/fail", {"match": {"id": page}, "delay_ms": 400})
    started = time.time()
    check("fail: delay_ms then normal answer", send(page, text, "page-token")[0] == 200 and time.time() - started >= 0.4)
    control(base, "/_fake/fail", {"match": {"id": page}, "delay_ms": 1500})
    try:
        call(base, "POST", f"/v25.0/{page}/messages", json.dumps(text).encode(),
             {"Content-Type": "application/json", "Authorization": "Bearer page-token"}, timeout=0.3)
        timed_out = False
    except (TimeoutError, urllib.error.URLError, OSError):
        timed_out = True
    check("fail: delay_ms makes a client time out", timed_out)
    check("fail: unknown match key -> 400", call(base, "POST", "/_fake/fail", {"match": {"to": "x"}, "status": 500})[0] == 400)

    # request journal
    records = control(base, f"/_fake/requests?id={phone}")["requests"]
    check("requests: filtered by id", records and all(r["id"] == phone for r in records), len(records))
    first = records[0]
    check("requests: record shape", all(k in first for k in ("method", "path", "query", "headers", "body", "json", "at"))
          and first["headers"].get("authorization") == "Bearer wa-token" and first["response"]["status"] == 200, first)
    unencoded = control(base, f"/_fake/requests?id={phone}&recipient=+48600000001")["requests"]
    check("requests: recipient filter (with a raw '+')", len(unencoded) == 3, len(unencoded))
    check("requests: unknown filter -> 400", call(base, "GET", "/_fake/requests?foo=1")[0] == 400)

    test_graph_webhooks(check, base, receiver, fixtures, secret, page, phone, psid, send)

    # scoped and full reset
    control(base, "/_fake/reset", {"id": phone})
    check("reset {id}: that id's requests gone", control(base, f"/_fake/requests?id={phone}")["requests"] == [])
    check("reset {id}: others kept", control(base, f"/_fake/requests?id={page}")["requests"] != [])
    check("reset {id}: token forgotten", code_of(send(phone, wa, "wa-token")) == 100)
    control(base, "/_fake/reset", {})
    check("reset: everything gone", control(base, "/_fake/requests")["requests"] == []
          and control(base, "/_fake/webhooks")["webhooks"] == [])


def send_path_status(base, path):
    return call(base, "POST", path, b"{}", {"Content-Type": "application/json"})[0]


def test_graph_webhooks(check, base, receiver, fixtures, secret, page, phone, psid, send):
    # Signature vectors: every row of fixtures/meta/SIGNATURES.md, posted byte for byte.
    table = (fixtures / "meta" / "SIGNATURES.md").read_text()
    vectors = re.findall(r"\| `(\w+\.json)` \| (\d+) \| `(sha256=[0-9a-f]{64})` \|", table)
    check("SIGNATURES.md: 14 Meta vectors found", len(vectors) == 14, len(vectors))
    for name, size, expected in vectors:
        path = f"/webhooks/meta/{name}"
        answer = control(base, "/_fake/webhook", {"url": receiver.base + path, "app_secret": secret, "fixture": name})
        got = receiver.wait(path, 1)[-1]
        check(f"vector {name}", got["headers"].get("x-hub-signature-256") == expected and answer["signature"] == expected
              and got["raw"] == (fixtures / "meta" / name).read_bytes() and len(got["raw"]) == int(size),
              got["headers"].get("x-hub-signature-256"))
    raw = (fixtures / "meta" / "messenger_text.json").read_bytes()
    legacy = "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()
    check("legacy SHA-1 vector of SIGNATURES.md", legacy == "sha1=85d01967642da6c67c40bd545a61ce1fc37af765")

    path = "/webhooks/meta/negative"
    control(base, "/_fake/webhook", {"url": receiver.base + path, "app_secret": secret,
                                     "fixture": "messenger_text.json", "omit_signature": True})
    got = receiver.wait(path, 1)[-1]
    check("omit_signature: no X-Hub-Signature-256, legacy sha1 kept",
          "x-hub-signature-256" not in got["headers"] and got["headers"].get("x-hub-signature") == legacy)
    control(base, "/_fake/webhook", {"url": receiver.base + path, "app_secret": secret,
                                     "fixture": "messenger_text.json", "signature": "sha256=" + "0" * 63})
    check("signature override sent verbatim", receiver.wait(path, 2)[-1]["headers"]["x-hub-signature-256"]
          == "sha256=" + "0" * 63)
    value = {"object": "page", "text": "Dzień / 😀"}
    control(base, "/_fake/webhook", {"url": receiver.base + path, "app_secret": secret, "json": value})
    got = receiver.wait(path, 3)[-1]
    check("json escape=meta: \\uXXXX lowercase and \\/", got["raw"] == b'{"object":"page","text":"Dzie\\u0144 \\/ '
          b'\\ud83d\\ude00"}' and got["headers"]["x-hub-signature-256"] == hub256(secret, got["raw"]), got["raw"])
    control(base, "/_fake/webhook", {"url": receiver.base + path, "app_secret": secret, "json": value, "escape": "none"})
    got = receiver.wait(path, 4)[-1]
    check("json escape=none: raw UTF-8, signed", got["raw"] == json.dumps(value, ensure_ascii=False, separators=(
        ",", ":")).encode() and got["headers"]["x-hub-signature-256"] == hub256(secret, got["raw"]))
    control(base, "/_fake/webhook", {"url": receiver.base + path, "app_secret": secret, "body": "{\"a\":1}"})
    check("raw body posted as given", receiver.wait(path, 5)[-1]["raw"] == b'{"a":1}')
    receiver.answers["/webhooks/meta/refused"] = [403]
    answer = control(base, "/_fake/webhook", {"url": receiver.base + "/webhooks/meta/refused", "app_secret": secret,
                                              "body": "{}"})
    check("webhook returns the receiver's status and body", answer["status"] == 403 and answer["body"] == "no", answer)
    answer = control(base, "/_fake/webhook", {"url": "http://127.0.0.1:1/x", "app_secret": secret, "body": "{}"})
    check("webhook to a closed port: status 0 and error", answer["status"] == 0 and answer.get("error"), answer)
    check("webhook: exactly one body source", call(base, "POST", "/_fake/webhook", {"url": "x", "app_secret": "s"})[0]
          == 400)

    # Status webhooks after WhatsApp sends.
    path = "/webhooks/meta/statuses"
    control(base, "/_fake/statuses", {"id": phone, "url": receiver.base + path, "app_secret": secret,
                                      "sequence": ["sent", "delivered", "read"]})
    wa = {"messaging_product": "whatsapp", "to": "+48601234567", "type": "text", "text": {"body": "Zażółć"},
          "biz_opaque_callback_data": "outbox:43"}
    wamid = send(phone, wa, "wa-token")[3]["messages"][0]["id"]
    got = receiver.wait(path, 3)
    bodies = [json.loads(g["raw"]) for g in got]
    statuses = [b["entry"][0]["changes"][0]["value"]["statuses"][0] for b in bodies]
    check("statuses: three signed webhooks in order", [s["status"] for s in statuses] == ["sent", "delivered", "read"]
          and all(g["headers"]["x-hub-signature-256"] == hub256(secret, g["raw"]) for g in got), statuses)
    value = bodies[0]["entry"][0]["changes"][0]["value"] if bodies else {}
    check("statuses: shape (meta.md c)", bodies and bodies[0]["object"] == "whatsapp_business_account"
          and bodies[0]["entry"][0]["changes"][0]["field"] == "messages"
          and value["metadata"]["phone_number_id"] == phone
          and all(s["id"] == wamid and s["recipient_id"] == "48601234567" and isinstance(s["timestamp"], str)
                  and s["biz_opaque_callback_data"] == "outbox:43" for s in statuses), bodies[:1])
    logged = wait_list(base, f"/_fake/webhooks?id={phone}&kind=status", "webhooks", 3)
    check("statuses: answers recorded in /_fake/webhooks", [w["status"] for w in logged] == [200, 200, 200]
          and [w["event"] for w in logged] == ["sent", "delivered", "read"] and logged[0]["message_id"] == wamid, logged)
    control(base, "/_fake/statuses", {"id": phone, "url": receiver.base + path, "app_secret": secret,
                                      "sequence": ["failed"], "error": {"code": 131047, "title": "Re-engagement message"},
                                      "retries": 1, "retry_interval_ms": 50})
    receiver.answers[path] = [503]
    send(phone, wa, "wa-token")
    got = receiver.wait(path, 5)
    failed = json.loads(got[-1]["raw"])["entry"][0]["changes"][0]["value"]["statuses"][0] if len(got) == 5 else {}
    check("statuses: failed carries errors[] and no pricing", failed.get("status") == "failed"
          and failed.get("errors", [{}])[0].get("code") == 131047 and "pricing" not in failed, failed)
    check("statuses: non-2xx retried (503 then 200)", len(got) == 5 and got[-2]["raw"] == got[-1]["raw"])

    # Echo webhooks after Messenger sends.
    path = "/webhooks/meta/echoes"
    control(base, "/_fake/echoes", {"id": page, "url": receiver.base + path, "app_secret": secret,
                                    "app_id": "1517776481860111"})
    text = {"recipient": {"id": psid}, "messaging_type": "RESPONSE",
            "message": {"text": "Tak, w sobotę 9–14 / zapraszamy", "metadata": "outbox:42"}}
    mid = send(page, text, "page-token")[3]["message_id"]
    got = receiver.wait(path, 1)
    echo = json.loads(got[0]["raw"]) if got else {}
    event = echo["entry"][0]["messaging"][0] if echo else {}
    check("echo: shape (meta.md c)", echo.get("object") == "page" and echo["entry"][0]["id"] == page
          and event["sender"]["id"] == page and event["recipient"]["id"] == psid
          and event["message"] == {"is_echo": True, "app_id": 1517776481860111, "metadata": "outbox:42", "mid": mid,
                                   "text": text["message"]["text"]}, echo)
    check("echo: signed, escaped like Meta", got and got[0]["headers"]["x-hub-signature-256"] == hub256(secret, got[0]["raw"])
          and b"\\u0119" in got[0]["raw"] and b"\\/" in got[0]["raw"])


def wait_list(base, path, key, count, timeout=5.0):
    deadline = time.time() + timeout
    while True:
        items = control(base, path)[key]
        if len(items) >= count or time.time() > deadline:
            return items
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------


def test_segments(check):
    check.section = "twilio segments"
    seg = twilio_fake.encoding_and_segments
    check("GSM 03.38 basic table has 127 characters (+ escape)", len(twilio_fake.GSM7_BASIC) == 127)
    cases = [("a" * 160, ("GSM-7", 1)), ("a" * 161, ("GSM-7", 2)), ("a" * 306, ("GSM-7", 2)), ("a" * 307, ("GSM-7", 3)),
             ("ą" * 70, ("UCS-2", 1)), ("ą" * 71, ("UCS-2", 2)), ("€" * 80, ("GSM-7", 1)), ("€" * 81, ("GSM-7", 2)),
             ("a" + "€" * 76, ("GSM-7", 1)), ("😀" * 35, ("UCS-2", 1)), ("😀" * 36, ("UCS-2", 2)),
             ("Zażółć", ("UCS-2", 1)), ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", ("GSM-7", 1)),
             ("`", ("UCS-2", 1)), ("Dzień dobry! Czy paczka już wysłana? 😀", ("UCS-2", 1)), ("", ("GSM-7", 1))]
    for text, expected in cases:
        check(f"{text[:12]!r}x{len(text)} -> {expected}", seg(text) == expected, seg(text))
    # A concatenated part never splits an escape pair: 152 septets + '€' starts part two.
    check("escape pair not split", seg("a" * 152 + "€" + "a" * 150) == ("GSM-7", 2)
          and seg("a" * 152 + "€" + "a" * 153) == ("GSM-7", 3))


def test_twilio_vectors(check, fixtures):
    check.section = "twilio vectors"
    sign = twilio_fake.twilio_signature
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
              ("From", "+14158675309"), ("To", "+18005551212")]
    body_hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    library = [
        ("form params", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (":443", "https://mycompany.com:443/myapp.php?foo=1&bar=2", params, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        (":80", "http://mycompany.com:80/myapp.php?foo=1&bar=2", params, "0ZXoZLH/DfblKGATFgpif+LLRf4="),
        (":1234", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", params, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        ("duplicate keys", url, [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")],
         "IK+Dwps556ElfBT0I3Rgjkr1wJU="),
        ("credentials", "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", params, "CukzLTc1tT5dXEDIHm/tKBanW10="),
        ("JSON body", url + "&bodySHA256=" + body_hash, [], "a9nBmqA0ju/hNViExpshrM61xv4="),
        ("JSON body, no other query", "https://mycompany.com/myapp.php?bodySHA256=" + body_hash, [],
         "y77kIzt2vzLz71DgmJGsen2scGs="),
    ]
    for name, signed_url, pairs, expected in library:
        check(f"helper-library vector: {name}", sign("12345", signed_url, pairs) == expected, sign("12345", signed_url, pairs))
    check("helper-library JSON body hash", hashlib.sha256(b'{"property": "value", "boolean": true}').hexdigest() == body_hash)
    raw = (fixtures / "twilio" / "json_body.json").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    json_url = f"{PUBLIC}/webhooks/twilio/status?account=main&bodySHA256={digest}"
    check("json_body.json vector", sign("test_auth_token", json_url, []) == "6oPiC+tT5KbyKS4p+sRe8mZwFE4="
          and sign("test_auth_token", with_port_443(json_url), []) == "yg9D5rTM1qWAwZVQpoHHuEM4Gko=")


def test_twilio(check, base, receiver, fixtures):
    check.section = "twilio"
    account, token, number, service = "ACself0000000000000000000000000001", "self_token", "+48732123456", "MGself01"
    other = "ACself0000000000000000000000000002"
    sends = f"/2010-04-01/Accounts/{account}/Messages.json"
    twilio_fixture = lambda name: (fixtures / "twilio" / name).read_bytes()

    def send(fields, sid=account, secret=token, path=None):
        auth = base64.b64encode(f"{sid}:{secret}".encode()).decode()
        return call(base, "POST", path or sends, urllib.parse.urlencode(fields).encode(),
                    {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {auth}"})

    check("health", control(base, "/_fake/health")["fake"] == "twilio")
    control(base, "/_fake/reset", {})
    control(base, "/_fake/accounts", {"sid": account, "auth_token": token, "numbers": [number],
                                      "messaging_services": [service]})
    control(base, "/_fake/accounts", {"sid": other, "auth_token": "other", "numbers": []})
    body = "Dziękujemy! Paczka wyszła dziś, numer przesyłki: 00123456789."
    status, _, _, message = send({"To": "+48601234567", "From": number, "Body": body})
    check("send with From: 201 queued", status == 201 and message["status"] == "queued" and message["from"] == number
          and re.fullmatch(r"SM[0-9a-f]{32}", message["sid"]) and message["num_segments"] == "1", message)
    expected_keys = set(json.loads(twilio_fixture("send_response.json")))
    check("send: keys of send_response.json", set(message) == expected_keys, set(message) ^ expected_keys)
    check("send: RFC 2822 dates", re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", message["date_created"]))
    status, _, _, message = send({"To": "+48601234567", "MessagingServiceSid": service, "Body": "a" * 161})
    check("send with service: accepted, from null, num_segments 0", status == 201 and message["status"] == "accepted"
          and message["from"] is None and message["messaging_service_sid"] == service and message["num_segments"] == "0",
          message)
    records = control(base, f"/_fake/requests?account={account}")["requests"]
    check("requests: form as pairs, segments recorded", records[-1]["form"][0] == ["To", "+48601234567"]
          and records[-1]["segments"] == 2 and records[-1]["encoding"] == "GSM-7" and records[0]["segments"] == 1
          and records[0]["encoding"] == "UCS-2", records[-1])
    unauthorized = send({"To": "+48601234567", "From": number, "Body": "x"}, secret="wrong")
    check("auth: wrong token -> 401 20003", unauthorized[0] == 401 and unauthorized[3]["code"] == 20003
          and unauthorized[3]["status"] == 401, unauthorized[3])
    check("auth: another account's credentials -> 401", send({"To": "+48601234567"}, sid=other, secret="other")[0] == 401)
    check("auth: none -> 401", call(base, "POST", sends, b"To=%2B48601234567",
                                    {"Content-Type": "application/x-www-form-urlencoded"})[0] == 401)
    errors = [
        ("To not E.164", {"To": "48601234567", "From": number, "Body": "x"}, 21211),
        ("To with spaces", {"To": "+48 601 234 567", "From": number, "Body": "x"}, 21211),
        ("neither From nor service", {"To": "+48601234567", "Body": "x"}, 21603),
        ("both From and service", {"To": "+48601234567", "From": number, "MessagingServiceSid": service, "Body": "x"}, 21603),
        ("unregistered From", {"To": "+48601234567", "From": "+48111111111", "Body": "x"}, 21606),
        ("unknown service", {"To": "+48601234567", "MessagingServiceSid": "MGnope", "Body": "x"}, 21701),
        ("no Body", {"To": "+48601234567", "From": number}, 21602),
        ("Body over 1600", {"To": "+48601234567", "From": number, "Body": "x" * 1601}, 21617),
    ]
    for name, fields, code in errors:
        answer = send(fields)
        check(f"invalid: {name} -> 400 {code}", answer[0] == 400 and answer[3]["code"] == code
              and answer[3]["more_info"].endswith(str(code)), answer[3])
    check("Body of 1600 accepted", send({"To": "+48601234567", "From": number, "Body": "ż" * 1600})[0] == 201)

    # opt-out: by control, then by an inbound STOP the fake sends
    control(base, "/_fake/optout", {"account": account, "to": "+48600000002"})
    answer = send({"To": "+48600000002", "From": number, "Body": "x"})
    check("optout -> 400 error_21610.json", answer[0] == 400 and answer[2] == twilio_fixture("error_21610.json"), answer[2])
    control(base, "/_fake/optout", {"account": account, "to": "+48600000002", "opted_out": False})
    check("opt back in", send({"To": "+48600000002", "From": number, "Body": "x"})[0] == 201)
    path = "/webhooks/twilio/sms"
    result = control(base, "/_fake/sms", {"url": receiver.base + path, "auth_token": token,
                                          "params": {"fixture": "inbound_stop.form",
                                                     "override": {"AccountSid": account, "From": "+48600000003"}}})
    check("inbound STOP posted, answer returned", result["status"] == 200 and "Response" in result["body"]
          and result["content_type"] == "text/xml", result)
    check("inbound STOP opts the sender out", send({"To": "+48600000003", "From": number, "Body": "x"})[0] == 400
          and {"account": account, "to": "+48600000003"} in control(base, f"/_fake/optouts?account={account}")["optouts"])
    control(base, "/_fake/sms", {"url": receiver.base + path, "auth_token": token,
                                 "params": [["AccountSid", account], ["From", "+48600000003"], ["Body", "START"]]})
    check("inbound START opts back in", send({"To": "+48600000003", "From": number, "Body": "x"})[0] == 201)

    # signature vectors of fixtures/twilio/SIGNATURES.md section 2, through the real POST path
    table = (fixtures / "twilio" / "SIGNATURES.md").read_text()
    rows = re.findall(r"\| `(\w+\.form)` \| `([^`]+)` \| `([^`]+)` \| `([^`]+)` \|", table)
    check("SIGNATURES.md: 5 form vectors found", len(rows) == 5, len(rows))
    for name, public_url, expected, expected_443 in rows:
        endpoint = "/_fake/status" if name.startswith("status") else "/_fake/sms"
        for signed_url, want in ((public_url, expected), (with_port_443(public_url), expected_443)):
            target = receiver.base + urllib.parse.urlsplit(public_url).path + "?vector=" + name
            before = len(receiver.on(urllib.parse.urlsplit(target).path))
            result = control(base, endpoint, {"url": target, "signed_url": signed_url, "auth_token": "test_auth_token",
                                              "fixture": name})
            got = receiver.wait(urllib.parse.urlsplit(target).path, before + 1)[-1]
            check(f"vector {name} {'(:443)' if ':443' in signed_url else ''}",
                  got["headers"].get("x-twilio-signature") == want and result["signature"] == want
                  and got["raw"] == twilio_fixture(name)
                  and got["headers"].get("content-type") == "application/x-www-form-urlencoded; charset=utf-8",
                  got["headers"].get("x-twilio-signature"))
    url = f"{PUBLIC}/webhooks/twilio/sms?account=main"
    result = control(base, "/_fake/sms", {"url": receiver.base + "/neg", "signed_url": url, "auth_token": "other_token",
                                          "params": {"fixture": "inbound_sms.form"}})
    check("negative vector other_token", result["signature"] == "L0KGUO6HFRmPN/r454xfQaMGQG8=", result["signature"])
    check("the headline vector", result["signed_url"] == url and twilio_fake.twilio_signature(
        "test_auth_token", url, urllib.parse.parse_qsl(twilio_fixture("inbound_sms.form").decode(), keep_blank_values=True))
        == "GD+ajB1aPh8WF36RAtqyLuZ3WM0=")
    result = control(base, "/_fake/sms", {"url": receiver.base + "/neg", "auth_token": token, "fixture": "inbound_sms.form",
                                          "override": {"MessageSid": "SMnew", "NumMedia": None}})
    got = receiver.wait("/neg", 2)[-1]
    form = urllib.parse.parse_qsl(got["raw"].decode(), keep_blank_values=True)
    check("override: value replaced, null removes, re-signed over the url posted",
          dict(form)["MessageSid"] == "SMnew" and "NumMedia" not in dict(form)
          and got["headers"]["x-twilio-signature"] == twilio_sig(token, receiver.base + "/neg", form))
    control(base, "/_fake/sms", {"url": receiver.base + "/neg", "auth_token": token, "fixture": "inbound_sms.form",
                                 "omit_signature": True})
    check("omit_signature", "x-twilio-signature" not in receiver.wait("/neg", 3)[-1]["headers"])
    control(base, "/_fake/sms", {"url": receiver.base + "/neg", "auth_token": token, "fixture": "inbound_sms.form",
                                 "signature": "forged="})
    check("signature override", receiver.wait("/neg", 4)[-1]["headers"]["x-twilio-signature"] == "forged=")
    logged = control(base, f"/_fake/callbacks?kind=sms&account={account}")["callbacks"]
    check("manual posts recorded in /_fake/callbacks", len(logged) == 2 and logged[0]["status"] == 200, logged)

    # status callbacks after sends, through a reverse-proxy style rewrite
    control(base, "/_fake/status_url_rewrite", {"from": PUBLIC, "to": receiver.base, "account": account})
    callback = f"{PUBLIC}/webhooks/twilio/status?outbox=43"
    sid = send({"To": "+48601234567", "MessagingServiceSid": service, "Body": "x", "StatusCallback": callback})[3]["sid"]
    got = [g for g in receiver.wait("/webhooks/twilio/status", 12) if g["path"].endswith("?outbox=43")]
    forms = [urllib.parse.parse_qsl(g["raw"].decode(), keep_blank_values=True) for g in got]
    check("callbacks: sent then delivered", [dict(f)["MessageStatus"] for f in forms] == ["sent", "delivered"], forms)
    check("callbacks: signed over the original URL", len(got) == 2 and all(
        g["headers"]["x-twilio-signature"] == twilio_sig(token, callback, f) for g, f in zip(got, forms)))
    fields = dict(forms[0]) if forms else {}
    check("callbacks: parameters", fields.get("MessageSid") == sid == fields.get("SmsSid") and fields.get("AccountSid")
          == account and fields.get("From") == number and fields.get("To") == "+48601234567"
          and fields.get("MessagingServiceSid") == service and fields.get("ApiVersion") == "2010-04-01"
          and "ErrorCode" not in fields, fields)
    control(base, "/_fake/outcome", {"account": account, "to": "+48600000004", "sequence": ["sent", "undelivered"],
                                     "error_code": 30003})
    callback = f"{PUBLIC}/webhooks/twilio/status?outbox=44"
    send({"To": "+48600000004", "From": number, "Body": "x", "StatusCallback": callback})
    logged = wait_list(base, f"/_fake/callbacks?account={account}&to=%2B48600000004", "callbacks", 2)
    check("outcome: undelivered with ErrorCode 30003, answers recorded",
          [c["event"] for c in logged] == ["sent", "undelivered"] and ["ErrorCode", "30003"] in logged[-1]["params"]
          and ["ErrorCode", "30003"] not in logged[0]["params"] and all(c["status"] == 200 for c in logged)
          and logged[0]["signed_url"] == callback and logged[0]["url"].startswith(receiver.base), logged)

    # failure injection and the journal
    control(base, "/_fake/fail", {"match": {"account": account, "to": "+48600000005"}, "status": 429,
                                  "body": {"code": 20429, "message": "Too Many Requests", "status": 429}})
    answers = [send({"To": "+48600000005", "From": number, "Body": "x"})[0] for _ in range(2)]
    check("fail: one 429 then 201", answers == [429, 201], answers)
    control(base, "/_fake/fail", {"match": {"account": account}, "delay_ms": 300, "times": 1})
    started = time.time()
    check("fail: delay_ms", send({"To": "+48600000005", "From": number, "Body": "x"})[0] == 201
          and time.time() - started >= 0.3)
    check("requests: filter to with raw '+'", len(control(base, f"/_fake/requests?account={account}&to=+48600000005")
                                                  ["requests"]) == 3)
    check("unknown API path -> 404 20404", call(base, "GET", "/2010-04-01/Accounts/x/Calls.json")[3]["code"] == 20404)
    control(base, "/_fake/reset", {"account": other})
    check("reset {account}: others kept", control(base, f"/_fake/requests?account={account}")["requests"] != [])
    control(base, "/_fake/reset", {"account": account})
    check("reset {account}: gone, credentials forgotten", control(base, f"/_fake/requests?account={account}")["requests"]
          == [] and send({"To": "+48601234567", "From": number, "Body": "x"})[0] == 401)
    control(base, "/_fake/reset", {})
    check("reset: everything gone", control(base, "/_fake/callbacks")["callbacks"] == [])


def test_shutdown(check, process, port_file):
    check.section = "process"
    check("port file written atomically (no temp left)", not list(port_file.parent.glob(port_file.name + ".tmp*")))
    process.terminate()
    try:
        code = process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        code = "timeout"
    check(f"{port_file.stem}: SIGTERM exits 0", code == 0, code)


def main():
    parser = argparse.ArgumentParser(description="self-test of the platform fakes")
    parser.add_argument("--fixtures", type=Path, default=fake_http.DEFAULT_FIXTURES)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    check = Checks(args.verbose)
    receiver = Receiver()
    test_segments(check)
    test_twilio_vectors(check, args.fixtures)
    with tempfile.TemporaryDirectory(prefix="fakes-selftest-") as directory:
        graph, graph_base, graph_port = start_fake("graph_fake.py", directory, args.fixtures)
        twilio, twilio_base, twilio_port = start_fake("twilio_fake.py", directory, args.fixtures)
        try:
            for test, base in ((test_graph, graph_base), (test_twilio, twilio_base)):
                try:
                    test(check, base, receiver, args.fixtures)
                except Exception as e:  # report and carry on with the other fake
                    check(f"{test.__name__} ran to the end", False, repr(e))
            test_shutdown(check, graph, graph_port)
            test_shutdown(check, twilio, twilio_port)
        finally:
            for process in (graph, twilio):
                if process.poll() is None:
                    process.kill()
        if check.failed:
            for name in ("graph_fake.py.log", "twilio_fake.py.log"):
                print(f"--- tail of {name}")
                print("\n".join((Path(directory) / name).read_text().splitlines()[-15:]))
    print(f"fakes selftest: {check.passed} passed, {len(check.failed)} failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
