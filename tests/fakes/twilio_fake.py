#!/usr/bin/env python3
"""A local fake of Twilio's Programmable Messaging REST API for switchboard tests.

It follows ../shared/protocols/twilio.md: POST /2010-04-01/Accounts/{AccountSid}/Messages.json with
HTTP Basic auth and a form body is validated and answered like Twilio (201 Message resource,
JSON errors), every request is recorded, and the fake acts as Twilio towards the daemon: signed
status callbacks after sends, and signed inbound SMS / status webhooks on demand. The control API
lives under /_fake/ and is described in README.md. Standard library only.

    python3 tests/fakes/twilio_fake.py --port 0 --port-file FILE [--fixtures DIR]
"""

import base64
import hashlib
import hmac
import re
import secrets
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from email.utils import format_datetime

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (not git-ignored)
from fake_http import (Answer, ControlError, FakeBase, Journal, check_keys, control_json, http_post, load_fixture,
                       log, norm, parse_body, record_of, required, serve)

FIXTURE_SUBDIR = "twilio"
API_VERSION = "2010-04-01"
SEND_PATH = re.compile(r"/2010-04-01/Accounts/([^/]+)/Messages\.json")
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
BODY_MAX = 1600
FORM_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
# twilio.md "Opt-out (STOP) handled by Twilio": the default English keywords.
OPT_OUT_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
OPT_IN_WORDS = ("START", "YES", "UNSTOP")
STATUSES = ("accepted", "scheduled", "canceled", "queued", "sending", "sent", "delivered", "undelivered",
            "failed", "receiving", "received", "read", "partially_delivered")
ERROR_STATUSES = ("failed", "undelivered")

REQUEST_FILTERS = ("account", "to", "method", "path")
CALLBACK_FILTERS = ("account", "to", "message_sid", "kind", "event")

# GSM 03.38 default alphabet (3GPP TS 23.038), in table order; 0x1B is the escape to the
# extension table, not a character, so it is left out.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
# Extension table: each costs two septets (escape + code). Form feed is in the table too.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def encoding_and_segments(body):
    """twilio.md "Segments and encoding": GSM-7 when every character is in the GSM 03.38 tables
    (160 septets, 153 per concatenated part), else UCS-2 (70 UTF-16 units, 67 per part). A
    character's units (escape pair, surrogate pair) are never split across parts."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body):
        units, single, part, name = [2 if c in GSM7_EXTENSION else 1 for c in body], 160, 153, "GSM-7"
    else:
        units, single, part, name = [2 if ord(c) > 0xFFFF else 1 for c in body], 70, 67, "UCS-2"
    if sum(units) <= single:
        return name, 1
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return name, count


def twilio_signature(auth_token, url, params):
    """twilio.md "X-Twilio-Signature": base64(HMAC-SHA1(auth token, URL + sorted name+value))."""
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def twilio_error(code, message, status=400):
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


def rfc2822_now():
    return format_datetime(datetime.now(timezone.utc))  # "Mon, 05 Jan 2026 13:07:00 +0000"


def apply_override(pairs, override):
    """Replaces the value of each overridden name (first occurrence kept, repeats dropped); appends
    names not present; a null value removes the name."""
    out, done = [], set()
    for name, value in pairs:
        if name not in override:
            out.append((name, value))
        elif name not in done and override[name] is not None:
            out.append((name, str(override[name])))
        done.add(name)
    out += [(n, str(v)) for n, v in override.items() if n not in done and v is not None]
    return out


class TwilioFake(FakeBase):
    def __init__(self):
        self.fixtures = None  # set by serve() from --fixtures
        self.journal = Journal()
        self.lock = threading.Lock()
        self.clear_config()

    def clear_config(self, account=None):
        with self.lock:
            if account is None:
                self.accounts, self.optouts, self.outcomes, self.rewrites = {}, set(), {}, []
                self.messages = []
                return
            self.accounts.pop(account, None)
            self.messages = [m for m in self.messages if m["account_sid"] != account]
            self.optouts = {k for k in self.optouts if k[0] != account}
            self.outcomes = {k: v for k, v in self.outcomes.items() if k[0] != account}
            self.rewrites = [r for r in self.rewrites if r["account"] != account]

    def fixture(self, name):
        return load_fixture(self.fixtures, FIXTURE_SUBDIR, name)

    # -- control API ---------------------------------------------------------------------------

    def control(self, request):
        routes = {
            ("GET", "/_fake/health"): lambda _: {"ok": True, "fake": "twilio"},
            ("POST", "/_fake/reset"): self.reset,
            ("GET", "/_fake/requests"): lambda r: {"requests": self.filtered("requests", r, REQUEST_FILTERS)},
            ("GET", "/_fake/callbacks"): lambda r: {"callbacks": self.filtered("sent", r, CALLBACK_FILTERS)},
            ("GET", "/_fake/optouts"): self.list_optouts,
            ("POST", "/_fake/fail"): lambda r: self.journal.add_failure(control_json(r), ("account", "to"),
                                                                         self.fixture),
            ("POST", "/_fake/accounts"): self.register_account,
            ("POST", "/_fake/optout"): self.set_optout,
            ("POST", "/_fake/outcome"): self.set_outcome,
            ("POST", "/_fake/status_url_rewrite"): self.add_rewrite,
            ("POST", "/_fake/sms"): lambda r: self.send_form(r, "sms"),
            ("POST", "/_fake/status"): lambda r: self.send_form(r, "status"),
        }
        return self.dispatch(routes, request)

    def reset(self, request):
        spec = control_json(request)
        check_keys(spec, ("account",), "reset")
        self.journal.clear({"account": spec["account"]} if "account" in spec else None)
        self.clear_config(spec.get("account"))
        return {"ok": True}

    def register_account(self, request):
        spec = control_json(request)
        check_keys(spec, ("sid", "auth_token", "numbers", "messaging_services"), "accounts")
        numbers, services = spec.get("numbers", []), spec.get("messaging_services", [])
        if not isinstance(numbers, list) or not isinstance(services, list):
            raise ControlError("numbers and messaging_services must be arrays of strings")
        with self.lock:
            self.accounts[required(spec, "sid")] = {"auth_token": required(spec, "auth_token"),
                                                    "numbers": [str(n) for n in numbers],
                                                    "services": [str(s) for s in services]}
        return {"ok": True}

    def set_optout(self, request):
        spec = control_json(request)
        check_keys(spec, ("account", "to", "opted_out"), "optout")
        key = (required(spec, "account"), norm(required(spec, "to")))
        with self.lock:
            if spec.get("opted_out", True):
                self.optouts.add(key)
            else:
                self.optouts.discard(key)
        return {"ok": True}

    def list_optouts(self, request):
        check_keys(request["query"], ("account",), "filter")
        account = request["query"].get("account")
        with self.lock:
            return {"optouts": [{"account": a, "to": "+" + t} for a, t in sorted(self.optouts)
                                if account in (None, a)]}

    def set_outcome(self, request):
        spec = control_json(request)
        check_keys(spec, ("account", "to", "sequence", "error_code", "interval_ms"), "outcome")
        sequence = spec.get("sequence")
        if not isinstance(sequence, list) or not all(s in STATUSES for s in sequence):
            raise ControlError(f"sequence must be an array of {'|'.join(STATUSES)}")
        with self.lock:
            self.outcomes[(required(spec, "account"), norm(required(spec, "to")))] = {
                "sequence": sequence, "error_code": int(spec.get("error_code", 30008)),
                "interval_ms": int(spec.get("interval_ms", 0))}
        return {"ok": True}

    def add_rewrite(self, request):
        spec = control_json(request)
        check_keys(spec, ("from", "to", "account"), "status_url_rewrite")
        rule = {"from": required(spec, "from"), "to": required(spec, "to"), "account": spec.get("account")}
        with self.lock:
            self.rewrites = [r for r in self.rewrites
                             if (r["from"], r["account"]) != (rule["from"], rule["account"])] + [rule]
        return {"ok": True}

    def rewritten(self, url, account):
        """Where a callback is posted: like a reverse proxy in front of the daemon, the public URL
        (which is what gets signed) maps to a local one. Account-scoped rules win."""
        with self.lock:
            rules = sorted(self.rewrites, key=lambda r: r["account"] is None)
        for rule in rules:
            if rule["account"] in (None, account) and url.startswith(rule["from"]):
                return rule["to"] + url[len(rule["from"]):]
        return url

    # -- webhooks the fake sends as Twilio -----------------------------------------------------

    def form_params(self, spec):
        """(pairs, raw body): a fixture without override is posted byte for byte."""
        params, fixture, override = spec.get("params"), spec.get("fixture"), spec.get("override")
        if isinstance(params, dict) and "fixture" in params:
            fixture, override = params["fixture"], params.get("override", override)
        if fixture is not None:
            raw = self.fixture(fixture)
            pairs = urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
        elif isinstance(params, list) and all(isinstance(p, list) and len(p) == 2 for p in params):
            raw, pairs = None, [(str(k), str(v)) for k, v in params]
        elif isinstance(params, dict):
            raw, pairs = None, [(str(k), str(v)) for k, v in params.items()]
        else:
            raise ControlError('params must be [[name, value], ...], an object, or {"fixture": "file.form"}')
        if override:
            if not isinstance(override, dict):
                raise ControlError("override must be an object")
            raw, pairs = None, apply_override(pairs, override)
        if raw is None:
            raw = urllib.parse.urlencode(pairs).encode("ascii")
        return pairs, raw

    def send_form(self, request, kind):
        """Acts as Twilio: posts a signed form (inbound SMS or status callback) to the daemon."""
        spec = control_json(request)
        check_keys(spec, ("url", "signed_url", "auth_token", "params", "fixture", "override", "signature",
                          "omit_signature", "headers", "timeout_ms"), kind)
        pairs, raw = self.form_params(spec)
        url = required(spec, "url")
        signed_url = spec.get("signed_url") or url
        signature = spec.get("signature") or twilio_signature(required(spec, "auth_token"), signed_url, pairs)
        if spec.get("omit_signature"):
            signature = ""
        result = self.post_form(url, raw, signature, spec.get("headers"), spec.get("timeout_ms", 15000) / 1000)
        fields = dict(pairs)
        self.journal.add_sent({
            "kind": kind, "account": fields.get("AccountSid", ""), "to": fields.get("To", ""),
            "message_sid": fields.get("MessageSid", ""), "event": fields.get("MessageStatus", fields.get("SmsStatus", "")),
            "url": url, "signed_url": signed_url, "params": [list(p) for p in pairs],
            "payload": raw.decode("utf-8", "replace"), "signature": signature, "attempt": 1, **result})
        log(f"{kind} -> {url}: {result['status']}")
        if kind == "sms":
            self.track_opt_out(fields)
        return {**result, "signature": signature, "signed_url": signed_url}

    def post_form(self, url, raw, signature, extra_headers, timeout):
        headers = {"Content-Type": FORM_TYPE, "User-Agent": "TwilioProxy/1.1"}
        if signature:
            headers["X-Twilio-Signature"] = signature
        headers.update(extra_headers or {})
        return http_post(url, raw, headers, timeout)

    def track_opt_out(self, fields):
        """Twilio handles the opt-out keywords itself: after an inbound STOP, sends from that account
        to the sender fail with 21610 until START."""
        word = fields.get("OptOutType") or fields.get("Body", "").strip().upper()
        key = (fields.get("AccountSid", ""), norm(fields.get("From", "")))
        with self.lock:
            if word in OPT_OUT_WORDS:
                self.optouts.add(key)
            elif word in OPT_IN_WORDS:
                self.optouts.discard(key)

    def post_callbacks(self, message, status_callback, token):
        """twilio.md "Status callbacks": one signed form POST per status after creation, in order."""
        with self.lock:
            outcome = self.outcomes.get((message["account_sid"], norm(message["to"])),
                                        {"sequence": ["sent", "delivered"], "error_code": 30008, "interval_ms": 0})
        target = self.rewritten(status_callback, message["account_sid"])
        sender = message["from"] or self.first_number(message["account_sid"])
        for event in outcome["sequence"]:
            time.sleep(outcome["interval_ms"] / 1000)
            params = [("ErrorCode", str(outcome["error_code"]))] if event in ERROR_STATUSES else []
            params += [("SmsSid", message["sid"]), ("SmsStatus", event), ("MessageStatus", event),
                       ("To", message["to"])]
            if message["messaging_service_sid"]:
                params.append(("MessagingServiceSid", message["messaging_service_sid"]))
            params += [("MessageSid", message["sid"]), ("AccountSid", message["account_sid"])]
            if sender:
                params.append(("From", sender))
            params.append(("ApiVersion", API_VERSION))
            raw = urllib.parse.urlencode(params).encode("ascii")
            signature = twilio_signature(token, status_callback, params)
            result = self.post_form(target, raw, signature, None, 15)
            self.journal.add_sent({
                "kind": "status_callback", "account": message["account_sid"], "to": message["to"],
                "message_sid": message["sid"], "event": event, "url": target, "signed_url": status_callback,
                "params": [list(p) for p in params], "payload": raw.decode("ascii"), "signature": signature,
                "attempt": 1, **result})
            log(f"status {event} {message['sid']} -> {target}: {result['status']}")

    def first_number(self, account):
        """With a Messaging Service, Twilio picks a sender from the pool: the fake takes the first."""
        with self.lock:
            numbers = self.accounts.get(account, {}).get("numbers", [])
        return numbers[0] if numbers else None

    # -- REST API ------------------------------------------------------------------------------

    def api(self, request):
        route = SEND_PATH.fullmatch(request["path"])
        view = parse_body(request)
        fields = dict(view.get("form", []))
        keys = {"account": route.group(1) if route else "", "to": fields.get("To", "")}
        entry = self.journal.add_request({**record_of(request, view), **keys})
        answer = self.answer(request, route, view, keys)
        entry["response"] = {"status": answer.status, "body": answer.payload.decode("utf-8", "replace")}
        if hasattr(answer, "segments"):  # a message was created: record what Twilio would bill
            entry["segments"], entry["encoding"] = answer.segments, answer.encoding
        return answer

    def answer(self, request, route, view, keys):
        # Failure rules are for sends: a lookup (GET) never takes one meant for a POST.
        rule = self.journal.take_failure(keys) if request["method"] == "POST" else None
        after_ms = 0
        if rule:
            time.sleep(rule["delay_ms"] / 1000)
            if rule["status"] is not None:
                kind = "text/plain; charset=utf-8" if rule.get("text") else "application/json"
                return Answer(int(rule["status"]), rule["payload"], kind)
            after_ms = rule["after_ms"]
        if route is None:
            return Answer(404, twilio_error(20404, f"The requested resource {request['path']} was not found", 404))
        if request["method"] not in ("POST", "GET"):
            return Answer(405, twilio_error(20004, "Method not allowed (the fake creates and lists messages)", 405))
        account = self.authenticate(request, route.group(1))
        if account is None:
            return Answer(401, twilio_error(20003, "Authenticate", 401),
                          headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if request["method"] == "GET":
            return self.list_messages(route.group(1), request)
        if "form" not in view:
            return Answer(400, twilio_error(21211, "fake: the body must be application/x-www-form-urlencoded"))
        answer = self.create_message(route.group(1), account, view["form"])
        # after_ms: the message is Twilio's, but its answer comes late (or, past the client's
        # timeout, never): the case where the sender cannot know whether it was sent.
        time.sleep(after_ms / 1000)
        return answer

    def list_messages(self, sid, request):
        """GET Messages.json: the account's messages, newest first, filtered by To and From, page
        Page (from 0) of PageSize (default 50, at most 1000), with Twilio's paging fields."""
        query = request["query"]
        try:
            size = min(max(int(query.get("PageSize", "50")), 1), 1000)
            number = max(int(query.get("Page", "0")), 0)
        except ValueError:
            return Answer(400, twilio_error(20001, "Invalid PageSize or Page"))
        with self.lock:
            found = [m for m in reversed(self.messages) if m["account_sid"] == sid
                     and ("To" not in query or m["to"] == query["To"])
                     and ("From" not in query or m["from"] == query["From"])]
        start = number * size
        page = found[start:start + size]
        filters = "".join(f"&{k}={urllib.parse.quote(query[k], safe='')}" for k in ("To", "From") if k in query)
        base = f"/{API_VERSION}/Accounts/{sid}/Messages.json?PageSize={size}{filters}&Page="
        more = start + size < len(found)
        return Answer(200, {"messages": page, "end": start + max(len(page) - 1, 0), "first_page_uri": base + "0",
                            "next_page_uri": base + str(number + 1) if more else None, "page": number,
                            "page_size": size, "previous_page_uri": base + str(number - 1) if number else None,
                            "start": start, "uri": base + str(number)})

    def authenticate(self, request, sid):
        """HTTP Basic AccountSid:AuthToken for the account in the path; None when refused."""
        header = request["headers"].get("authorization", "")
        if header[:6].lower() != "basic ":
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except ValueError:
            return None
        with self.lock:
            account = self.accounts.get(sid)
        if account is None or user != sid:
            return None
        return account if hmac.compare_digest(password.encode(), account["auth_token"].encode()) else None

    def create_message(self, sid, account, form):
        fields = dict(form)
        to, sender, service = fields.get("To", ""), fields.get("From"), fields.get("MessagingServiceSid")
        body = fields.get("Body", "")
        media = [v for k, v in form if k == "MediaUrl"]
        if not E164.fullmatch(to):
            return Answer(400, twilio_error(21211, f"Invalid 'To' Phone Number: {to!r} is not E.164 (+ and digits)"))
        if (sender is None) == (service is None):
            return Answer(400, twilio_error(21603, "fake: give exactly one of From or MessagingServiceSid"))
        if sender is not None and sender not in account["numbers"]:
            return Answer(400, twilio_error(21606, f"The From phone number {sender} is not a valid, message-capable "
                                                   "Twilio phone number for this account"))
        if service is not None and service not in account["services"]:
            return Answer(400, twilio_error(21701, f"The Messaging Service {service} does not exist in this account"))
        if not body and not media:
            return Answer(400, twilio_error(21602, "Message body is required"))
        if len(body) > BODY_MAX:
            return Answer(400, twilio_error(21617, f"The concatenated message body exceeds the {BODY_MAX} "
                                                   f"character limit ({len(body)} characters)"))
        with self.lock:
            opted_out = (sid, norm(to)) in self.optouts
        if opted_out:
            return Answer(400, self.fixture("error_21610.json"))
        return self.created(sid, account, to, sender, service, body, media, fields.get("StatusCallback"))

    def created(self, sid, account, to, sender, service, body, media, status_callback):
        """201 with the Message resource (send_response.json shape)."""
        message_sid = "SM" + secrets.token_hex(16)
        encoding, segments = encoding_and_segments(body)
        now = rfc2822_now()
        uri = f"/{API_VERSION}/Accounts/{sid}/Messages/{message_sid}"
        message = {
            "account_sid": sid, "api_version": API_VERSION, "body": body, "date_created": now, "date_sent": None,
            "date_updated": now, "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": sender, "messaging_service_sid": service, "num_media": str(len(media)),
            # twilio.md: num_segments stays 0 until a Messaging Service has assigned the sender.
            "num_segments": "0" if service else str(segments),
            "price": None, "price_unit": None, "sid": message_sid, "status": "accepted" if service else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"}, "to": to, "uri": f"{uri}.json",
        }
        after = None
        if status_callback:
            after = lambda: self.post_callbacks(message, status_callback, account["auth_token"])
        with self.lock:
            self.messages.append(message)
        answer = Answer(201, message, after=after)
        answer.segments, answer.encoding = segments, encoding
        return answer


if __name__ == "__main__":
    serve(TwilioFake(), "twilio_fake", sys.argv[1:])
